"""Find one dataset file by name: explicit path, tapeflow's folders, Keras's cache, Debian's folder, download.

Shared by boston_housing, california_housing, imdb and reuters (files named as Keras names them), and by
cifar100 for its folder list. Downloads are checked against the hash Keras publishes and written atomically;
a file that is already on disk is taken as it is (so a user's own copy, or a test's small one, loads).
"""
from __future__ import annotations

import hashlib
import json
import os
import urllib.request

from .idx import DatasetFileError, atomic_write

KERAS_ORIGIN = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"


def dataset_dirs(name: str) -> list:
    """The folders searched for dataset ``name``, in order.

    ``$TAPEFLOW_DATA_DIR/<name>``, ``$TAPEFLOW_DATA_DIR``, ``~/.tapeflow/datasets/<name>``, Keras's cache
    (``$KERAS_HOME/datasets`` when set, ``~/.keras/datasets``), then Debian's ``/usr/share/datasets/<name>``.

    >>> dataset_dirs("imdb")[-1]
    '/usr/share/datasets/imdb'
    """
    dirs = []
    env = os.environ.get("TAPEFLOW_DATA_DIR")
    if env:
        dirs += [os.path.join(env, name), env]
    home = os.path.expanduser("~")
    dirs.append(os.path.join(home, ".tapeflow", "datasets", name))
    keras_home = os.environ.get("KERAS_HOME")
    if keras_home:
        dirs.append(os.path.join(os.path.expanduser(keras_home), "datasets"))
    dirs.append(os.path.join(home, ".keras", "datasets"))
    dirs.append(os.path.join("/usr/share/datasets", name))
    out = []
    for d in dirs:  # keep order, drop repeats (KERAS_HOME=~/.keras)
        if d not in out:
            out.append(d)
    return out


def user_dir(name: str) -> str:
    """Where a download (or a user's copy) of dataset ``name`` goes: ``~/.tapeflow/datasets/<name>``."""
    return os.path.join(os.path.expanduser("~"), ".tapeflow", "datasets", name)


def downloads_allowed() -> bool:
    return os.environ.get("TAPEFLOW_OFFLINE") != "1"


def check_hash(data: bytes, digest: str | None) -> bool:
    """True when ``data`` matches ``digest`` (32 hex digits: MD5, 64: SHA-256, None: anything).

    >>> check_hash(b"", "d41d8cd98f00b204e9800998ecf8427e"), check_hash(b"x", "d41d8cd98f00b204e9800998ecf8427e")
    (True, False)
    """
    if not digest:
        return True
    algo = hashlib.md5 if len(digest) == 32 else hashlib.sha256
    return algo(data).hexdigest() == digest


def fetch(url: str, dest: str, digest: str | None) -> str:
    """Download ``url`` to ``dest`` (hash checked, atomic); raises OSError when the network fails."""
    with urllib.request.urlopen(url, timeout=60) as r:  # noqa: S310 - fixed https URL
        data = r.read()
    if not check_hash(data, digest):
        raise DatasetFileError(f"{url}: the downloaded file failed its hash check ({digest}); not saved")
    atomic_write(dest, data)
    return dest


def find_file(name: str, path: str, url: str, digest: str | None = None) -> str:
    """The path of dataset file ``path`` of dataset ``name``; downloads ``url`` when no copy is found.

    An absolute ``path`` (or one starting with ``~``) is used as it is; a relative one is looked up in each
    of ``dataset_dirs(name)``. When nothing is found and downloads are allowed (``TAPEFLOW_OFFLINE`` is not
    ``1``), ``url`` is fetched into ``~/.tapeflow/datasets/<name>/`` (or to the absolute ``path``). Otherwise
    ``FileNotFoundError`` names the file, every place searched, the URL and where to put the file.
    """
    path = os.fspath(path)
    expanded = os.path.expanduser(path)
    if os.path.isabs(expanded):
        candidates, dest = [expanded], expanded
    else:
        candidates = [os.path.join(d, expanded) for d in dataset_dirs(name)]
        dest = os.path.join(user_dir(name), expanded)
    for c in candidates:
        if os.path.isfile(c):
            return c
    if downloads_allowed():
        try:
            return fetch(url, dest, digest)
        except OSError as e:
            why = f"downloading {url} failed ({e})"
    else:
        why = "downloads are off (TAPEFLOW_OFFLINE=1)"
    raise FileNotFoundError(
        f"{name}: could not find {os.path.basename(expanded)}. Looked in: " + ", ".join(candidates)
        + f". {why}. Download {url} and put it at {dest} (or into $TAPEFLOW_DATA_DIR or ~/.keras/datasets/), "
        "or pass its full path as path=")


def read_word_index(file: str) -> dict:
    """The JSON object ``{word: index}`` in ``file``; anything else is a DatasetFileError naming the file."""
    try:
        with open(file, encoding="utf-8") as f:
            index = json.load(f)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DatasetFileError(f"{file}: not a readable JSON word index ({e}); delete it and fetch it again") from None
    if not isinstance(index, dict):
        raise DatasetFileError(f"{file}: a word index must be a JSON object {{word: index}}, found a "
                               f"{type(index).__name__}")
    return index
