"""Tracks grouped into people on the shared clips: the same person across a shot change, nobody merged
who was seen at the same time, and the layout of the result (faces/ per person, tracks/ per track).
The clips as analysed by default are the session's ``default_runs``, shared with the extract tests."""

from __future__ import annotations

import json

import pytest

from appliance.output.embeddings import read_embeddings
from appliance.pipeline.extract import Extractor
from appliance.settings import ExtractSettings, PeopleSettings
from tests.conftest import HAMILTON_AS_RECORDED

pytestmark = pytest.mark.slow  # whole clips


@pytest.fixture(scope="module")
def extractor(tflite_detector):
    return Extractor(ExtractSettings(backend="tflite"), detector=tflite_detector)


def test_the_performer_in_wide_and_medium_shot_is_one_person(default_runs):
    """short_hamilton_clip: P1 at the microphone, wide shot (0-0.67 s, ~36 px) then medium shot (2.7-7 s)."""
    manifest = default_runs[HAMILTON_AS_RECORDED].manifest  # the clip under a recorder's file name
    wide = next(t for t in manifest.tracks if t.last_s <= 0.7 and t.best.box[2] > 30)
    medium = next(t for t in manifest.tracks if t.first_s >= 2.0 and t.last_s >= 7.0 and t.best.box[2] > 70)
    assert wide.person == medium.person
    assert len(manifest.people) == len(manifest.tracks) - 1


def test_people_seen_together_are_never_merged(default_runs):
    """facenet_pytorch_video: 9 tracks; the curly-haired woman in the background (tracks at x~915 px, at
    0-1.2 s and again at 3.8 s after being hidden) is the one pair grouped; nobody else."""
    result = default_runs["facenet_pytorch_video.mp4"]
    manifest = result.manifest
    by_person: dict[int, list] = {}
    for track in manifest.tracks:
        by_person.setdefault(track.person, []).append(track)
    groups = [tracks for tracks in by_person.values() if len(tracks) > 1]
    assert len(manifest.people) == 8 and len(groups) == 1
    pair = groups[0]
    assert all(abs(t.best.box[0] - 913) < 20 for t in pair)  # the same place in the frame
    assert pair[0].last_s < pair[1].first_s  # one after the other, never together
    # the layout: one crop per person in faces/, one per track in tracks/, the embeddings beside
    assert sorted(p.name for p in (result.output / "faces").iterdir()) == [f"person-{n:04d}.jpg" for n in range(1, 9)]
    assert len(list((result.output / "tracks").iterdir())) == 9
    assert sorted(read_embeddings(result.output)) == list(range(1, 10))
    csv_header = (result.output / "faces.csv").read_text().splitlines()[0]
    assert csv_header.startswith("track,person,file")


def test_the_night_crowd_gives_at_most_two_people(default_runs):
    manifest = default_runs["MOT20-05-raw_even_shorter.mp4"].manifest
    assert len(manifest.people) <= 2


def test_with_people_off_nothing_is_embedded(tflite_detector, videos, tmp_path):
    off = Extractor(ExtractSettings(backend="tflite"), detector=tflite_detector, people=PeopleSettings(enabled=False))
    result = off.run(videos / "carphone_pristine.mp4", tmp_path)
    manifest = json.loads((result.output / "manifest.json").read_text())
    assert manifest["embeddings"] is None and not (result.output / "embeddings.npz").exists()
    assert [p["tracks"] for p in manifest["people"]] == [[1]]


def test_tracks_embedded_ahead_match_tracks_embedded_at_the_end(extractor, videos, tmp_path, monkeypatch):
    """Ended tracks are embedded while detection goes on: the same vectors as embedding them all at the end."""
    from appliance.pipeline import grouping

    offered = []
    real_offer = grouping.EmbeddingAhead.offer

    def counted(self, ended):
        ended = list(ended)
        offered.extend(ended)
        real_offer(self, ended)

    clip = videos / "facenet_pytorch_video.mp4"
    monkeypatch.setattr(grouping.EmbeddingAhead, "offer", counted)
    ahead = read_embeddings(extractor.run(clip, tmp_path / "ahead").output)
    assert len([t for t in offered if t.detections >= 2]) >= 2, "tracks must end before the clip does"
    monkeypatch.setattr(grouping.EmbeddingAhead, "offer", lambda self, ended: None)
    at_end = read_embeddings(extractor.run(clip, tmp_path / "end").output)
    assert sorted(ahead) == sorted(at_end) and len(ahead) == 9
    for track, vector in at_end.items():
        assert ahead[track] == pytest.approx(vector, abs=1e-6)
