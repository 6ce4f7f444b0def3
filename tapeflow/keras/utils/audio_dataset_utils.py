"""``keras.utils.audio_dataset_from_directory``: a Dataset of (audio, label) from ``directory/<class>/*.wav``, as
Keras 3.15.1's.

Files are indexed as by the other directory datasets (``dataset_utils._index_directory``: sorted class folders,
sorted files, shuffled by ``np.random.RandomState(seed)``), then decoded lazily, one file per element, with
``tf.audio.decode_wav`` (16-bit PCM): float32 ``(samples, channels)``, cropped or zero-padded to
``output_sequence_length`` when it is given. Batches are padded to their longest clip when it is None
(``padded_batch``), as Keras's. ``ragged=True`` needs ``tf.RaggedTensor`` and ``sampling_rate`` needs
tensorflow-io's resampler in Keras; tapeflow has neither and says so.

>>> import os, tempfile, numpy as np, tapeflow as tf
>>> root = tempfile.mkdtemp()
>>> for label, n in (("no", 3), ("yes", 5)):
...     os.makedirs(os.path.join(root, label))
...     wav = tf.audio.encode_wav(np.full((n, 1), 0.5, np.float32), 16000).numpy()
...     with open(os.path.join(root, label, "a.wav"), "wb") as f:
...         _ = f.write(wav)
>>> ds = tf.keras.utils.audio_dataset_from_directory(root, batch_size=2, shuffle=False, verbose=False)
>>> audio, labels = next(iter(ds))
>>> audio.shape.as_list(), labels.numpy().tolist(), ds.class_names
([2, 5, 1], [0, 1], ['no', 'yes'])
"""
from __future__ import annotations

import numpy as np

from ...data.dataset import Dataset
from ...data._structure import TensorSpec
from .dataset_utils import _index_directory, _split

__all__ = ["audio_dataset_from_directory"]

ALLOWED_FORMATS = (".wav",)
_WHAT = "audio_dataset_from_directory"


class _AudioFiles(Dataset):
    """One element per file: the decoded audio (and the encoded label), read when iterated."""

    def __init__(self, paths: list, labels, length):
        self._paths, self._labels, self._length = list(paths), labels, length

    def _cardinality(self) -> int:
        return len(self._paths)

    def _compute_spec(self):
        audio = TensorSpec((self._length, None), "float32")
        if self._labels is None:
            return audio
        return audio, TensorSpec(self._labels.shape[1:], self._labels.dtype)

    def _iter_flat(self):
        for i, path in enumerate(self._paths):
            audio = _read(path, self._length)
            yield (audio,) if self._labels is None else (audio, self._labels[i])


def _read(path: str, length) -> np.ndarray:
    from ...audio import decode_wav
    from ...errors import InvalidArgumentError
    try:
        with open(path, "rb") as f:
            contents = f.read()
    except OSError as e:
        raise FileNotFoundError(f"{_WHAT}: cannot read {path!r}: {e.strerror}") from None
    try:
        audio, _ = decode_wav(contents, desired_samples=-1 if length is None else length)
    except (InvalidArgumentError, TypeError) as e:
        raise type(e)(*(((None, None, f"{e} (file {path!r})") if isinstance(e, InvalidArgumentError)
                         else (f"{e} (file {path!r})",)))) from None
    return audio._value


def _check_args(labels, label_mode, class_names, ragged, output_sequence_length, sampling_rate,
                validation_split, subset, shuffle, seed) -> None:
    if labels not in ("inferred", None):
        if not isinstance(labels, (list, tuple)):
            raise ValueError(f"{_WHAT}: `labels` must be 'inferred', None (no labels) or a list/tuple of integer "
                             f"labels, one per audio file in sorted path order; received labels={labels!r}")
        if class_names:
            raise ValueError(f"{_WHAT}: you can only pass `class_names` if labels='inferred'; received "
                             f"labels={labels!r} and class_names={class_names!r}")
    if label_mode not in ("int", "categorical", "binary", None):
        raise ValueError(f"{_WHAT}: `label_mode` must be 'int', 'categorical', 'binary' or None, received "
                         f"{label_mode!r}")
    if ragged and output_sequence_length is not None:
        raise ValueError(f"{_WHAT}: cannot set both `ragged` and `output_sequence_length`")
    if sampling_rate is not None:
        if not isinstance(sampling_rate, int):
            raise ValueError(f"{_WHAT}: `sampling_rate` should have an integer value, received {sampling_rate!r}")
        if sampling_rate <= 0:
            raise ValueError(f"{_WHAT}: `sampling_rate` should be higher than 0, received {sampling_rate}")
        raise ImportError(f"{_WHAT}: `sampling_rate` resamples with tensorflow-io in Keras, which tapeflow does not "
                          "have; resample the files beforehand (e.g. `sox in.wav -r 16000 out.wav`) and pass "
                          "sampling_rate=None")
    if ragged:
        raise NotImplementedError(f"{_WHAT}: ragged=True returns tf.RaggedTensor batches, which tapeflow does not "
                                  "have; use ragged=False (batches padded to their longest clip) or "
                                  "output_sequence_length=N (every clip cropped or padded to N samples)")
    if validation_split and not 0 < validation_split < 1:
        raise ValueError(f"{_WHAT}: `validation_split` must be between 0 and 1, received {validation_split}")
    if (validation_split or subset) and not (validation_split and subset):
        raise ValueError(f"{_WHAT}: if `subset` is set, `validation_split` must be set, and inversely (received "
                         f"validation_split={validation_split!r}, subset={subset!r})")
    if subset not in ("training", "validation", "both", None):
        raise ValueError(f"{_WHAT}: `subset` must be 'training', 'validation' or 'both', received {subset!r}")
    if validation_split and shuffle and seed is None:
        raise ValueError(f"{_WHAT}: with `validation_split` and shuffle=True, pass a `seed` so that the training "
                         "and validation subsets do not overlap")


