"""The job state machine itself: a move from a state it is not allowed from changes nothing, and every move
the table names exists (the stores run these moves; :mod:`test_store_contract` checks they persist them)."""

from __future__ import annotations

import dataclasses

import pytest

from appliance.service.jobs import Job, JobKind, JobState, LeaseLost
from appliance.service.queue import lifecycle

ARGS = {
    "queue": {"path": "/p"},
    "take": {"worker": 1, "host": "box", "lease": "l", "now": 1.0},
    "report_progress": {"progress": 0.5, "faces": 1, "frames": 2, "fps": 3.0, "eta_s": 4.0, "detail": None},
    "finish": {"path": "/d", "output": "/o", "faces": 1, "frames": 2, "people_pending": False, "now": 1.0},
    "fail": {"path": "/f", "error": "e", "now": 1.0},
    "requeue": {"give_back_attempt": False, "retry_at": None, "error": None},
    "retry": {"path": "/p"},
    "mark_duplicate": {"of": 1, "path": "/d", "now": 1.0},
    "split": {"parts": 2, "detail": "d"},
    "part_done": {"frames": 1, "faces": 1, "now": 1.0},
    "cancel": {"reason": "r", "now": 1.0},
    "roll_up": {
        "children": [
            Job(
                id=9,
                name="p",
                path="/p",
                sha256="a" * 64,
                size=1,
                state=JobState.DONE,
                kind=JobKind.PART,
                parent=1,
                part=1,
            )
        ]
    },
}


def job_in(state: JobState) -> Job:
    return Job(
        id=1, name="a.mp4", path="/p/a.mp4", sha256="a" * 64, size=1, state=state, attempts=1, lease="l0", worker=3
    )


@pytest.mark.parametrize("move", sorted(lifecycle.MAY_MOVE_FROM))
@pytest.mark.parametrize("state", list(JobState))
def test_a_move_happens_only_from_the_states_it_is_allowed_from(move, state):
    job = job_in(state)
    before = dataclasses.replace(job)
    moved = getattr(lifecycle, move)(job, **ARGS[move])
    allowed = state in lifecycle.MAY_MOVE_FROM[move]
    assert moved is allowed
    assert (job != before) is allowed


def test_taking_counts_an_attempt_and_the_lease_is_checked():
    job = job_in(JobState.QUEUED)
    assert lifecycle.take(job, 2, "box-b", "l1", 5.0) and (job.attempts, job.lease, job.started) == (2, "l1", 5.0)
    lifecycle.check_lease(job, "l1")
    lifecycle.check_lease(job, None)
    with pytest.raises(LeaseLost):
        lifecycle.check_lease(job, "l0")
    lifecycle.requeue(job, give_back_attempt=True, retry_at=9.0, error="disk full")
    assert (job.attempts, job.waits, job.lease) == (1, 1, None) and lifecycle.waiting(job, 8.0)
    assert not lifecycle.waiting(job, 9.0) and lifecycle.attempts_left(job)
