"""Jobs: one per input file, and its states (the moves between them: :mod:`.queue.lifecycle`; the stores'
interfaces: :mod:`.store`).

received -> queued -> processing -> done | failed; duplicate for content already processed. A job
is recorded (received) before its file leaves the inbox, so a power cut between the two loses
nothing. A recording longer than ``split_s`` becomes ``split``: its parts are jobs of their own
(kind ``part``, any worker may take them), and when the last is done a ``merge`` job joins them
and finishes the recording. A job whose worker died, hung or ran out of its limits goes back to queued (the attempt
counted) until it has had :data:`MAX_ATTEMPTS`, then fails; one the service stopped cleanly gets
its attempt back. A job that found the disk full waits (``retry_at``) and is tried again.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from enum import Enum
from typing import Any

MAX_ATTEMPTS = 3  # a file that crashed or hung the worker this often is given up as failed
KEPT_EVENTS = 500  # the event log keeps this many of the newest events
OUTBOX_CAP = 10_000  # events waiting for delivery; past this the oldest are dropped (and counted)


class JobState(str, Enum):
    RECEIVED = "received"  # recorded, its file on the way from the inbox to processing/
    QUEUED = "queued"
    PROCESSING = "processing"
    SPLIT = "split"  # a long recording whose parts are being processed
    DONE = "done"
    FAILED = "failed"
    DUPLICATE = "duplicate"

    def __str__(self) -> str:
        return self.value


class JobKind(str, Enum):
    RECORDING = "recording"  # one input file
    PART = "part"  # a part of a split recording (``parent``)
    MERGE = "merge"  # joins a split recording's parts, publishes its result, finishes it

    def __str__(self) -> str:
        return self.value


ACTIVE_STATES = (JobState.RECEIVED, JobState.QUEUED, JobState.PROCESSING, JobState.SPLIT)
SHOWN_STATES = (
    JobState.QUEUED,
    JobState.PROCESSING,
    JobState.SPLIT,
    JobState.DONE,
    JobState.FAILED,
    JobState.DUPLICATE,
)


class LeaseLost(Exception):
    """The job is no longer held by this run (it was given to another worker after this one went quiet)."""


@dataclass(frozen=True, kw_only=True)
class WorkerBeat:
    """What a worker says about itself, every few seconds (the page's list of workers)."""

    name: str  # unique across the fleet: host/slot
    host: str
    pid: int
    job: int | None
    seen: float  # when it last said so (time.time())
    started: float
    backend: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(kw_only=True)
class Job:
    id: int
    name: str  # original name, relative to the inbox, as a person reads it (undecodable bytes as \\xNN)
    path: str  # where the footage is now (a file system name: may hold undecodable bytes as surrogates)
    sha256: str
    size: int
    state: JobState
    progress: float = 0.0
    error: str | None = None
    output: str | None = None  # result folder in the outbox
    faces: int = 0
    frames_analysed: int = 0
    analysis_fps: float = 0.0  # analysed frames per second of wall time
    eta_s: float | None = None
    attempts: int = 0
    worker: int | None = None
    created: float = 0.0
    started: float | None = None
    finished: float | None = None
    updated: float = 0.0
    duplicate_of: int | None = None
    source: str | None = None  # where it was in the inbox
    retry_at: float | None = None  # not to be taken before this time (waiting out a full disk)
    waits: int = 0  # times it was put back to wait, in a row
    detail: str | None = None  # what the worker says it is doing (the activity scan's decision)
    kind: JobKind = JobKind.RECORDING
    parent: int | None = None  # a part's or merge's recording
    part: int | None = None  # a part's number, from 1
    parts: int = 0  # a split recording's number of parts
    host: str | None = None  # the box its worker runs on
    lease: str | None = None  # the run that holds it now (set when taken)
    people_pending: bool = False  # done, its people not yet in the index (indexed by the ingest box)

    def __post_init__(self) -> None:
        self.state = JobState(self.state)
        self.kind = JobKind(self.kind)
        self.people_pending = bool(self.people_pending)

    @property
    def top_level(self) -> bool:
        return self.kind is JobKind.RECORDING

    @property
    def duration_s(self) -> float | None:
        if self.started is None:
            return None
        return (self.finished or time.time()) - self.started

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["state"] = self.state.value
        data["kind"] = self.kind.value
        data.pop("lease", None)
        data["duration_s"] = None if self.duration_s is None else round(self.duration_s, 2)
        return data
