"""Dataset loaders: strict IDX parsing, lookup order, clear errors; the real Fashion-MNIST."""
import gzip
import os

import numpy as np
import pytest

from tapeflow.keras.datasets import fashion_mnist, idx
from tapeflow.keras.datasets._loader import load_idx_set


def _idx_bytes(arr: np.ndarray) -> bytes:
    code = {np.dtype(np.uint8): 0x08}[arr.dtype]
    head = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    return head + arr.tobytes()


def test_parse_idx_roundtrip():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(idx.parse_idx(_idx_bytes(a)), a)


@pytest.mark.parametrize("mutate,msg", [
    (lambda b: b[:-1], "truncated or corrupt"),
    (lambda b: b + b"\x00", "truncated or corrupt"),
    (lambda b: b"\x01" + b[1:], "bad magic"),
    (lambda b: b[:2] + b"\x42" + b[3:], "unknown IDX element type"),
    (lambda b: b[:5], "truncated IDX header"),
])
def test_parse_idx_rejects_corrupt(mutate, msg):
    data = mutate(_idx_bytes(np.zeros((2, 3), np.uint8)))
    with pytest.raises(idx.DatasetFileError, match=msg):
        idx.parse_idx(data, "f.idx")


def test_loader_lookup_order_and_checksum(tmp_path, monkeypatch):
    imgs = np.random.default_rng(0).integers(0, 255, (5, 28, 28), dtype=np.uint8)
    labs = np.arange(5, dtype=np.uint8)
    d = tmp_path / "mine"
    d.mkdir()
    with gzip.open(d / "imgs.gz", "wb") as f:
        f.write(_idx_bytes(imgs))
    (d / "labs").write_bytes(_idx_bytes(labs))  # an uncompressed copy is found too
    files = {"x": ("imgs.gz", idx.sha256(_idx_bytes(imgs)), 3), "y": ("labs.gz", None, 1)}
    monkeypatch.setenv("HOME", str(tmp_path))
    out = load_idx_set("toy", files, str(d), (), "https://invalid/", download=False)
    np.testing.assert_array_equal(out["x"], imgs)
    np.testing.assert_array_equal(out["y"], labs)
    bad = {"x": ("imgs.gz", "0" * 64, 3)}
    with pytest.raises(idx.DatasetFileError, match="checksum mismatch"):
        load_idx_set("toy", bad, str(d), (), "https://invalid/", download=False)
    monkeypatch.setenv("TAPEFLOW_DATA_DIR", str(d))
    out = load_idx_set("toy", files, None, (), "https://invalid/", download=False)
    assert out["x"].shape == (5, 28, 28)


def test_missing_file_error_says_where_and_how(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("TAPEFLOW_DATA_DIR", raising=False)
    with pytest.raises(FileNotFoundError) as e:
        load_idx_set("toy", {"x": ("nothing.gz", None, 1)}, str(tmp_path), (), "https://mirror/", download=False)
    assert "nothing.gz" in str(e.value) and str(tmp_path) in str(e.value) and "apt-get" in str(e.value)


def test_truncated_gzip_names_file(tmp_path):
    p = tmp_path / "x.gz"
    with gzip.open(p, "wb") as f:
        f.write(b"\x00" * 1000)
    p.write_bytes(p.read_bytes()[:20])
    with pytest.raises(idx.DatasetFileError, match=str(p)):
        idx.read_bytes(str(p))


def test_atomic_write_replaces(tmp_path):
    p = tmp_path / "a.bin"
    idx.atomic_write(str(p), b"one")
    idx.atomic_write(str(p), b"two")
    assert p.read_bytes() == b"two" and os.listdir(tmp_path) == ["a.bin"]


def test_real_fashion_mnist(require_dataset):
    (x, y), (xt, yt) = fashion_mnist.load_data()
    assert x.shape == (60000, 28, 28) and x.dtype == np.uint8
    assert y.shape == (60000,) and set(np.unique(y)) == set(range(10))
    assert xt.shape == (10000, 28, 28) and yt.shape == (10000,)
