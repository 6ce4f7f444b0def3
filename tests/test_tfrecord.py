"""TFRecord files and tf.train.Example against TensorFlow 2's files (tests/fixtures/tf_io, written by
tests/fixtures/make_tf_io.py): CRC32C vectors, reading TF's plain/GZIP/ZLIB records, parsing TF's Examples,
byte-identical writing, corruption errors, and a TFRecordDataset -> parse -> batch -> Keras fit pipeline."""
import json
import os
import struct

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.io_records import crc32c, masked_crc32c
from tapeflow.train_example import BytesList, Example, Feature, Features, FloatList, Int64List

HERE = os.path.join(os.path.dirname(__file__), "fixtures", "tf_io")
EXP = json.load(open(os.path.join(HERE, "expected.json")))


def _read(name):
    with open(os.path.join(HERE, name), "rb") as f:
        return f.read()


def _example(d):
    feats = {}
    for k, (kind, vals) in d.items():
        if kind == "int64":
            feats[k] = Feature(int64_list=Int64List(value=vals))
        elif kind == "float":
            feats[k] = Feature(float_list=FloatList(value=vals))
        else:
            feats[k] = Feature(bytes_list=BytesList(value=[bytes.fromhex(v) for v in vals]))
    return Example(features=Features(feature=feats))


@pytest.mark.parametrize("data,crc", [(b"", 0), (b"123456789", 0xE3069283), (b"a", 0xC1D04330),
                                      (bytes(32), 0x8A9136AA), (b"\xff" * 32, 0x62A8AB43),
                                      (bytes(range(32)), 0x46DD794E)])
def test_crc32c_known_vectors(data, crc):  # RFC 3720 B.4 vectors and the check value
    assert crc32c(data) == crc
    assert crc32c(data[5:], crc32c(data[:5])) == crc  # streaming continues


def test_masked_crc():
    c = crc32c(b"hello")
    assert masked_crc32c(b"hello") == ((((c >> 15) | (c << 17)) & 0xFFFFFFFF) + 0xA282EAD8) & 0xFFFFFFFF


@pytest.mark.parametrize("name,comp", [("examples.tfrecord", None), ("examples.tfrecord.gz", "GZIP"),
                                       ("examples.tfrecord.zz", "ZLIB")])
def test_read_tf_records(name, comp):
    got = [r.numpy() for r in tf.data.TFRecordDataset(os.path.join(HERE, name), compression_type=comp)]
    assert [g.hex() for g in got] == EXP["serialized_hex"]


def test_read_raw_records_and_parallel_interleave():
    path = os.path.join(HERE, "raw.tfrecord")
    recs = [b"", b"a", b"hello world", bytes(range(256)) * 3]
    assert [r.numpy() for r in tf.data.TFRecordDataset(path)] == recs
    both = [r.numpy() for r in tf.data.TFRecordDataset([path, path], num_parallel_reads=2)]
    assert both == [r for r in recs for _ in range(2)]


def test_parse_tf_examples_gives_tf_values():
    ex = [Example.FromString(bytes.fromhex(h)) for h in EXP["serialized_hex"]]
    for e, want in zip(ex, EXP["examples"]):
        assert e == _example(want)
        for k, (kind, vals) in want.items():
            f = e.features.feature[k]
            assert f.WhichOneof("kind") == {"int64": "int64_list", "float": "float_list", "bytes": "bytes_list"}[kind]
            got = list(getattr(f, f.WhichOneof("kind")).value)
            assert got == ([bytes.fromhex(v) for v in vals] if kind == "bytes" else
                           [float(np.float32(v)) for v in vals] if kind == "float" else vals)


def test_serialization_matches_tf_deterministic_bytes():
    """TF's default SerializeToString orders map entries by hash (unspecified); with deterministic=True it sorts
    them by key, which is what tapeflow always writes: those bytes must match exactly."""
    for want, d in zip(EXP["serialized_deterministic_hex"], EXP["examples"]):
        assert _example(d).SerializeToString().hex() == want
    assert EXP["serialized_hex"] != EXP["serialized_deterministic_hex"]  # documents the order difference


def test_written_file_byte_identical_to_tf(tmp_path):
    path = tmp_path / "out.tfrecord"
    with tf.io.TFRecordWriter(str(path)) as w:
        for d in EXP["examples"]:
            w.write(_example(d).SerializeToString())
    assert path.read_bytes() == _read("examples_det.tfrecord")
    with tf.io.TFRecordWriter(str(tmp_path / "raw.tfrecord")) as w:
        for r in [b"", b"a", b"hello world", bytes(range(256)) * 3]:
            w.write(r)
    assert (tmp_path / "raw.tfrecord").read_bytes() == _read("raw.tfrecord")


@pytest.mark.parametrize("comp", ["GZIP", "ZLIB"])
def test_compressed_round_trip_decompresses_to_tf_bytes(tmp_path, comp):
    import gzip
    import zlib
    path = str(tmp_path / "c.tfrecord")
    with tf.io.TFRecordWriter(path, tf.io.TFRecordOptions(compression_type=comp)) as w:
        for h in EXP["serialized_hex"]:
            w.write(bytes.fromhex(h))
    raw = open(path, "rb").read()
    plain = gzip.decompress(raw) if comp == "GZIP" else zlib.decompress(raw)
    assert plain == _read("examples.tfrecord")
    assert [r.numpy().hex() for r in tf.data.TFRecordDataset(path, comp)] == EXP["serialized_hex"]


