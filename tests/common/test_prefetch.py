"""The decode thread: how far it may run ahead; errors and early exits reach the consumer."""

from __future__ import annotations

import threading
import time

import pytest

from appliance.common.prefetch import prefetch


def counted(items, produced):
    for item in items:
        produced.append(item)
        yield item


def wait_for(condition, seconds=5.0):
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.01)
    return condition()


def test_the_decoder_runs_at_most_depth_frames_ahead():
    """Decoded frames are large (6 MB at 1080p): only a few may wait for the detector."""
    produced: list = []
    stream = prefetch(counted(range(50), produced), depth=3)
    assert next(stream) == 0
    assert wait_for(lambda: len(produced) >= 4)
    time.sleep(0.3)
    assert len(produced) <= 5
    stream.close()


def test_errors_reach_the_consumer_and_closing_stops_the_thread():
    def broken():
        yield 1
        raise ValueError("corrupt")

    with pytest.raises(ValueError, match="corrupt"):
        list(prefetch(broken()))
    before = threading.active_count()
    stream = prefetch(iter(range(10**6)), depth=2)
    next(stream)
    stream.close()
    assert wait_for(lambda: threading.active_count() <= before)


def test_names_that_are_not_utf8_are_read(tmp_path, videos, faces_dev):
    """OpenCV crashes (SIGSEGV) when handed such a name: the reader never hands it one."""
    import os
    import shutil

    from appliance.pipeline.video import VideoSource

    folder = os.fsencode(tmp_path)
    photo = os.fsdecode(os.path.join(folder, b"caf\xe9.jpg"))
    clip = os.fsdecode(os.path.join(folder, b"r\xe9union.mp4"))
    shutil.copy(faces_dev / "voc_2008_001009.jpg", photo)
    shutil.copy(videos / "carphone_pristine.mp4", clip)
    with VideoSource(photo) as source:
        assert source.info.is_image and len(list(source.frames())) == 1
    with VideoSource(clip) as source:
        assert source.info.width == 176 and len(list(source.frames(rate=None))) == 120
