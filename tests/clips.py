"""Clips the tests make from the shared videos: broken files of the kinds a recorder box meets, and
recordings re-encoded the way a camera would write them."""

from __future__ import annotations

import subprocess
from pathlib import Path


def bad_inputs(tmp_path: Path, videos: Path) -> dict[str, Path]:
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "empty.mp4").write_bytes(b"")
    (bad / "notes.mp4").write_text("this is not a video\n" * 50)
    data = (videos / "facenet_pytorch_video.mp4").read_bytes()
    (bad / "cut.mp4").write_bytes(data[: len(data) // 2])  # index (moov) at the end: unopenable
    faststart = bad / "faststart.mp4"
    source = str(videos / "short_hamilton_clip.mp4")
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", source, "-c", "copy", "-movflags", "+faststart", str(faststart)],
        check=True,
    )
    (bad / "cut-faststart.mp4").write_bytes(faststart.read_bytes()[:300_000])  # decodes, then stops
    faststart.unlink()
    return {p.name: p for p in bad.iterdir()}


def short_gop(videos: Path, out: Path, loops: int = 0, width: int = 640) -> Path:
    """The busy facenet clip (looped ``loops`` more times) with a keyframe every 10 frames: a recording
    to split. Written beside ``out`` under a hidden name and renamed, so an inbox sees it whole."""
    cmd = ["ffmpeg", "-loglevel", "error", "-y", "-stream_loop", str(loops)]
    cmd += ["-i", str(videos / "facenet_pytorch_video.mp4"), "-vf", f"scale={width}:-2", "-c:v", "libx264"]
    cmd += ["-g", "10", "-keyint_min", "10", "-sc_threshold", "0", "-preset", "veryfast", "-an"]
    writing = out.parent.parent / f".{out.name}.writing.mp4"
    subprocess.run([*cmd, str(writing)], check=True)
    writing.rename(out)
    return out