def test_parse_single_example_matches_tf():
    spec = {"id": tf.io.FixedLenFeature([], tf.int64), "score": tf.io.FixedLenFeature([], tf.float32),
            "vec": tf.io.FixedLenFeature([3], tf.float32), "name": tf.io.FixedLenFeature([], tf.string),
            "missing": tf.io.FixedLenFeature([2], tf.int64, default_value=[4, 5]),
            "ids": tf.io.VarLenFeature(tf.int64), "tags": tf.io.VarLenFeature(tf.string)}
    ds = tf.data.TFRecordDataset(os.path.join(HERE, "examples.tfrecord.gz"), compression_type="GZIP")
    got = []
    for r in ds.map(lambda r: tf.io.parse_single_example(r, spec)):
        assert r["vec"].numpy().dtype == np.float32 and r["id"].numpy().dtype == np.int64
        got.append({"id": int(r["id"]), "score": float(r["score"]), "vec": r["vec"].numpy().tolist(),
                    "name": r["name"].numpy().hex(), "missing": r["missing"].numpy().tolist(),
                    "ids": r["ids"].numpy().tolist(), "tags": [t.hex() for t in r["tags"].numpy().tolist()]})
    assert got == EXP["parsed"]
    batch = tf.io.parse_example([bytes.fromhex(h) for h in EXP["serialized_hex"]], spec)
    assert batch["vec"].shape.as_list() == [4, 3]
    assert batch["ids"].numpy().tolist()[:2] == [[1, -1, 2 ** 40, -(2 ** 62)], [0, 0, 0, 0]]


def test_parse_errors_name_the_feature():
    data = bytes.fromhex(EXP["serialized_hex"][0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="'vec'.*expected 2 values.*got 3"):
        tf.io.parse_single_example(data, {"vec": tf.io.FixedLenFeature([2], tf.float32)})
    with pytest.raises(tf.errors.InvalidArgumentError, match="'absent'.*required"):
        tf.io.parse_single_example(data, {"absent": tf.io.FixedLenFeature([], tf.int64)})
    with pytest.raises(tf.errors.InvalidArgumentError, match="'name'.*bytes_list.*int64"):
        tf.io.parse_single_example(data, {"name": tf.io.FixedLenFeature([], tf.int64)})


def test_unpacked_repeated_and_unknown_fields_parse():
    # Int64List unpacked: field 1 varint twice; FloatList unpacked: field 1 fixed32; plus an unknown field 7
    ints = b"\x08\x05\x08\x7f" + b"\x38\x01"
    floats = b"\x0d" + struct.pack("<f", 1.5) + b"\x0d" + struct.pack("<f", -2.0)
    assert Int64List.FromString(ints).value == [5, 127]
    assert FloatList.FromString(floats).value == [1.5, -2.0]
    packed = Int64List(value=[5, 127]).SerializeToString()
    assert packed == b"\x0a\x02\x05\x7f"


def test_corrupt_records_raise_data_loss(tmp_path):
    data = bytearray(_read("raw.tfrecord"))
    data[50] ^= 1  # inside record 2's data (records 0 and 1 take bytes 0-32)
    bad = tmp_path / "bad.tfrecord"
    bad.write_bytes(bytes(data))
    with pytest.raises(tf.errors.DataLossError, match=r"bad\.tfrecord.*record 2.*data CRC"):
        list(tf.data.TFRecordDataset(str(bad)))
    bad.write_bytes(_read("raw.tfrecord")[:-3])
    with pytest.raises(tf.errors.DataLossError, match="truncated record 3"):
        list(tf.data.TFRecordDataset(str(bad)))
    with pytest.raises(tf.errors.DataLossError, match="length CRC"):  # a GZIP file read as plain
        list(tf.data.TFRecordDataset(os.path.join(HERE, "examples.tfrecord.gz")))
    with pytest.raises(tf.errors.NotFoundError, match="nope.tfrecord"):
        list(tf.data.TFRecordDataset(str(tmp_path / "nope.tfrecord")))


def test_writer_leaves_no_partial_file_on_error(tmp_path):
    path = tmp_path / "x.tfrecord"
    with pytest.raises(RuntimeError):
        with tf.io.TFRecordWriter(str(path)) as w:
            w.write(b"abc")
            raise RuntimeError("boom")
    assert not path.exists() and os.listdir(tmp_path) == []


def test_pipeline_feeds_keras_fit(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 3)).astype(np.float32)
    y = (x.sum(1) > 0).astype(np.int64)
    path = str(tmp_path / "train.tfrecord")
    with tf.io.TFRecordWriter(path) as w:
        for xi, yi in zip(x, y):
            w.write(tf.train.Example(features=tf.train.Features(feature={
                "x": tf.train.Feature(float_list=tf.train.FloatList(value=xi)),
                "y": tf.train.Feature(int64_list=tf.train.Int64List(value=[yi]))})).SerializeToString())
    spec = {"x": tf.io.FixedLenFeature([3], tf.float32), "y": tf.io.FixedLenFeature([], tf.int64)}
    ds = (tf.data.TFRecordDataset(path).map(lambda r: tf.io.parse_single_example(r, spec))
          .map(lambda d: (d["x"], d["y"])).batch(2))
    xb, yb = next(iter(ds))
    np.testing.assert_array_equal(xb.numpy(), x[:2])
    np.testing.assert_array_equal(yb.numpy(), y[:2])
    tf.random.set_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    model.compile(optimizer=tf.keras.optimizers.SGD(0.1),
                  loss=tf.keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    hist = model.fit(ds, epochs=3, verbose=0)
    assert len(hist.history["loss"]) == 3 and hist.history["loss"][-1] < hist.history["loss"][0]
