"""``tf.distribute.experimental``: the names TensorFlow keeps there."""
from .multi_worker import CommunicationOptions, MultiWorkerMirroredStrategy  # noqa: F401

__all__ = ["CommunicationOptions", "MultiWorkerMirroredStrategy"]
