"""Import TensorFlow/Keras on demand, with one clear error when they are not installed."""

from __future__ import annotations

DEEP_HINT = 'pip install "reckernels[deep]"'


def import_keras():
    """``(tensorflow, keras)``; raises ImportError naming the extra to install when TF is missing."""
    try:
        import tensorflow as tf
        import keras
    except ImportError as exc:
        raise ImportError(f"the deep models (NeuMF, GMF, MLP) need TensorFlow and Keras, which are not installed "
                          f"({exc}). Install them with: {DEEP_HINT}") from exc
    return tf, keras


def gpu_present() -> bool:
    tf, _ = import_keras()
    return bool(tf.config.list_physical_devices("GPU"))
