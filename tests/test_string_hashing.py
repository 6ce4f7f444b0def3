"""tapeflow.backend.hashing against TensorFlow's own values (tests/fixtures/make_tf_string_hashes.py wrote them):
FarmHash Fingerprint64 (tf.fingerprint, to_hash_bucket_fast) and SipHash-2-4 (to_hash_bucket_strong)."""
import json
import os

from tapeflow.backend.hashing import fingerprint64, siphash24

with open(os.path.join(os.path.dirname(__file__), "fixtures", "tf_string_hashes.json")) as f:
    REF = json.load(f)


def test_fingerprint64_equals_tensorflow_for_every_length_branch():
    lengths = {len(s) for s in REF["strings"]}
    assert {0, 3, 7, 16, 17, 32, 33, 64, 65, 128, 129, 513} <= lengths
    for s, want, bucket in zip(REF["strings"], REF["fingerprint64"], REF["to_hash_bucket_fast_1000"]):
        got = fingerprint64(s.encode())
        assert got == int(want), f"length {len(s)}: {got} != {want}"
        assert got % 1000 == bucket


def test_siphash24_equals_tensorflow():
    k0, k1 = REF["to_hash_bucket_strong_key"]
    for s, want in zip(REF["strings"], REF["to_hash_bucket_strong_2e62"]):
        assert siphash24(k0, k1, s.encode()) % 2 ** 62 == want, f"length {len(s)}"
