"""CIFAR-10 binary-format loader on small generated files: layout, lookup order, corrupt-file errors."""
import io
import os
import tarfile

import numpy as np
import pytest

from tapeflow.keras.datasets import cifar10
from tapeflow.keras.datasets.idx import DatasetFileError


def _batch(n, seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n, dtype=np.uint8)
    img = rng.integers(0, 256, (n, 32, 32, 3), dtype=np.uint8)
    planes = img.transpose(0, 3, 1, 2).reshape(n, 3072)
    data = np.concatenate([labels[:, None], planes], axis=1).tobytes()
    return data, img, labels


@pytest.fixture
def small_records(monkeypatch):
    monkeypatch.setattr(cifar10, "RECORDS_PER_FILE", 4)
    monkeypatch.setenv("TAPEFLOW_OFFLINE", "1")
    monkeypatch.setenv("HOME", os.environ.get("TMPDIR", "/tmp") + "/nohome-cifar")
    monkeypatch.delenv("TAPEFLOW_DATA_DIR", raising=False)


def _files(seed=0):
    files = {}
    for i, name in enumerate(cifar10.TRAIN_FILES + (cifar10.TEST_FILE,)):
        files[name] = _batch(4, seed + i)
    return files


def _check(loaded, files):
    (x, y), (xt, yt) = loaded
    assert x.shape == (20, 32, 32, 3) and x.dtype == np.uint8
    assert y.shape == (20, 1) and y.dtype == np.uint8
    assert xt.shape == (4, 32, 32, 3) and yt.shape == (4, 1)
    np.testing.assert_array_equal(x[:4], files["data_batch_1.bin"][1])
    np.testing.assert_array_equal(y[16:, 0], files["data_batch_5.bin"][2])
    np.testing.assert_array_equal(xt, files["test_batch.bin"][1])


def test_parse_batch_layout():
    data, img, labels = _batch(3, 1)
    x, y = cifar10.parse_batch(data, expect_records=3)
    np.testing.assert_array_equal(x, img)
    np.testing.assert_array_equal(y, labels)
    # channel planes: the first 1024 pixel bytes are red
    assert x[0, 0, 1, 0] == data[1 + 1] and x[0, 0, 0, 2] == data[1 + 2048]


def test_load_from_folder(tmp_path, small_records):
    files = _files()
    d = tmp_path / "cifar-10-batches-bin"
    d.mkdir()
    for name, (data, _, _) in files.items():
        (d / name).write_bytes(data)
    _check(cifar10.load_data(path=str(tmp_path)), files)


def test_load_from_tar_via_env(tmp_path, small_records, monkeypatch):
    files = _files(5)
    with tarfile.open(tmp_path / cifar10.ARCHIVE, "w:gz") as tar:
        for name, (data, _, _) in files.items():
            info = tarfile.TarInfo("cifar-10-batches-bin/" + name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    monkeypatch.setenv("TAPEFLOW_DATA_DIR", str(tmp_path))
    _check(cifar10.load_data(), files)
    assert not (tmp_path / "cifar-10-batches-bin").exists()  # nothing extracted


def test_truncated_file_is_an_error(tmp_path, small_records):
    files = _files()
    for name, (data, _, _) in files.items():
        (tmp_path / name).write_bytes(data[:-10] if name == "data_batch_3.bin" else data)
    with pytest.raises(DatasetFileError, match="data_batch_3.bin.*whole number"):
        cifar10.load_data(path=str(tmp_path))


def test_wrong_record_count_and_bad_label(tmp_path, small_records):
    data, _, _ = _batch(3, 0)
    with pytest.raises(DatasetFileError, match="expected 4 CIFAR-10 records, found 3"):
        cifar10.parse_batch(data, "x.bin", expect_records=4)
    bad = bytearray(_batch(2, 0)[0])
    bad[3073] = 12
    with pytest.raises(DatasetFileError, match="record 1 has label 12"):
        cifar10.parse_batch(bytes(bad), "y.bin", expect_records=2)


def test_corrupt_archive_is_an_error(tmp_path, small_records):
    (tmp_path / cifar10.ARCHIVE).write_bytes(b"not a tar file at all")
    with pytest.raises(DatasetFileError, match="cannot read the tar archive"):
        cifar10.load_data(path=str(tmp_path))


def test_missing_offline_says_where_and_how(tmp_path, small_records):
    with pytest.raises(FileNotFoundError) as e:
        cifar10.load_data(path=str(tmp_path))
    msg = str(e.value)
    assert str(tmp_path) in msg and "cifar-10-binary.tar.gz" in msg and "https://" in msg
