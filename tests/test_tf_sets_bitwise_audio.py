"""tf.sets, tf.bitwise and tf.audio against TensorFlow 2's records (fixtures/tf_lookup_sets_audio.json).

* sets: intersection / union / difference (both directions) of dense and sparse inputs of every set dtype,
  strings included: the SparseTensor's indices, values and dense_shape must equal TF's; size of sparse sets;
  TF's errors (rank < 2, mismatched shapes, dtypes, unordered or out-of-bounds indices).
* bitwise: the six ops for all eight integer dtypes at the edge values, shifts from -3 to past the width.
* audio: encode_wav bytes equal TF's byte for byte (rounding, clipping, NaN/inf); decode_wav of well-formed and
  malformed files (odd chunks, 18-byte fmt, 8/24/32-bit, float, extensible, truncated...) with every
  desired_channels / desired_samples combination recorded.
"""
import numpy as np
import pytest

import tapeflow as tf
from tests._tf_records import DATA, ERRORS, assert_same, dec, unb64

SETS, BITWISE, AUDIO = DATA["sets"], DATA["bitwise"], DATA["audio"]
OPS = {"intersection": tf.sets.intersection, "union": tf.sets.union, "difference": tf.sets.difference,
       "difference_ba": lambda a, b, **k: tf.sets.difference(a, b, False, **k)}


def _operand(rec):
    v = dec(rec)
    return v if isinstance(v, tf.SparseTensor) else tf.constant(v)


@pytest.mark.parametrize("i", range(len(SETS["ops"])))
def test_set_operations_match_tf(i):
    case = SETS["ops"][i]
    a, b = _operand(case["a"]), _operand(case["b"])
    fn = OPS[case["op"]]
    if "error" in case:
        with pytest.raises(ERRORS[case["error"]]):
            fn(a, b, **case["kwargs"])
        return
    assert_same(fn(a, b, **case["kwargs"]), case["out"], case["op"])


@pytest.mark.parametrize("i", range(len(SETS["size"])))
def test_set_size_matches_tf(i):
    case = SETS["size"][i]
    a = _operand(case["a"] if "a" in case else case["dense"])
    if "error" in case:
        with pytest.raises(ERRORS[case["error"]]):
            tf.sets.size(a, **case.get("kwargs", {}))
        return
    assert_same(tf.sets.size(a, **case["kwargs"]), case["out"], "size")


def test_sets_accept_python_lists_and_name_the_problem():
    r = tf.sets.intersection([[1, 2, 3]], [[3, 1]])
    assert r.values.numpy().tolist() == [1, 3] and r.values.dtype == tf.int32
    with pytest.raises(tf.errors.InvalidArgumentError, match="rank 1 < 2.*add a leading axis"):
        tf.sets.union([1, 2], [2])
    with pytest.raises(TypeError, match="not in the supported set dtypes"):
        tf.sets.union([[1.5]], [[2.5]])


@pytest.mark.parametrize("case", BITWISE["dtypes"], ids=lambda c: c["dtype"])
def test_bitwise_ops_match_tf(case):
    x, y, xs, shifts = (dec(case[k]) for k in ("x", "y", "xs", "shifts"))
    assert_same(tf.bitwise.bitwise_and(x, y), case["and"], "and")
    assert_same(tf.bitwise.bitwise_or(tf.constant(x), tf.constant(y)), case["or"], "or")
    assert_same(tf.bitwise.bitwise_xor(x, y), case["xor"], "xor")
    assert_same(tf.bitwise.invert(x), case["invert"], "invert")
    assert_same(tf.bitwise.left_shift(xs, shifts), case["left"], "left_shift")
    assert_same(tf.bitwise.right_shift(xs, shifts), case["right"], "right_shift")


@pytest.mark.parametrize("i", range(len(BITWISE["extra"])))
def test_bitwise_conversions_and_errors_match_tf(i):
    case = BITWISE["extra"][i]
    fn = getattr(tf.bitwise, case["fn"])
    args = [dec(case["x"])] + ([dec(case["y"])] if "y" in case else [])
    args = [tf.constant(a) if isinstance(a, np.ndarray) else a for a in args]
    if "error" in case:
        with pytest.raises(ERRORS[case["error"]]):
            fn(*args)
        return
    assert_same(fn(*args), case["out"], case["fn"])


@pytest.mark.parametrize("case", AUDIO["encode"], ids=lambda c: c["name"])
def test_encode_wav_bytes_match_tf(case):
    makers = {"err_1d": lambda: tf.audio.encode_wav(np.zeros((3,), np.float32), 8000),
              "err_rate_float": lambda: tf.audio.encode_wav(np.zeros((3, 1), np.float32), 8000.5),
              "err_rate_vector": lambda: tf.audio.encode_wav(np.zeros((3, 1), np.float32), [8000]),
              "err_rate_negative": lambda: tf.audio.encode_wav(np.zeros((3, 1), np.float32), -5),
              "err_rate_int64": lambda: tf.audio.encode_wav(np.zeros((3, 1), np.float32), tf.constant(8000, tf.int64)),
              "err_zero_channels": lambda: tf.audio.encode_wav(np.zeros((3, 0), np.float32), 8000)}
    if "error" in case:
        with pytest.raises((ERRORS[case["error"]], tf.errors.InvalidArgumentError)):
            makers[case["name"]]()
        return
    out = tf.audio.encode_wav(dec(case["audio"]), case["rate"])
    assert out.numpy() == unb64(case["out"])


@pytest.mark.parametrize("i", range(len(AUDIO["decode"])))
def test_decode_wav_matches_tf(i):
    case = AUDIO["decode"][i]
    data = unb64(AUDIO["files"][case.get("file", case["name"])])
    if case.get("as_list"):
        with pytest.raises(ERRORS[case["error"]]):
            tf.audio.decode_wav([data])
        return
    call = (lambda: tf.audio.decode_wav(tf.constant(data, dtype=tf.string), case["desired_channels"],
                                        case["desired_samples"]))
    if "error" in case:
        with pytest.raises(ERRORS[case["error"]]):
            call()
        return
    audio, rate = call()
    assert_same([audio, rate], case["out"], case["name"])


def test_decode_wav_errors_say_how_to_convert():
    data = unb64(AUDIO["files"]["err_float"])
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"IEEE float.*pcm_s16le"):
        tf.audio.decode_wav(data)
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"can only read 16-bit.*got 24-bit"):
        tf.audio.decode_wav(unb64(AUDIO["files"]["err_24bit"]))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"float32, got float64.*tf.cast"):
        tf.audio.encode_wav(tf.constant(np.zeros((2, 1))), 8000)


def test_round_trip_and_read_file(tmp_path):
    audio = np.random.RandomState(0).uniform(-1, 1, (50, 2)).astype(np.float32)
    path = str(tmp_path / "a.wav")
    tf.io.write_file(path, tf.audio.encode_wav(audio, 22050))
    back, rate = tf.audio.decode_wav(tf.io.read_file(path))
    assert int(rate) == 22050 and back.dtype == tf.float32
    np.testing.assert_allclose(back.numpy(), audio, atol=1 / 32768)
