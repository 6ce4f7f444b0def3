"""tf.data.TextLineDataset / FixedLengthRecordDataset; expected values printed by TensorFlow 2 on the same bytes."""
import gzip
import zlib

import pytest

import tapeflow as tf

DATA = b"first\r\nsecond\n\nfourth\r\n\r\nx\ry\nlast"
# TF: every "\r" is dropped (even inside a line), "\n" splits, a non-empty unterminated last line is kept
TF_LINES = [b"first", b"second", b"", b"fourth", b"", b"xy", b"last"]


def _write(tmp_path, name, data):
    p = tmp_path / name
    p.write_bytes(data)
    return str(p)


@pytest.mark.parametrize("comp,pack", [(None, lambda b: b), ("GZIP", gzip.compress), ("ZLIB", zlib.compress),
                                       ("", lambda b: b)])
def test_text_lines_match_tf(tmp_path, comp, pack):
    p = _write(tmp_path, "a.txt", pack(DATA))
    ds = tf.data.TextLineDataset(p, compression_type=comp)
    assert [x.numpy() for x in ds] == TF_LINES
    assert [x.numpy() for x in ds] == TF_LINES  # re-iterable
    assert ds.element_spec.shape == ()


@pytest.mark.parametrize("data,expected", [(b"", []), (b"\n", [b""]), (b"\r", []),
                                           (b"a\r\r\nb\n\n", [b"a", b"b", b""])])
def test_text_line_edge_cases_match_tf(tmp_path, data, expected):
    assert [x.numpy() for x in tf.data.TextLineDataset(_write(tmp_path, "e.txt", data))] == expected


def test_text_lines_small_buffer_and_parallel_interleave(tmp_path):
    p = _write(tmp_path, "a.txt", DATA)
    q = _write(tmp_path, "b.txt", b"a\nb\nc\n")
    assert [x.numpy() for x in tf.data.TextLineDataset(p, buffer_size=1)] == TF_LINES
    got = [x.numpy() for x in tf.data.TextLineDataset([q, p], num_parallel_reads=2)]
    assert got == [b"a", b"first", b"b", b"second", b"c", b"", b"fourth", b"", b"xy", b"last"]  # TF's order
    assert [x.numpy() for x in tf.data.TextLineDataset(tf.constant([q]))] == [b"a", b"b", b"c"]


def test_text_line_errors(tmp_path):
    with pytest.raises(tf.errors.NotFoundError, match="TextLineDataset.*nope"):
        list(tf.data.TextLineDataset(str(tmp_path / "nope")))
    with pytest.raises(ValueError, match="TextLineDataset.*compression_type.*'BZ2'"):
        tf.data.TextLineDataset("x", compression_type="BZ2")
    with pytest.raises(ValueError, match="TextLineDataset.*filenames"):
        tf.data.TextLineDataset([])
    p = _write(tmp_path, "a.txt", DATA)
    with pytest.raises(tf.errors.DataLossError, match="a.txt"):
        list(tf.data.TextLineDataset(p, compression_type="GZIP"))


TF_RECS = [b"\x00\x01\x02\x03", b"\x04\x05\x06\x07", b"\x08\t\n\x0b"]


@pytest.mark.parametrize("comp,pack", [(None, lambda b: b), ("GZIP", gzip.compress), ("ZLIB", zlib.compress)])
def test_fixed_length_header_footer_match_tf(tmp_path, comp, pack):
    p = _write(tmp_path, "f.bin", pack(b"HHH" + bytes(range(12)) + b"FF"))
    ds = tf.data.FixedLengthRecordDataset(p, 4, header_bytes=3, footer_bytes=2, compression_type=comp, buffer_size=1)
    assert [x.numpy() for x in ds] == TF_RECS
    both = tf.data.FixedLengthRecordDataset([p, p], 4, header_bytes=3, footer_bytes=2, compression_type=comp,
                                            num_parallel_reads=2)
    assert [x.numpy() for x in both] == [r for r in TF_RECS for _ in range(2)]


def test_fixed_length_bad_body_errors_as_tf(tmp_path):
    p = _write(tmp_path, "f.bin", b"HHH" + bytes(range(10)) + b"FF")
    with pytest.raises(tf.errors.InvalidArgumentError, match="body of 10 bytes.*record_bytes=4"):
        list(tf.data.FixedLengthRecordDataset(p, 4, header_bytes=3, footer_bytes=2))
    with pytest.raises(tf.errors.InvalidArgumentError, match="body of -3 bytes"):
        list(tf.data.FixedLengthRecordDataset(_write(tmp_path, "s.bin", b"HH"), 4, header_bytes=3, footer_bytes=2))
    g = _write(tmp_path, "f.gz", gzip.compress(bytes(range(10))))
    got = []
    with pytest.raises(tf.errors.DataLossError, match="body of 10 bytes"):  # TF: DataLossError when compressed
        for r in tf.data.FixedLengthRecordDataset(g, 4, compression_type="GZIP"):
            got.append(r.numpy())
    assert got == [bytes(range(4)), bytes(range(4, 8))]
    with pytest.raises(ValueError, match="record_bytes.*>= 1, got 0"):
        tf.data.FixedLengthRecordDataset(p, 0)
    with pytest.raises(ValueError, match="header_bytes.*>= 0, got -1"):
        tf.data.FixedLengthRecordDataset(p, 4, header_bytes=-1)


def test_text_line_pipeline_map_batch(tmp_path):
    p = _write(tmp_path, "n.txt", b"a\nbcd\nef\n")
    ds = tf.data.TextLineDataset(p).map(tf.strings.length)
    assert [b.numpy().tolist() for b in ds.batch(2)] == [[1, 3], [2]]
    assert [b.numpy().tolist() for b in tf.data.TextLineDataset(p).batch(2)] == [[b"a", b"bcd"], [b"ef"]]
