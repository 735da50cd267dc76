#!/usr/bin/env python3
"""Convert the ``mtcnn`` package's P/R/O-nets (Keras, shipped weights) to TFLite in ``models/``.

Usage: python scripts/convert_models.py [--out models] [--fp16]

Needs the ``tf`` extra (TensorFlow and mtcnn). The output is checked: a net written without its
weights is a few KB (a known trap of ``from_concrete_functions``), and each converted net must
reproduce the Keras net's outputs on random input.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from appliance.detect.quiet import native_stderr_captured  # noqa: E402

INPUT_SIDES = {"pnet": None, "rnet": 24, "onet": 48}
MIN_BYTES = {"pnet": 20_000, "rnet": 300_000, "onet": 1_200_000}  # fp32; fp16 is half


def convert(out_dir: Path, fp16: bool = False) -> dict[str, Path]:
    with native_stderr_captured():
        import tensorflow as tf

        from appliance.detect.tf_runner import load_keras_nets

        nets = dict(zip(("pnet", "rnet", "onet"), load_keras_nets(), strict=True))
    out_dir.mkdir(parents=True, exist_ok=True)
    written = {}
    for name, net in nets.items():
        side = INPUT_SIDES[name]
        inputs = tf.keras.Input((side, side, 3), batch_size=None)
        model = tf.keras.Model(inputs, net(inputs))
        converter = tf.lite.TFLiteConverter.from_keras_model(model)
        if fp16:
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
            converter.target_spec.supported_types = [tf.float16]
        with native_stderr_captured():
            data = converter.convert()
        floor = MIN_BYTES[name] // (2 if fp16 else 1)
        if len(data) < floor:
            raise SystemExit(f"{name}: converted net is {len(data)} bytes (< {floor}): weights are missing")
        path = out_dir / f"{name}{'-fp16' if fp16 else ''}.tflite"
        path.write_bytes(data)
        check(name, net, path)
        written[name] = path
    return written


def check(name: str, net, path: Path) -> None:
    """The converted net must give the Keras net's outputs (fp32: 1e-4; fp16: 2e-2)."""
    from appliance.detect.tflite_runner import interpreter_class

    side = INPUT_SIDES[name] or 37
    x = np.random.default_rng(0).uniform(-1, 1, (3, side, side + (0 if INPUT_SIDES[name] else 11), 3))
    x = x.astype(np.float32)
    expected = {o.shape[-1]: o.numpy() for o in net(x)}
    interp = interpreter_class()(model_path=str(path))
    interp.resize_tensor_input(interp.get_input_details()[0]["index"], list(x.shape))
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], x)
    interp.invoke()
    tol = 2e-2 if "fp16" in path.name else 1e-4
    for detail in interp.get_output_details():
        got = interp.get_tensor(detail["index"])
        diff = float(np.abs(got - expected[got.shape[-1]]).max())
        if diff > tol:
            raise SystemExit(f"{path.name}: output differs from Keras by {diff} (> {tol})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "models")
    parser.add_argument("--fp16", action="store_true", help="also write float16 variants")
    args = parser.parse_args()
    paths = convert(args.out)
    if args.fp16:
        paths.update({f"{k}-fp16": v for k, v in convert(args.out, fp16=True).items()})
    for path in paths.values():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        print(f"{path.name}  {path.stat().st_size:>9} bytes  sha256 {digest}")


if __name__ == "__main__":
    main()
