"""Face detection: one MTCNN cascade, with the nets run by TensorFlow or by TFLite (LiteRT)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable, Sequence
from dataclasses import replace

import cv2
import numpy as np

from ..settings.model import Backend
from .boxes import nms
from .cascade import Cascade, CascadeSettings, NetRunner, normalise
from .face import Face

# Two detections whose intersection covers this much of the smaller box are one face (the same face
# found in two enhanced views, or in two neighbouring search regions): the more confident is kept.
DUPLICATE_OVERLAP = 0.4

__all__ = [
    "DUPLICATE_OVERLAP",
    "Cascade",
    "CascadeSettings",
    "Detector",
    "Face",
    "available_backends",
    "make_runner",
    "remove_duplicates",
]


def available_backends() -> list[str]:
    """Backends whose runtime is installed, fastest first (TFLite measured 2-3x faster here)."""
    found = []
    if importlib.util.find_spec("ai_edge_litert") or importlib.util.find_spec("tflite_runtime"):
        try:
            from .tflite_runner import models_dir

            models_dir()
            found.append("tflite")
        except FileNotFoundError:
            pass
    if importlib.util.find_spec("tensorflow") and importlib.util.find_spec("mtcnn"):
        found.append("tf")
    return found


def make_runner(backend: Backend = "auto", threads: int = 1) -> NetRunner:
    """The net runner for ``backend`` (validated by the settings); ``auto``: the fastest installed."""
    if backend == "auto":
        found = available_backends()
        if not found:
            raise RuntimeError("no detection backend installed: pip install 'face-appliance[lite]' or '[tf]'")
        backend = "tflite" if found[0] == "tflite" else "tf"
    if backend == "tflite":
        from .tflite_runner import TFLiteRunner

        return TFLiteRunner(threads=threads)
    from .tf_runner import TensorFlowRunner

    return TensorFlowRunner(threads=threads)


class Detector:
    """MTCNN on BGR frames as OpenCV gives them (converted to RGB once, here)."""

    def __init__(
        self, backend: Backend = "auto", min_face: float = 20.0, threads: int = 1, runner: NetRunner | None = None
    ) -> None:
        """``threads``: how many net calls run at once (the cascade's lanes), each net single-threaded:
        XNNPACK's own threads did not spread MTCNN's small convolutions over a second core here, two
        calls at once (the pyramid's largest level beside the others) do."""
        cv2.setNumThreads(1)  # the nets already use the core(s) given; two pools on 2 cores thrash
        self.runner = runner or make_runner(backend, 1)
        self.backend = self.runner.name
        self.cascade = Cascade(self.runner, CascadeSettings(min_face=float(min_face)), lanes=threads)

    @property
    def settings(self) -> CascadeSettings:
        return self.cascade.settings

    def with_min_face(self, min_face: float) -> Detector:
        """The same nets with another minimum face size."""
        return self._with(CascadeSettings(min_face=float(min_face)))

    def with_thresholds(self, thresholds: tuple[float, float, float]) -> Detector:
        """The same nets with other stage thresholds (PNet, RNet, ONet), and no final judge: ONet's
        threshold decides (the judge was fitted on what today's thresholds let through)."""
        return self._with(replace(self.cascade.settings, thresholds=thresholds, judge=False))

    def with_judge_threshold(self, threshold: float) -> Detector:
        """The same detector with its final judge keeping faces from another probability (a sweep)."""
        return self._with(replace(self.cascade.settings, judge_threshold=threshold))

    def without_judge(self) -> Detector:
        """The plain MTCNN cascade, ONet's threshold deciding (the reference package's faces)."""
        return self._with(replace(self.cascade.settings, judge=False))

    def sweeping(self, floor: float) -> tuple[Detector, Callable[[Face], bool]]:
        """This detector letting faces through from ``floor`` of what ranks them (the final judge's
        probability, or ONet's confidence without a judge), and which of those this detector itself
        keeps: the faces of a recall/precision sweep, and its operating point."""
        settings = self.settings
        if not settings.judge:
            onet = settings.thresholds[2]
            return self.with_thresholds((*settings.thresholds[:2], floor)), lambda face: face.confidence > onet
        swept = self.with_judge_threshold(floor)
        if settings.judge_threshold is not None:
            fixed = settings.judge_threshold
            return swept, lambda face: face.rank >= fixed
        from .judge import Judge

        judge = Judge.load()
        return swept, lambda face: judge.keeps(face.rank, face.confidence, settings.thresholds[2])

    def _with(self, settings: CascadeSettings) -> Detector:
        other = Detector.__new__(Detector)
        other.runner, other.backend = self.runner, self.backend
        other.cascade = Cascade(self.runner, settings, self.cascade.lanes)
        return other

    def detect(self, frame_bgr: np.ndarray) -> list[Face]:
        return self.detect_batch([frame_bgr])[0]

    def detect_batch(self, frames_bgr: Sequence[np.ndarray]) -> list[list[Face]]:
        rgb = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for f in frames_bgr]
        return self.cascade.detect_batch(rgb)

    def judge_rows(self, frame_bgr: np.ndarray, faces: Sequence[Face]) -> np.ndarray:
        """The final judge's rows for ``faces`` found in ``frame_bgr`` (for fitting and sweeps: the cascade
        makes its own as it detects)."""
        from .judge import rows

        if not faces:
            return rows(faces, np.zeros((0, 4)))
        normalised = normalise(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB))
        boxes = np.array([f.xyxy for f in faces], float)
        return rows(faces, self.cascade.second_opinions([normalised], [boxes]))

    def face_scores(self, frame_bgr: np.ndarray, boxes_xyxy: np.ndarray, squared: bool = False) -> np.ndarray:
        """ONet's face probability for each ``[x1, y1, x2, y2]`` box of ``frame_bgr``."""
        return self.cascade.face_scores(cv2.cvtColor(frame_bgr, cv2.COLOR_BGR2RGB), boxes_xyxy, squared)


def remove_duplicates(faces: list[Face], overlap: float = DUPLICATE_OVERLAP) -> list[Face]:
    """One face per place: the most confident of detections that overlap by ``overlap`` or more (in order)."""
    if len(faces) < 2:
        return faces
    keep = nms(np.array([f.xyxy for f in faces]), np.array([f.confidence for f in faces]), overlap, "min")
    return [faces[i] for i in sorted(keep)]
