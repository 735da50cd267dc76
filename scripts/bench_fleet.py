#!/usr/bin/env python3
"""Benchmark the fleet: one long recording on 1 and 2 workers, split and unsplit; the queue's own cost.

Usage: python scripts/bench_fleet.py [--json FILE] [--parts long,overhead,small] [--split-s 60]

A benchmark, not a test. Every side is a real fleet on this machine: a redis-server on a free port, an
ingest box (``appliance serve --workers 0``) and worker boxes (``appliance worker``), each worker box
pinned to its own core with ``taskset`` to stand for a separate machine.

- long: a 10-minute still-camera recording at 1280x720 with 8 walks (scripts/make_cctv_sample.py,
  made in bench-out/ if missing): 1 worker unsplit, 1 worker split, 2 workers split. Wall time is
  from the job's creation to its end as the job store records them; tracks are compared.
- overhead: a job's life in the store (add, start, 5 progress reports, finish), SQLite against Redis,
  200 jobs each, median milliseconds.
- small: 100 photos from faces-dev through the embedded service (SQLite, one worker) and through the
  fleet (Redis, one worker box), first job created to last finished.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data"
OUT = REPO / "bench-out"
LONG = OUT / "fleet_10min.mp4"
WALKS = "0.06,0.18,0.3,0.42,0.54,0.66,0.78,0.9"
BASE_ENV = {"APPLIANCE_BACKEND": "tflite", "APPLIANCE_SETTLE_S": "1", "APPLIANCE_SCAN_INTERVAL_S": "2"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Redis:
    def __init__(self, folder: Path) -> None:
        self.port = free_port()
        cmd = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--dir", str(folder)]
        self.proc = subprocess.Popen([*cmd, "--appendonly", "yes", "--save", ""], stdout=subprocess.DEVNULL)
        for _ in range(100):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=15)


class Box:
    """An ``appliance`` process in its own group, optionally pinned to one core."""

    def __init__(self, args: list[str], env: dict[str, str], log: Path, core: int | None = None) -> None:
        pin = ["taskset", "-c", str(core)] if core is not None else []
        cmd = [*pin, sys.executable, "-m", "appliance.cli", *args]
        self.log = log
        with open(log, "a") as handle:
            self.proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=handle, stderr=handle,
                                         start_new_session=True)  # fmt: skip

    def wait_for(self, text: str, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.log.read_text():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(self.log.read_text()[-2000:])
            time.sleep(0.2)
        raise TimeoutError(f"{text!r} not in {self.log}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def api(port: int, path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as response:
        return json.loads(response.read())


def run_fleet(files: list[Path], workers: int, split_s: float, queue: bool, work: Path) -> dict:
    """Drop ``files`` into a fresh fleet (or, without ``queue``, one embedded box); wait; report times."""
    data = work / "data"
    shutil.rmtree(work, ignore_errors=True)
    (data / "inbox").mkdir(parents=True)
    env = {**BASE_ENV, "APPLIANCE_SPLIT_S": str(split_s), "APPLIANCE_PEOPLE": "false"}
    redis = Redis(work) if queue else None
    boxes: list[Box] = []
    try:
        port = free_port()
        ingest_env = {**env, "APPLIANCE_WORKERS": "0" if queue else str(workers)}
        if redis:
            ingest_env["APPLIANCE_QUEUE"] = env["APPLIANCE_QUEUE"] = redis.url
        ingest = Box(["serve", "--data", str(data), "--port", str(port)], ingest_env, work / "ingest.log", 0)
        boxes.append(ingest)
        ingest.wait_for("status page on")
        if redis:
            for core in range(workers):
                box = Box(["worker", "--data", str(data)], {**env, "APPLIANCE_BOX": f"core{core}"},
                          work / f"worker{core}.log", core)  # fmt: skip
                boxes.append(box)
                box.wait_for("Listening on appliance")
        else:
            ingest.wait_for("ready (backend")
        for path in files:
            shutil.copy(path, data / "inbox" / path.name)
        while True:
            jobs = api(port, "/api/jobs?limit=500")["jobs"]
            if len(jobs) == len(files) and all(j["state"] in ("done", "failed") for j in jobs):
                break
            time.sleep(0.5)
        wall = max(j["finished"] for j in jobs) - min(j["created"] for j in jobs)
        tracks = {j["name"]: j["faces"] for j in jobs}
        parts = len(api(port, f"/api/jobs/{jobs[0]['id']}")["parts"]) if len(jobs) == 1 else 0
        return {"wall_s": round(wall, 2), "tracks": tracks, "failed": sum(j["state"] == "failed" for j in jobs),
                "jobs": len(jobs), "parts": max(parts - 1, 0)}  # fmt: skip
    finally:
        for box in reversed(boxes):
            box.stop()
        if redis:
            redis.stop()


def make_long() -> Path:
    if not LONG.exists():
        OUT.mkdir(exist_ok=True)
        cmd = [sys.executable, str(REPO / "scripts" / "make_cctv_sample.py"), str(LONG), "--seconds", "600"]
        subprocess.run([*cmd, "--width", "1280", "--walks", WALKS], check=True)
    return LONG


def bench_long(split_s: float, work: Path) -> dict:
    clip = make_long()
    sides = {"1 worker, unsplit": (1, 0.0), "1 worker, split": (1, split_s), "2 workers, split": (2, split_s)}
    found = {}
    for name, (workers, split) in sides.items():
        found[name] = run_fleet([clip], workers, split, True, work / "long")
        print(f"  {name}: {found[name]}", flush=True)
    return found


def bench_overhead(work: Path, jobs: int = 200) -> dict:
    sys.path.insert(0, str(REPO))
    from appliance.service.queue.redis import RedisJobStore
    from appliance.service.queue.redis_records import PathMap
    from appliance.service.queue.sqlite import SqliteJobStore

    work.mkdir(parents=True, exist_ok=True)
    redis = Redis(work)
    try:
        paths = PathMap((("state", work / "state"), ("outbox", work / "outbox"), ("inbox", work / "inbox")))
        stores = {"sqlite": SqliteJobStore(work / "jobs.sqlite"), "redis": RedisJobStore(redis.url, paths)}
        found = {}
        for name, store in stores.items():
            times = []
            for i in range(jobs):
                started = time.perf_counter()
                job = store.add(f"f{i}.jpg", str(work / "state" / "processing" / f"f{i}.jpg"), f"{i:064x}", 10)
                job = store.start(job.id, 1, "bench", job.lease) if name == "redis" else store.claim(1, "bench")
                for step in range(5):
                    store.progress(job.id, step / 5, 0, step, 1.0, 1.0)
                store.finish(job.id, job.path, str(work / "outbox" / f"f{i}"), 1, lease=job.lease)
                times.append((time.perf_counter() - started) * 1000)
            found[name] = {"median_ms": round(statistics.median(times), 2), "jobs": jobs}
        return found
    finally:
        redis.stop()


def bench_small(work: Path, count: int = 100) -> dict:
    photos = sorted((SHARED / "faces-dev").glob("*.jpg"))[:count]
    found = {}
    for name, queue in (("sqlite, 1 worker", False), ("redis, 1 worker box", True)):
        found[name] = run_fleet(photos, 1, 0.0, queue, work / "small")
        found[name].pop("tracks")
        print(f"  {name}: {found[name]}", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path)
    parser.add_argument("--parts", default="long,overhead,small")
    parser.add_argument("--split-s", type=float, default=60.0, help="split_s for the split sides")
    args = parser.parse_args()
    if shutil.which("redis-server") is None or shutil.which("taskset") is None:
        sys.exit("needs redis-server and taskset")
    report: dict = {}
    with tempfile.TemporaryDirectory(prefix="bench-fleet-") as tmp:
        work = Path(tmp)
        for part in args.parts.split(","):
            print(f"{part}:", flush=True)
            if part == "long":
                report["long"] = bench_long(args.split_s, work)
            elif part == "overhead":
                report["overhead"] = bench_overhead(work / "overhead")
                print(f"  {report['overhead']}")
            elif part == "small":
                report["small"] = bench_small(work)
    if "long" in report:
        base = report["long"]["1 worker, unsplit"]["wall_s"]
        for name, side in report["long"].items():
            print(f"{name:20s} {side['wall_s']:8.1f} s  {base / side['wall_s']:5.2f}x  parts {side['parts']}  "
                  f"tracks {sum(side['tracks'].values())}")  # fmt: skip
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