def _encode(labels: list, label_mode: str, num_classes: int) -> np.ndarray:
    y = np.asarray(labels, np.int32).reshape(-1)
    if label_mode == "binary":
        return y.astype(np.float32)[:, None]
    if label_mode == "categorical":   # tf.one_hot: an out-of-range label gives a row of zeros
        return (y[:, None] == np.arange(num_classes)[None, :]).astype(np.float32)
    return y


def _dataset(paths, labels, label_mode, num_classes, length, shuffle, buffer, seed, batch_size, class_names,
             directory, which):
    if not paths:
        raise ValueError(f"{_WHAT}: no {which}audio files found in directory {directory!r}. Allowed format(s): "
                         f"{ALLOWED_FORMATS}")
    encoded = None if label_mode is None else _encode(labels, label_mode, num_classes)
    ds = _AudioFiles(paths, encoded, length)
    if shuffle:
        ds = ds.shuffle(buffer_size=buffer, seed=seed)
    if batch_size is not None:
        ds = ds.padded_batch(batch_size) if length is None else ds.batch(batch_size)
    ds.class_names = class_names
    return ds


def audio_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                 sampling_rate=None, output_sequence_length=None, ragged=False, shuffle=True,
                                 seed=None, validation_split=None, subset=None, follow_links=False, verbose=True):
    """A Dataset of ``(audio, label)`` batches from the ``.wav`` files under ``directory`` (labels from its
    sub-folders, or a list of ``labels`` in sorted file order, or None). ``audio`` is float32
    ``(batch, samples, channels)``; labels are int32 ``(batch,)`` ("int"), float32 one-hot ("categorical") or
    float32 ``(batch, 1)`` ("binary"). ``subset="both"`` returns ``(training, validation)``. The dataset has a
    ``class_names`` attribute."""
    _check_args(labels, label_mode, class_names, ragged, output_sequence_length, sampling_rate, validation_split,
                 subset, shuffle, seed)
    if labels is None or label_mode is None:
        labels, label_mode = None, None
    if seed is None:
        seed = np.random.randint(1e6)
    buffer = 1024 if batch_size is None else batch_size * 8
    paths, found, names = _index_directory(directory, labels, ALLOWED_FORMATS, class_names, shuffle, seed,
                                           follow_links, _WHAT)
    if labels is not None and labels != "inferred":
        names = [str(label) for label in sorted(set(labels))]
    if label_mode == "binary" and len(names) != 2:
        raise ValueError(f"{_WHAT}: with label_mode='binary' there must be exactly 2 class names, received "
                         f"class_names={names}")
    if verbose:
        print(f"Found {len(paths)} files." if labels is None else
              f"Found {len(paths)} files belonging to {len(names)} classes.")
    length = None if output_sequence_length is None else int(output_sequence_length)
    num_classes = len(names) if names else 0
    common = (label_mode, num_classes, length)
    if subset == "both":
        out = []
        for part, which, mix in (("training", "training ", shuffle), ("validation", "validation ", False)):
            p, y = _split(paths, found, validation_split, part, _WHAT)
            if verbose:
                print(f"Using {len(p)} files for {part}.")
            out.append(_dataset(p, y, *common, mix, buffer, seed, batch_size, names, directory, which))
        return tuple(out)
    p, y = _split(paths, found, validation_split, subset, _WHAT)
    if verbose and validation_split:
        print(f"Using {len(p)} files for {subset}.")
    return _dataset(p, y, *common, shuffle, buffer, seed, batch_size, names, directory, "")
