"""The inbox watcher with an injected clock: a file is handed over once, only when it has settled."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from appliance.service.watch import InboxWatcher, is_temporary


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def watched(tmp_path):
    taken: list[Path] = []
    clock = Clock()
    watcher = InboxWatcher(tmp_path / "inbox", taken.append, settle_s=3.0, clock=clock)
    return watcher, clock, taken, watcher.inbox


def test_a_file_is_taken_once_it_has_not_changed_for_the_settle_time(watched):
    watcher, clock, taken, inbox = watched
    video = inbox / "cam1" / "a.mp4"
    video.parent.mkdir()
    video.write_bytes(b"x" * 10)
    watcher.scan()
    watcher.check()  # first look: size and mtime recorded
    clock.now += 2.0
    assert watcher.check() == []
    with open(video, "ab") as handle:  # still being copied: the wait starts again
        handle.write(b"y")
    clock.now += 2.0
    assert watcher.check() == []
    clock.now += 3.5
    assert watcher.check() == [video.resolve()] and taken == [video.resolve()]
    clock.now += 10
    assert watcher.check() == []  # handed over once


def test_temporary_hidden_and_reason_files_are_never_taken(watched):
    watcher, clock, taken, inbox = watched
    for name in ("a.mp4.part", "b.tmp", ".hidden.mp4", "c.mp4.crdownload", "d.mp4~", "e.mp4.error.txt"):
        (inbox / name).write_bytes(b"x")
        assert is_temporary(inbox / name)
    (inbox / ".sync").mkdir()
    (inbox / ".sync" / "f.mp4").write_bytes(b"x")
    watcher.scan()
    watcher.check()
    clock.now += 10
    assert watcher.check() == [] and taken == []


def test_symlinks_are_never_followed(watched, tmp_path):
    watcher, clock, taken, inbox = watched
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.mp4").write_bytes(b"x")
    os.symlink(outside / "secret.mp4", inbox / "link.mp4")
    os.symlink(outside, inbox / "linked-dir")
    watcher._notice(str(inbox / "linked-dir" / "secret.mp4"))  # as inotify would report it
    watcher.scan()
    watcher.check()
    clock.now += 10
    assert watcher.check() == [] and taken == []


def test_a_file_that_vanishes_is_forgotten_and_a_failing_handler_does_not_stop_the_inbox(tmp_path):
    clock = Clock()
    calls: list[Path] = []

    def handler(path: Path) -> None:
        calls.append(path)
        raise OSError("disk trouble")

    watcher = InboxWatcher(tmp_path / "inbox", handler, settle_s=1.0, clock=clock)
    (watcher.inbox / "gone.mp4").write_bytes(b"x")
    (watcher.inbox / "bad.mp4").write_bytes(b"x")
    watcher.scan()
    watcher.check()
    (watcher.inbox / "gone.mp4").unlink()
    clock.now += 2
    assert watcher.check() == [(watcher.inbox / "bad.mp4").resolve()]
    assert calls == [(watcher.inbox / "bad.mp4").resolve()]
