"""``tf.keras.preprocessing.sequence``: ``pad_sequences`` (the one in ``keras.utils``).

>>> from tapeflow.keras.preprocessing.sequence import pad_sequences
>>> pad_sequences([[1, 2, 3], [4]], maxlen=2, padding="post").tolist()
[[2, 3], [4, 0]]
"""
from ..utils.sequence_utils import pad_sequences  # noqa: F401

__all__ = ["pad_sequences"]
