"""boston_housing, california_housing, cifar100, imdb, reuters against Keras 3.15.1's own ``load_data``.

The inputs in ``tests/fixtures/keras_datasets_more/`` are small synthetic files in Keras's formats; the expected
outputs are what Keras returned on those same files (``tests/fixtures/make_keras_datasets_more.py``, run with the
real interpreter, monkeypatching each module's ``get_file``). Also: the file lookup order, the missing-file
message, the restricted unpickler, and corrupt-file errors.
"""
import io
import json
import os
import pickle
import shutil
import tarfile
import zipfile

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras.datasets import (_files, boston_housing, california_housing, cifar100, imdb, reuters,
                                     safe_npz)
from tapeflow.keras.datasets.idx import DatasetFileError

FIX = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "keras_datasets_more")
with open(os.path.join(FIX, "expected.json"), encoding="utf-8") as _f:
    EXPECTED = json.load(_f)
ARRAYS = np.load(os.path.join(FIX, "expected.npz"), allow_pickle=False)
PARTS = ("x_train", "y_train", "x_test", "y_test")


def _cases(key):
    return [c for c, e in EXPECTED[key].items() if isinstance(e, dict) and "kwargs" in e]


@pytest.fixture(autouse=True)
def isolated(monkeypatch, tmp_path):
    """No real home, no data dir, no downloads: only what a test puts in place is found."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("TAPEFLOW_DATA_DIR", raising=False)
    monkeypatch.delenv("KERAS_HOME", raising=False)
    monkeypatch.setenv("TAPEFLOW_OFFLINE", "1")
    return home


def _flatten(out):
    return dict(zip(PARTS, (out[0][0], out[0][1], out[1][0], out[1][1])))


def _check_sequences(out, entry):
    for name, got in _flatten(out).items():
        want = entry[name]
        assert str(got.dtype) == want["dtype"] and list(got.shape) == want["shape"], name
        assert got.tolist() == want["values"], name
        if got.dtype == object:  # Python ints, as Keras returns
            assert all(type(v) is int for s in got.tolist() for v in s)


def _check_arrays(out, key, case, x_from=None):
    for name, got in _flatten(out).items():
        want = ARRAYS[f"{key}/{x_from if x_from and name.startswith('x') else case}/{name}"]
        assert got.dtype == want.dtype and got.shape == want.shape, name
        assert got.tobytes() == want.tobytes(), name  # bit for bit


def _run(fn, entry, **extra):
    if "error" in entry:
        with pytest.raises(Exception) as info:
            fn(**entry["kwargs"], **extra)
        assert type(info.value).__name__ == entry["error"], info.value  # Keras raised exactly this type
        return None
    return fn(**entry["kwargs"], **extra)


@pytest.mark.parametrize("case", _cases("imdb"))
def test_imdb_matches_keras(case):
    entry = EXPECTED["imdb"][case]
    out = _run(imdb.load_data, entry, path=os.path.join(FIX, "imdb.npz"))
    if out is not None:
        _check_sequences(out, entry)


@pytest.mark.parametrize("case", _cases("reuters"))
def test_reuters_matches_keras(case):
    entry = EXPECTED["reuters"][case]
    out = _run(reuters.load_data, entry, path=os.path.join(FIX, "reuters.npz"))
    if out is not None:
        _check_sequences(out, entry)


@pytest.mark.parametrize("key,module", [("boston_housing", boston_housing), ("california_housing", california_housing)])
def test_housing_matches_keras(key, module):
    for case in _cases(key):
        entry = EXPECTED[key][case]
        out = _run(module.load_data, entry, path=os.path.join(FIX, f"{key}.npz"))
        if out is not None:
            _check_arrays(out, key, case)


@pytest.fixture
def small_cifar(monkeypatch):
    monkeypatch.setattr(cifar100, "TRAIN_RECORDS", 10)
    monkeypatch.setattr(cifar100, "TEST_RECORDS", 4)


@pytest.mark.parametrize("case", _cases("cifar100"))
def test_cifar100_matches_keras(case, small_cifar):
    entry = EXPECTED["cifar100"][case]
    out = _run(cifar100.load_data, entry, path=FIX)
    if out is not None:
        _check_arrays(out, "cifar100", case, x_from="fine")


def test_cifar100_extracted_folder_and_keras_cache(small_cifar, tmp_path, isolated):
    with tarfile.open(os.path.join(FIX, cifar100.ARCHIVE)) as tar:
        blobs = {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    d = tmp_path / "data" / "cifar-100"
    (d / "cifar-100-binary").mkdir(parents=True)
    for name, data in blobs.items():
        (d / name).write_bytes(data)
    _check_arrays(cifar100.load_data("coarse", path=str(d)), "cifar100", "coarse", x_from="fine")
    # the archive in Keras's cache folder is found without any argument
    cache = isolated / ".keras" / "datasets"
    cache.mkdir(parents=True)
    shutil.copy(os.path.join(FIX, cifar100.ARCHIVE), cache)
    _check_arrays(cifar100.load_data(), "cifar100", "fine")


def test_word_index_and_label_names_match_keras():
    for module in (imdb, reuters):
        key = module.__name__.rsplit(".", 1)[1]
        got = module.get_word_index(os.path.join(FIX, f"{key}_word_index.json"))
        assert list(got.items()) == [tuple(p) for p in EXPECTED[key]["word_index"]]
    assert list(reuters.get_label_names()) == EXPECTED["reuters"]["label_names"]


def test_public_namespace():
    for name in ("boston_housing", "california_housing", "cifar100", "imdb", "reuters"):
        assert callable(getattr(tf.keras.datasets, name).load_data)
    assert tf.keras.datasets.imdb.get_word_index is imdb.get_word_index


def test_imdb_ignores_unknown_kwargs_with_a_warning():
    with pytest.warns(UserWarning, match="nb_words"):
        out = imdb.load_data(os.path.join(FIX, "imdb.npz"), nb_words=5)
    _check_sequences(out, EXPECTED["imdb"]["default"])


# ---- lookup order and the missing-file message -------------------------------------------------------------


def test_lookup_order(isolated, tmp_path, monkeypatch):
    src = os.path.join(FIX, "boston_housing.npz")
    keras_cache = isolated / ".keras" / "datasets"
    keras_cache.mkdir(parents=True)
    shutil.copy(src, keras_cache)
    _check_arrays(boston_housing.load_data(), "boston_housing", "default")   # Keras's cache, default name
    # $KERAS_HOME/datasets, ~/.tapeflow/datasets/<name> and $TAPEFLOW_DATA_DIR come first, in that reverse order
    for d in (tmp_path / "kh" / "datasets", isolated / ".tapeflow" / "datasets" / "boston-housing",
              tmp_path / "td" / "boston-housing"):
        d.mkdir(parents=True)
        np.savez(d / "boston_housing.npz", x=np.full((5, 13), len(str(d))), y=np.zeros(5))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "kh"))
    monkeypatch.setenv("TAPEFLOW_DATA_DIR", str(tmp_path / "td"))
    assert _files.find_file("boston-housing", "boston_housing.npz", "u") == str(tmp_path / "td" / "boston-housing"
                                                                                / "boston_housing.npz")
    dirs = _files.dataset_dirs("boston-housing")
    assert dirs == [str(tmp_path / "td" / "boston-housing"), str(tmp_path / "td"),
                    str(isolated / ".tapeflow" / "datasets" / "boston-housing"), str(tmp_path / "kh" / "datasets"),
                    str(keras_cache), "/usr/share/datasets/boston-housing"]
    # a relative name is looked up in every folder; an absolute path is used as it is
    (x, _), _ = boston_housing.load_data(str(tmp_path / "td" / "boston-housing" / "boston_housing.npz"))
    assert x.shape == (4, 13)


@pytest.mark.parametrize("call,fname,url", [
    (lambda: boston_housing.load_data(), "boston_housing.npz", boston_housing.URL),
    (lambda: california_housing.load_data(), "california_housing.npz", california_housing.URL),
    (lambda: imdb.load_data(), "imdb.npz", imdb.URL),
    (lambda: imdb.get_word_index(), "imdb_word_index.json", imdb.WORD_INDEX_URL),
    (lambda: reuters.load_data(), "reuters.npz", reuters.URL),
    (lambda: reuters.get_word_index(), "reuters_word_index.json", reuters.WORD_INDEX_URL),
])
def test_missing_file_message(call, fname, url, isolated, tmp_path, monkeypatch):
    monkeypatch.setenv("TAPEFLOW_DATA_DIR", str(tmp_path / "td"))
    with pytest.raises(FileNotFoundError) as info:
        call()
    msg = str(info.value)
    name = {"boston_housing": "boston-housing", "california_housing": "california-housing"}.get(
        fname.split(".")[0].replace("_word_index", ""), fname.split(".")[0].replace("_word_index", ""))
    for d in _files.dataset_dirs(name):
        assert os.path.join(d, fname) in msg
    assert url in msg and "TAPEFLOW_OFFLINE" in msg
    assert "put it at " + os.path.join(str(isolated), ".tapeflow", "datasets", name, fname) in msg


def test_cifar100_missing_message(isolated, small_cifar):
    keras_copy = isolated / ".keras" / "datasets" / "cifar-100-python-target"
    keras_copy.mkdir(parents=True)
    with pytest.raises(FileNotFoundError) as info:
        cifar100.load_data(download=False)
    msg = str(info.value)
    for d in _files.dataset_dirs("cifar-100"):
        assert os.path.join(d, cifar100.ARCHIVE) in msg and os.path.join(d, "cifar-100-binary") in msg
    assert cifar100.URL in msg and "cifar-100-python-target is not read" in msg
    assert os.path.join(str(isolated), ".tapeflow", "datasets", "cifar-100", cifar100.ARCHIVE) in msg


def test_download_failures_are_reported_and_nothing_is_saved(isolated, monkeypatch):
    monkeypatch.setenv("TAPEFLOW_OFFLINE", "0")

    def no_network(url, timeout):
        raise OSError("no route to host")
    monkeypatch.setattr(_files.urllib.request, "urlopen", no_network)
    with pytest.raises(FileNotFoundError, match="downloading .*reuters.npz failed .no route to host"):
        reuters.load_data()
    # a download whose hash does not match is refused and not written
    monkeypatch.setattr(_files.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(b"not the file"))
    with pytest.raises(DatasetFileError, match="hash check"):
        reuters.load_data()
    assert not (isolated / ".tapeflow").exists()


# ---- the restricted unpickler ---------------------------------------------------------------------------------


class _Exploit:
    def __init__(self, func, arg):
        self.func, self.arg = func, arg

    def __reduce__(self):
        return self.func, (self.arg,)


@pytest.mark.parametrize("func,global_name", [(os.system, "posix.system"), (eval, "builtins.eval")])
def test_pickle_with_other_globals_is_refused(tmp_path, func, global_name):
    marker = tmp_path / "ran"
    arg = f"touch {marker}" if func is os.system else f"open({str(marker)!r}, 'w')"
    x = np.empty(2, dtype=object)
    x[0], x[1] = [1, 2], _Exploit(func, arg)
    path = tmp_path / "reuters.npz"
    np.savez(path, x=x, y=np.array([0, 1]))
    with pytest.raises(DatasetFileError) as info:
        reuters.load_data(str(path))
    assert global_name in str(info.value) and str(path) in str(info.value)
    assert not marker.exists()
    with pytest.raises(pickle.UnpicklingError, match=global_name):
        safe_npz.RestrictedUnpickler(io.BytesIO(pickle.dumps(_Exploit(func, arg)))).load()
    assert not marker.exists()


def test_numpy_scalars_in_sequences_are_refused(tmp_path):
    x = np.empty(1, dtype=object)
    x[0] = [np.int64(4)]
    np.savez(tmp_path / "imdb.npz", x_train=x, y_train=np.array([1]), x_test=x, y_test=np.array([0]))
    with pytest.raises(DatasetFileError, match="multiarray.scalar"):
        imdb.load_data(str(tmp_path / "imdb.npz"))


def test_object_member_must_match_its_header(tmp_path):
    buf = io.BytesIO()
    np.save(buf, np.array([[1], [2, 3]], dtype=object))
    raw = buf.getvalue().replace(b"'shape': (2,)", b"'shape': (3,)")
    with zipfile.ZipFile(tmp_path / "reuters.npz", "w") as z:
        z.writestr("x.npy", raw)
        buf = io.BytesIO()
        np.save(buf, np.array([1, 2, 3]))
        z.writestr("y.npy", buf.getvalue())
    with pytest.raises(DatasetFileError, match=r"header declares an array of object \(3,\)"):
        reuters.load_data(str(tmp_path / "reuters.npz"))


# ---- corrupt or foreign files ---------------------------------------------------------------------------------


def test_corrupt_files_are_named(tmp_path, small_cifar):
    bad = tmp_path / "imdb.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(DatasetFileError, match="imdb.npz: cannot read the .npz"):
        imdb.load_data(str(bad))
    np.savez(tmp_path / "boston_housing.npz", x=np.zeros((4, 12)), y=np.zeros(4))
    with pytest.raises(DatasetFileError, match=r"expected x of shape \(n, 13\)"):
        boston_housing.load_data(str(tmp_path / "boston_housing.npz"))
    np.savez(tmp_path / "reuters.npz", data=np.zeros(3))
    with pytest.raises(DatasetFileError, match="no array named x, y"):
        reuters.load_data(str(tmp_path / "reuters.npz"))
    with pytest.raises(DatasetFileError, match="fine label 100"):
        cifar100.parse_records(bytes([1, 100]) + bytes(3072))
    with pytest.raises(DatasetFileError, match="coarse label 20"):
        cifar100.parse_records(bytes([20, 1]) + bytes(3072))
    with pytest.raises(DatasetFileError, match="expected 10 CIFAR-100 records, found 1"):
        d = tmp_path / "c"
        d.mkdir()
        for f in ("train.bin", "test.bin"):
            (d / f).write_bytes(bytes(cifar100.RECORD))
        cifar100.load_data(path=str(d))


def test_cifar100_pixel_layout():
    planes = np.arange(3072, dtype=np.int64) % 251
    x, coarse, fine = cifar100.parse_records(bytes([7, 63]) + planes.astype(np.uint8).tobytes())
    assert (coarse.tolist(), fine.tolist()) == ([7], [63])
    np.testing.assert_array_equal(x[0], planes.reshape(3, 32, 32).transpose(1, 2, 0))


def test_bad_arguments():
    with pytest.raises(TypeError, match="num_words"):
        imdb.load_data(os.path.join(FIX, "imdb.npz"), num_words=2.5)
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(os.path.join(FIX, "reuters.npz"), test_split=1.5)
