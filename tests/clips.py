"""Clips the tests make from the shared videos: broken files of the kinds a recorder box meets."""

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
