"""tf.strings and tf.fingerprint against TensorFlow's values (printed by TF 2.x, or from the hash fixture)."""
import json
import os

import numpy as np
import pytest

import tapeflow as tf

with open(os.path.join(os.path.dirname(__file__), "fixtures", "tf_string_hashes.json")) as f:
    REF = json.load(f)


def test_hash_buckets_and_fingerprint_equal_tensorflow():
    strings = np.array(REF["strings"], dtype=object)
    assert tf.strings.to_hash_bucket_fast(strings, 1000).numpy().tolist() == REF["to_hash_bucket_fast_1000"]
    strong = tf.strings.to_hash_bucket_strong(strings, 2 ** 62, key=REF["to_hash_bucket_strong_key"])
    assert strong.numpy().tolist() == REF["to_hash_bucket_strong_2e62"]
    prints = tf.fingerprint(strings).numpy()
    assert prints.shape == (len(strings), 8) and prints.dtype == np.uint8
    assert [int.from_bytes(bytes(r), "little") for r in prints] == [int(v) for v in REF["fingerprint64"]]


def test_text_ops_as_tensorflow():
    assert tf.strings.as_string([3.5, -2.25, 1e-8]).numpy().tolist() == ["3.500000", "-2.250000", "0.000000"]
    assert tf.strings.as_string(np.array([3, -7])).numpy().tolist() == ["3", "-7"]
    assert tf.strings.as_string([3.14159], precision=2).numpy().tolist() == ["3.14"]
    assert tf.strings.length(["héllo"]).numpy().tolist() == [6]
    assert tf.strings.length(["héllo"], unit="UTF8_CHAR").numpy().tolist() == [5]
    assert tf.strings.join([["a", "b"], ["c", "d"]], separator="-").numpy().tolist() == ["a-c", "b-d"]
    assert tf.strings.join([["a", "b"], "x"]).numpy().tolist() == ["ax", "bx"]
    assert tf.strings.strip(["  a b \n"]).numpy().tolist() == ["a b"]
    assert tf.strings.regex_replace(["a1b22"], r"\d+", "#", replace_global=False).numpy().tolist() == ["a#b22"]
    assert tf.strings.lower(["ÀB"]).numpy().tolist() == ["Àb"]                    # ASCII only by default
    assert tf.strings.lower(["ÀB"], encoding="utf-8").numpy().tolist() == ["àb"]
    with pytest.raises(TypeError, match="expected strings"):
        tf.strings.lower(np.array([1, 2]))
