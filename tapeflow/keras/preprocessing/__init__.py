"""``tf.keras.preprocessing``: the legacy preprocessing namespace that TensorFlow keeps for old code:
``image`` (load_img, img_to_array, array_to_img, save_img, smart_resize), ``sequence`` (pad_sequences), ``text``
(Tokenizer and the hashing helpers) and the dataset builders of ``keras.utils``.

>>> import tapeflow as tf
>>> tok = tf.keras.preprocessing.text.Tokenizer()
>>> tok.fit_on_texts(["to be or not to be"])
>>> tf.keras.preprocessing.sequence.pad_sequences(tok.texts_to_sequences(["not to be"]), maxlen=4).tolist()
[[0, 4, 1, 2]]
"""
from ..utils.dataset_utils import (image_dataset_from_directory, text_dataset_from_directory,  # noqa: F401
                                   timeseries_dataset_from_array)
from . import image, sequence, text  # noqa: F401

__all__ = ["image", "image_dataset_from_directory", "sequence", "text", "text_dataset_from_directory",
           "timeseries_dataset_from_array"]
