"""Keras's dataset builders: ``timeseries_dataset_from_array``, ``text_dataset_from_directory``,
``image_dataset_from_directory``, ``split_dataset`` and ``get_file``.

Directory datasets index files as Keras 3 does: class names are the sorted subdirectory names (or
``class_names``), files are walked in sorted order, then shuffled jointly with their labels by
``np.random.RandomState(seed)`` (so a seed gives Keras's file order), and ``validation_split``/``subset`` take
the last fraction as validation.

>>> import numpy as np
>>> from tapeflow import keras
>>> ds = keras.utils.timeseries_dataset_from_array(np.arange(10), None, sequence_length=3, batch_size=4)
>>> [b.numpy().tolist() for b in ds][0]
[[0, 1, 2], [1, 2, 3], [2, 3, 4], [3, 4, 5]]
"""
from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import urllib.parse
import urllib.request

import numpy as np


def _dataset():
    from ...data import Dataset
    return Dataset


def timeseries_dataset_from_array(data, targets, sequence_length, sequence_stride=1, sampling_rate=1,
                                  batch_size=128, shuffle=False, seed=None, start_index=None, end_index=None):
    """Windows of ``sequence_length`` steps (``sampling_rate`` apart) starting every ``sequence_stride`` steps;
    with ``targets``, window i is paired with ``targets[start_index + i]``."""
    data = np.asarray(getattr(data, "_value", data))
    n = len(data)
    for name, v in (("sampling_rate", sampling_rate), ("sequence_stride", sequence_stride)):
        if v <= 0 or v >= n:
            raise ValueError(f"timeseries_dataset_from_array: `{name}` must be in [1, {n}) (the data length), "
                             f"got {v}")
    if start_index is not None and not 0 <= start_index < n:
        raise ValueError(f"timeseries_dataset_from_array: `start_index` must be in [0, {n}), got {start_index}")
    start = start_index or 0
    end = n if end_index is None else int(end_index)
    count = end - start - (sequence_length - 1) * sampling_rate
    if targets is not None:
        targets = np.asarray(getattr(targets, "_value", targets))
        count = min(count, len(targets))
    positions = np.arange(0, max(count, 0), sequence_stride)
    if shuffle:
        np.random.RandomState(np.random.randint(1e6) if seed is None else seed).shuffle(positions)
    window = positions[:, None] + np.arange(sequence_length)[None, :] * sampling_rate
    sequences = data[start:end][window]
    items = sequences if targets is None else (sequences, targets[start:end][positions])
    ds = _dataset().from_tensor_slices(items)
    return ds if batch_size is None else ds.batch(batch_size)


def _index_directory(directory, labels, formats, class_names, shuffle, seed, follow_links, what):
    directory = os.fspath(directory)
    if not os.path.isdir(directory):
        raise ValueError(f"{what}: directory {directory!r} does not exist")
    if labels == "inferred":
        subdirs = sorted(d for d in os.listdir(directory)
                         if os.path.isdir(os.path.join(directory, d)) and not d.startswith("."))
        if class_names is not None:
            if not set(class_names) <= set(subdirs):
                raise ValueError(f"{what}: class_names {list(class_names)} must all be subdirectories of "
                                 f"{directory!r} (found {subdirs})")
            subdirs = list(class_names)
        class_names = subdirs
        roots = [(os.path.join(directory, d), i) for i, d in enumerate(subdirs)]
    else:
        roots = [(directory, None)]
        class_names = None
    paths, found = [], []
    for root, label in roots:
        for dirpath, dirnames, files in sorted(os.walk(root, followlinks=follow_links)):
            dirnames.sort()
            for fname in sorted(files):
                if fname.lower().endswith(formats):
                    paths.append(os.path.join(dirpath, fname))
                    found.append(label)
    if labels not in ("inferred", None):
        found = list(labels)
        if len(found) != len(paths):
            raise ValueError(f"{what}: {len(found)} labels given for {len(paths)} files in {directory!r}")
    if shuffle:
        seed = np.random.randint(1e6) if seed is None else seed
        np.random.RandomState(seed).shuffle(paths)
        if labels is not None:
            np.random.RandomState(seed).shuffle(found)
    return paths, (None if labels is None else found), class_names


