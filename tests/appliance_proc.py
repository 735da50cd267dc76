"""A real ``appliance serve`` in a subprocess (own process group) on a free port, for tests."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

BUSY = ("received", "queued", "processing", "split")


class ApplianceProcess:
    def __init__(self, data: Path, env: dict[str, str] | None = None, args: list[str] | None = None) -> None:
        self.data = data
        self.log_path = data.parent / f"{data.name}-serve.log"
        self.env = {
            **os.environ,
            "APPLIANCE_SETTLE_S": "1.0",
            "APPLIANCE_SCAN_INTERVAL_S": "2",
            "APPLIANCE_BACKEND": "tflite",
            **(env or {}),
        }
        self.args = args or []
        self.proc: subprocess.Popen | None = None
        self.port = 0

    def start(self, timeout: float = 60) -> ApplianceProcess:
        self.data.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "a")  # noqa: SIM115 - kept open for the process's life
        cmd = [sys.executable, "-m", "appliance.cli", "serve", "--data", str(self.data), "--port", "0", *self.args]
        offset = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=self.env, start_new_session=True)
        try:
            return self._until_ready(offset, time.monotonic() + timeout)
        except BaseException:
            self.kill()  # a service that never said it was ready is not left running after the test
            raise

    def _until_ready(self, offset: int, deadline: float) -> ApplianceProcess:
        """Until the log (past ``offset``) names the port and a worker is ready; checked once more after
        the deadline, so a test process that was paused past it still sees a service that did start."""
        assert self.proc is not None
        while True:
            text = self.log_path.read_text()[offset:] if self.port == 0 else ""
            match = re.search(r"status page on http://[^:]+:(\d+)/", text)
            if match:
                self.port = int(match.group(1))
            ingest_only = self.env.get("APPLIANCE_WORKERS") == "0"  # a fleet's ingest box: no worker of its own
            if self.port and (ingest_only or "ready (backend" in self.log_path.read_text()[offset:]):
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"appliance exited: {self.log_path.read_text()[-3000:]}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"appliance did not start: {self.log_path.read_text()[-3000:]}")
            time.sleep(0.2)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def get(self, path: str, headers: dict[str, str] | None = None):
        request = urllib.request.Request(self.url + path, headers=headers or {})
        with urllib.request.urlopen(request, timeout=10) as response:
            body = response.read()
            if response.headers.get_content_type() == "application/json":
                return json.loads(body)
            return body

    def jobs(self) -> list[dict]:
        return self.get("/api/jobs")["jobs"]

    def wait_for(self, predicate, timeout: float = 180, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            if self.proc and self.proc.poll() is not None:
                raise RuntimeError(f"appliance exited while waiting for {what}: {self.log()[-3000:]}")
            time.sleep(0.3)
        raise TimeoutError(f"timed out waiting for {what}; log:\n{self.log()[-3000:]}")

    def wait_idle(self, count: int, timeout: float = 300) -> list[dict]:
        """Until ``count`` jobs exist and none is queued or processing."""

        def idle():
            jobs = self.jobs()
            return jobs if len(jobs) >= count and all(j["state"] not in BUSY for j in jobs) else None

        return self.wait_for(idle, timeout, f"{count} finished jobs")

    def worker_pids(self) -> list[int]:
        """The worker processes (spawned children running the worker, not multiprocessing's helpers)."""
        pids = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                status = (entry / "status").read_text()
                cmdline = (entry / "cmdline").read_bytes()
            except OSError:
                continue
            if f"PPid:\t{self.proc.pid}\n" in status and b"spawn_main" in cmdline:
                pids.append(int(entry.name))
        return sorted(pids)

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the whole process group: the service and its workers die at once (power loss)."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def terminate(self, timeout: float = 15) -> int:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            try:
                self.terminate()
            except subprocess.TimeoutExpired:
                self.kill()


class WorkerBox:
    """A real ``appliance worker`` (a box of a fleet) in its own process group, on the shared folders."""

    def __init__(self, data: Path, box: str, queue: str, env: dict[str, str] | None = None) -> None:
        self.data, self.box = data, box
        self.log_path = data.parent / f"worker-{box}.log"
        self.env = {**os.environ, "APPLIANCE_BACKEND": "tflite", "APPLIANCE_BOX": box, "APPLIANCE_QUEUE": queue}
        self.env.update(env or {})
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 90, ready: bool = True) -> WorkerBox:
        log = open(self.log_path, "a")  # noqa: SIM115 - kept open for the process's life
        cmd = [sys.executable, "-m", "appliance.cli", "worker", "--data", str(self.data)]
        offset = self.log_path.stat().st_size
        self.proc = subprocess.Popen(cmd, stdout=log, stderr=log, env=self.env, start_new_session=True)
        deadline = time.monotonic() + timeout
        while ready and time.monotonic() < deadline:
            if "Listening on appliance" in self.log_path.read_text()[offset:]:
                return self
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker {self.box} exited: {self.log()[-3000:]}")
            time.sleep(0.2)
        if ready:
            raise TimeoutError(f"worker {self.box} did not start: {self.log()[-3000:]}")
        return self

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def kill(self) -> None:
        """SIGKILL the box's whole process group: the box lost power."""
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def close(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()
