"""Runs the MTCNN nets converted to TFLite (``models/*.tflite``) with LiteRT, without TensorFlow.

``ai-edge-litert`` is preferred; ``tflite_runtime`` is the fallback where only it is installed.
PNet gets one interpreter per input shape (the pyramid of a video has a handful of fixed shapes);
RNet/ONet get one per batch size (powers of two up to 32, then multiples of 32), so tensors are
allocated once and reused. Interpreters are kept per thread: the cascade may run nets in two threads
at once (its lanes), and an interpreter must not be invoked by two.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from pathlib import Path
from typing import Any

import numpy as np

from ..common.models import find_models
from .quiet import native_stderr_captured

MODEL_FILES = {"pnet": "pnet.tflite", "rnet": "rnet.tflite", "onet": "onet.tflite"}
MAX_BATCH = 128  # patches per RNet/ONet call: larger batches were no faster and their interpreters hold more memory
BATCH_STEP = 32  # RNet/ONet batches are padded to a power of two up to this, then to a multiple of it
# interpreters kept (one per PNet input shape and RNet/ONet batch size, per thread): a video's pyramid needs
# about a dozen, a mix of frame sizes more; each holds its tensors, so the oldest are let go past this
INTERPRETER_CACHE_SIZE = 64


def interpreter_class() -> Any:
    """The LiteRT ``Interpreter`` class, or ImportError naming what to install."""
    try:
        from ai_edge_litert.interpreter import Interpreter

        return Interpreter
    except ImportError:
        pass
    try:
        from tflite_runtime.interpreter import Interpreter

        return Interpreter
    except ImportError as exc:
        raise ImportError("no TFLite runtime: pip install 'face-appliance[lite]' (ai-edge-litert)") from exc


def models_dir() -> Path:
    """Where the converted nets are (see :func:`appliance.common.models.find_models`)."""
    return find_models(*MODEL_FILES.values())


class TFLiteRunner:
    name = "tflite"

    def __init__(self, threads: int = 1, model_dir: str | os.PathLike[str] | None = None) -> None:
        self._interpreter = interpreter_class()
        self.threads = threads
        directory = Path(model_dir) if model_dir else models_dir()
        self._models = {key: (directory / name).read_bytes() for key, name in MODEL_FILES.items()}
        self._cache: OrderedDict[tuple, object] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, net: str, shape: tuple[int, ...]) -> Any:
        key = (net, shape, threading.get_ident())
        with self._lock:
            interp = self._cache.get(key)
            if interp is not None:
                self._cache.move_to_end(key)
                return interp
        with native_stderr_captured():  # LiteRT announces its XNNPACK delegate on stderr
            interp = self._interpreter(model_content=self._models[net], num_threads=self.threads)
            index = interp.get_input_details()[0]["index"]
            interp.resize_tensor_input(index, list(shape), strict=False)
            interp.allocate_tensors()
        with self._lock:
            self._cache[key] = interp
            if len(self._cache) > INTERPRETER_CACHE_SIZE:
                self._cache.popitem(last=False)
        return interp

    def _run(self, net: str, batch: np.ndarray) -> dict[int, np.ndarray]:
        """Outputs keyed by their last dimension (their order differs from the Keras model's)."""
        interp = self._get(net, tuple(batch.shape))
        interp.set_tensor(interp.get_input_details()[0]["index"], np.ascontiguousarray(batch, np.float32))
        interp.invoke()
        return {d["shape"][-1]: interp.get_tensor(d["index"]) for d in interp.get_output_details()}

    def _run_batched(self, net: str, patches: np.ndarray) -> dict[int, np.ndarray]:
        parts: list[dict[int, np.ndarray]] = []
        for start in range(0, len(patches), MAX_BATCH):
            chunk = patches[start : start + MAX_BATCH]
            bucket = batch_bucket(len(chunk))
            if bucket != len(chunk):
                pad = np.zeros((bucket - len(chunk), *chunk.shape[1:]), np.float32)
                chunk_in = np.concatenate([chunk, pad])
            else:
                chunk_in = chunk
            out = self._run(net, chunk_in)
            parts.append({k: v[: len(chunk)] for k, v in out.items()})
        return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}

    def pnet(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self._run("pnet", images)
        return out[2][..., 1], out[4]

    def rnet(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self._run_batched("rnet", patches)
        return out[2][:, 1], out[4]

    def onet(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        out = self._run_batched("onet", patches)
        return out[2][:, 1], out[4], out[10]


def batch_bucket(size: int) -> int:
    """The batch an RNet/ONet call of ``size`` patches is padded to: few sizes (few interpreters), little padding."""
    if size <= BATCH_STEP:
        return 1 << max(size - 1, 0).bit_length()
    return -(-size // BATCH_STEP) * BATCH_STEP