def _split(paths, labels, validation_split, subset, what):
    if not validation_split:
        return paths, labels
    if not 0 < validation_split < 1:
        raise ValueError(f"{what}: validation_split must be in (0, 1), got {validation_split}")
    k = int(validation_split * len(paths))
    if subset == "training":
        return paths[:len(paths) - k], None if labels is None else labels[:len(labels) - k]
    if subset == "validation":
        return paths[len(paths) - k:], None if labels is None else labels[len(labels) - k:]
    raise ValueError(f'{what}: with validation_split, subset must be "training" or "validation", got {subset!r}')


def _encoded(labels, label_mode, num_classes, what):
    y = np.asarray(labels, np.int32)
    if label_mode == "int":
        return y
    if label_mode == "categorical":
        return np.eye(num_classes, dtype=np.float32)[y]
    if label_mode == "binary":
        if num_classes != 2:
            raise ValueError(f'{what}: label_mode="binary" needs exactly 2 classes, found {num_classes}')
        return y.astype(np.float32)[:, None]
    raise ValueError(f'{what}: label_mode must be "int", "categorical", "binary" or None, got {label_mode!r}')


def _finish(samples, labels, label_mode, class_names, batch_size, shuffle, seed, what):
    Dataset = _dataset()
    if label_mode is None or labels is None:
        ds = Dataset.from_tensor_slices(samples)
    else:
        ds = Dataset.from_tensor_slices((samples, _encoded(labels, label_mode, len(class_names or []), what)))
    if shuffle:              # a second, Dataset-level shuffle, as Keras (whose draws tapeflow does not reproduce)
        ds = ds.shuffle(buffer_size=1024 if batch_size is None else batch_size * 8, seed=seed)
    if batch_size is not None:
        ds = ds.batch(batch_size)
    ds.class_names = class_names
    ds.file_paths = None
    return ds


def text_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None, batch_size=32,
                                max_length=None, shuffle=True, seed=None, validation_split=None, subset=None,
                                follow_links=False, verbose=True):
    """A Dataset of (text, label) from ``directory/<class>/*.txt`` (``class_names`` as an attribute)."""
    what = "text_dataset_from_directory"
    if subset == "both":
        return tuple(text_dataset_from_directory(directory, labels, label_mode, class_names, batch_size, max_length,
                                                 shuffle, seed, validation_split, s, follow_links, verbose)
                     for s in ("training", "validation"))
    paths, found, names = _index_directory(directory, labels, (".txt",), class_names, shuffle, seed, follow_links,
                                           what)
    paths, found = _split(paths, found, validation_split, subset, what)
    texts = []
    for p in paths:
        with open(p, encoding="utf-8") as f:
            t = f.read()
        texts.append(t[:max_length] if max_length is not None else t)
    ds = _finish(np.array(texts, dtype=object), found, label_mode, names, batch_size, shuffle, seed, what)
    ds.file_paths = paths
    return ds


def image_dataset_from_directory(directory, labels="inferred", label_mode="int", class_names=None,
                                 color_mode="rgb", batch_size=32, image_size=(256, 256), shuffle=True, seed=None,
                                 validation_split=None, subset=None, interpolation="bilinear", follow_links=False,
                                 crop_to_aspect_ratio=False, pad_to_aspect_ratio=False, data_format=None,
                                 verbose=True):
    """A Dataset of (float32 image (h, w, c) resized to ``image_size``, label) from ``directory/<class>/*``
    (bmp, gif, jpeg, jpg, png; read with Pillow, ``pip install pillow``)."""
    from .image_utils import img_to_array, load_img
    what = "image_dataset_from_directory"
    if subset == "both":
        return tuple(image_dataset_from_directory(directory, labels, label_mode, class_names, color_mode, batch_size,
                                                  image_size, shuffle, seed, validation_split, s, interpolation,
                                                  follow_links, crop_to_aspect_ratio, pad_to_aspect_ratio,
                                                  data_format, verbose) for s in ("training", "validation"))
    paths, found, names = _index_directory(directory, labels, (".bmp", ".gif", ".jpeg", ".jpg", ".png"),
                                           class_names, shuffle, seed, follow_links, what)
    paths, found = _split(paths, found, validation_split, subset, what)
    method = "nearest" if interpolation == "nearest" else "bilinear"
    images = np.stack([img_to_array(load_img(p, color_mode=color_mode, target_size=tuple(image_size),
                                              interpolation=method)) for p in paths]) if paths else \
        np.zeros((0,) + tuple(image_size) + ({"grayscale": 1, "rgb": 3, "rgba": 4}[color_mode],), np.float32)
    if data_format == "channels_first":
        images = np.moveaxis(images, -1, 1)
    ds = _finish(images.astype(np.float32), found, label_mode, names, batch_size, shuffle, seed, what)
    ds.file_paths = paths
    return ds


