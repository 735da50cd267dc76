"""Runs the MTCNN nets with TensorFlow, using the ``mtcnn`` package's networks and shipped weights."""

from __future__ import annotations

from typing import Any

import numpy as np

from .quiet import native_stderr_captured


class TensorFlowRunner:
    """The ``mtcnn`` 1.0 Keras nets, each behind a ``tf.function`` with a dynamic input shape."""

    name = "tf"

    def __init__(self, threads: int = 1) -> None:
        with native_stderr_captured():
            import tensorflow as tf

            tf.get_logger().setLevel("ERROR")
            try:
                tf.config.threading.set_intra_op_parallelism_threads(threads)
                tf.config.threading.set_inter_op_parallelism_threads(1)
            except RuntimeError:  # already initialised in this process
                pass
            self.pnet_model, self.rnet_model, self.onet_model = load_keras_nets()
            spec = tf.TensorSpec([None, None, None, 3], tf.float32)
            self._pnet = tf.function(lambda x: self.pnet_model(x, training=False), input_signature=[spec])
            self._rnet = tf.function(lambda x: self.rnet_model(x, training=False), input_signature=[spec])
            self._onet = tf.function(lambda x: self.onet_model(x, training=False), input_signature=[spec])
            self.pnet(np.zeros((1, 12, 12, 3), np.float32))  # trace once, while stderr is captured
            self.rnet(np.zeros((1, 24, 24, 3), np.float32))
            self.onet(np.zeros((1, 48, 48, 3), np.float32))

    def pnet(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        reg, cls = self._pnet(images)
        return cls.numpy()[..., 1], reg.numpy()

    def rnet(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        reg, cls = self._rnet(patches)
        return cls.numpy()[:, 1], reg.numpy()

    def onet(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        reg, marks, cls = self._onet(patches)
        return cls.numpy()[:, 1], reg.numpy(), marks.numpy()


def load_keras_nets() -> tuple[Any, Any, Any]:
    """PNet, RNet and ONet from the ``mtcnn`` package with its shipped weights loaded."""
    from mtcnn.network.onet import ONet
    from mtcnn.network.pnet import PNet
    from mtcnn.network.rnet import RNet
    from mtcnn.utils.tensorflow import load_weights

    nets = []
    for cls, weights in ((PNet, "pnet.lz4"), (RNet, "rnet.lz4"), (ONet, "onet.lz4")):
        net = cls()
        net.build()
        net.set_weights(load_weights(weights))
        nets.append(net)
    pnet, rnet, onet = nets
    return pnet, rnet, onet