def split_dataset(dataset, left_size=None, right_size=None, shuffle=False, seed=None):
    """Two Datasets of the examples of ``dataset`` (a Dataset, an array, or a tuple/list of arrays, one example per
    row): ``left_size`` / ``right_size`` as counts or fractions (one may be None: the rest)."""
    Dataset = _dataset()
    data = _stack(list(dataset)) if isinstance(dataset, Dataset) else dataset
    columns = [np.asarray(getattr(c, "_value", c)) for c in data] if isinstance(data, (list, tuple)) else \
        [np.asarray(getattr(data, "_value", data))]
    n = len(columns[0])

    def size(v):
        return None if v is None else (int(round(v * n)) if isinstance(v, float) else int(v))
    left, right = size(left_size), size(right_size)
    if left is None and right is None:
        raise ValueError("split_dataset: give left_size, right_size or both")
    left = n - right if left is None else left
    right = n - left if right is None else right
    if left + right > n or left < 0 or right < 0:
        raise ValueError(f"split_dataset: left_size + right_size ({left} + {right}) exceeds the {n} examples")
    order = np.arange(n)
    if shuffle:
        np.random.RandomState(seed).shuffle(order)
    single = not isinstance(data, (list, tuple))
    return tuple(Dataset.from_tensor_slices(columns[0][p] if single else tuple(c[p] for c in columns))
                 for p in (order[:left], order[left:left + right]))


def _stack(elements):
    first = elements[0] if elements else None
    if isinstance(first, (tuple, list)):
        return tuple(_stack([e[k] for e in elements]) for k in range(len(first)))
    return np.stack([np.asarray(getattr(e, "_value", e)) for e in elements])


def get_file(fname=None, origin=None, untar=False, md5_hash=None, file_hash=None, cache_subdir="datasets",
             hash_algorithm="auto", extract=False, archive_format="auto", cache_dir=None, force_download=False):
    """Download ``origin`` (http(s) or file://) into ``cache_dir/cache_subdir`` (default ``~/.keras/datasets``)
    unless already there with the right hash; return the local path (``extract=True``: the extracted folder)."""
    if origin is None:
        raise ValueError('get_file: please specify the "origin" argument (the URL of the file to download)')
    cache_dir = os.path.expanduser(cache_dir or os.path.join("~", ".keras"))
    folder = os.path.join(cache_dir, cache_subdir)
    os.makedirs(folder, exist_ok=True)
    fname = fname or os.path.basename(urllib.parse.urlsplit(origin).path)
    path = os.path.join(folder, fname)
    expected = file_hash or md5_hash
    algo = "md5" if md5_hash else ("sha256" if hash_algorithm == "auto" and expected and len(expected) == 64
                                   else ("md5" if hash_algorithm == "auto" else hash_algorithm))

    def digest(p):
        h = hashlib.new(algo)
        with open(p, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
        return h.hexdigest()
    if force_download or not os.path.exists(path) or (expected and digest(path) != expected):
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".download-")
        os.close(fd)
        try:
            with urllib.request.urlopen(origin) as src, open(tmp, "wb") as dst:
                shutil.copyfileobj(src, dst)
            if expected and digest(tmp) != expected:
                raise ValueError(f"get_file: the file from {origin} has {algo} {digest(tmp)}, expected {expected}")
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.remove(tmp)
    if extract or untar:
        target = os.path.join(folder, fname.split(".")[0] if extract else fname.rsplit(".tar", 1)[0])
        if not os.path.exists(target):
            shutil.unpack_archive(path, target)
        return target
    return path


__all__ = ["timeseries_dataset_from_array", "text_dataset_from_directory", "image_dataset_from_directory",
           "split_dataset", "get_file"]
