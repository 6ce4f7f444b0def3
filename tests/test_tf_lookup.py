"""tf.lookup against TensorFlow 2's records (fixtures/tf_lookup_sets_audio.json): StaticHashTable and
StaticVocabularyTable (Fingerprint64 OOV buckets for strings and integers), KeyValueTensorInitializer,
TextFileInitializer (whole lines, line numbers, columns, offsets, vocab_size, the file errors), MutableHashTable
(scalar and vector values, dynamic defaults) and DenseHashTable, whose bucket arrays must equal TF's exports
exactly (integer, string and vector keys, removal, growth). Static and mutable exports are compared sorted by key
(TF's order is its C++ hash map's)."""
import base64
import os

import numpy as np
import pytest

import tapeflow as tf
from tests._tf_records import DATA, ERRORS, assert_same, dec

LOOKUP = DATA["lookup"]
W, L = tf.lookup.TextFileIndex.WHOLE_LINE, tf.lookup.TextFileIndex.LINE_NUMBER


def expect_error(rec, fn, deviation=None):
    want = deviation or ERRORS[rec["error"]]
    with pytest.raises(want):
        fn()


def sorted_export(table):
    k, v = (x.numpy() for x in table.export())
    order = sorted(range(len(k)), key=lambda i: k[i].encode() if isinstance(k[i], str) else k[i])
    return {"keys": k[order], "values": v[order]}


def test_namespace_matches_tf():
    assert {"KeyValueTensorInitializer", "StaticHashTable", "StaticVocabularyTable", "TextFileIndex",
            "TextFileInitializer", "experimental"} <= set(dir(tf.lookup))
    assert tf.lookup.experimental.MutableHashTable and tf.lookup.experimental.DenseHashTable


@pytest.mark.parametrize("case", LOOKUP["kv"], ids=lambda c: c["name"])
def test_static_hash_table(case):
    def build():
        init = tf.lookup.KeyValueTensorInitializer(case["keys"], case["values"], key_dtype=case["key_dtype"],
                                                   value_dtype=case["value_dtype"])
        return tf.lookup.StaticHashTable(init, case["default"])
    if case["name"] == "wrong_key_dtype":
        return expect_error(case, lambda: build().lookup(tf.constant([1, 3], tf.int64)))
    if case["name"] == "sparse_keys":
        return assert_same(build().lookup(dec(case["sparse_query"])), case["out"], "sparse lookup")
    if "error" in case:
        pair = case["name"].startswith("bad_pair")     # TF: NotFoundError (no kernel); tapeflow: TypeError
        return expect_error(case, build, TypeError if pair else None)
    table = build()
    out = case["out"]
    q = tf.constant(case["query"], dtype=table.key_dtype)
    assert_same(table.lookup(q), out["lookup"], "lookup")
    assert_same(table[q], out["getitem"], "getitem")
    assert_same(table.size(), out["size"], "size")
    assert_same(table.default_value, out["default_value"], "default_value")
    exp = sorted_export(table)
    assert_same(exp["keys"], out["export"]["keys"], "export keys")
    assert_same(exp["values"], out["export"]["values"], "export values")
    assert table.key_dtype == tf.as_dtype(out["key_dtype"]) and table.value_dtype == tf.as_dtype(out["value_dtype"])


@pytest.mark.parametrize("case", LOOKUP["vocab"], ids=lambda c: c["name"])
def test_static_vocabulary_table(case):
    def build():
        init = None
        if case["keys"] is not None:
            vd = "int32" if case["name"] == "bad_value_dtype" else "int64"
            kd = "int32" if case["name"] == "bad_key_dtype" else ("int64" if isinstance(case["keys"][0], int) else None)
            init = tf.lookup.KeyValueTensorInitializer(case["keys"], case["values"], key_dtype=kd, value_dtype=vd)
        table = tf.lookup.StaticVocabularyTable(init, case["num_oov_buckets"],
                                                lookup_key_dtype=case["lookup_key_dtype"])
        q = tf.constant(case["query"], dtype=case["query_dtype"]) if case["query_dtype"] else \
            tf.constant(case["query"])
        return table, table.lookup(q)
    if "error" in case:
        return expect_error(case, build)
    table, ids = build()
    assert_same(ids, case["out"]["lookup"], "lookup")
    assert_same(table.size(), case["out"]["size"], "size")
    assert table.value_dtype == tf.int64 and table.key_dtype == tf.as_dtype(case["out"]["key_dtype"])


def _write(tmp_path, name, content_b64):
    path = os.path.join(tmp_path, name + ".txt")
    with open(path, "wb") as f:
        f.write(base64.b64decode(content_b64))
    return path


@pytest.mark.parametrize("case", [c for c in LOOKUP["text"] if c["name"] != "vocab_table_file"],
                         ids=lambda c: c["name"])
def test_text_file_initializer(case, tmp_path):
    path = os.path.join(tmp_path, "missing.txt") if case.get("missing") else _write(tmp_path, case["name"],
                                                                                      case["content"])
    vd = case["value_dtype"]
    default = case["default"] if vd == "string" else float(case["default"]) if vd.startswith("float") else \
        int(case["default"])

    def build():
        init = tf.lookup.TextFileInitializer(path, case["key_dtype"], case["key_index"], vd, case["value_index"],
                                             **case["kwargs"])
        return tf.lookup.StaticHashTable(init, tf.constant(default, dtype=vd))
    if "error" in case:
        return expect_error(case, build)
    table = build()
    exp = sorted_export(table)
    assert_same(exp["keys"], case["out"]["export"]["keys"], "export keys")
    assert_same(exp["values"], case["out"]["export"]["values"], "export values")
    assert_same(table.size(), case["out"]["size"], "size")


def test_vocabulary_table_from_file(tmp_path):
    case = next(c for c in LOOKUP["text"] if c["name"] == "vocab_table_file")
    path = _write(tmp_path, "vocab", case["content"])
    table = tf.lookup.StaticVocabularyTable(tf.lookup.TextFileInitializer(path, tf.string, W, tf.int64, L),
                                            case["vocab_oov"])
    assert_same(table.lookup(tf.constant(case["query"])), case["out"]["lookup"], "lookup")
    assert_same(table.size(), case["out"]["size"], "size")


def _replay(table, log, ops):
    for rec in log:
        fn = ops[rec["op"]]
        if "error" in rec:
            expect_error(rec, lambda: fn(table))
            continue
        got = fn(table)
        if rec["out"] is None:
            assert got is None, rec["op"]
        elif isinstance(rec["out"], dict) and "keys" in rec["out"]:
            assert_same(got["keys"], rec["out"]["keys"], rec["op"])
            assert_same(got["values"], rec["out"]["values"], rec["op"])
        else:
            assert_same(got, rec["out"], rec["op"])


def test_mutable_hash_table_scalar_values():
    ops = {"insert a b c": lambda t: t.insert(["a", "b", "c"], tf.constant([1, 2, 3], tf.int64)),
           "insert 2-D": lambda t: t.insert(tf.constant([["a"], ["d"]]), tf.constant([[10], [4]], tf.int64)),
           "lookup": lambda t: t.lookup(["a", "b", "z"]), "size": lambda t: t.size(),
           "dynamic default full": lambda t: t.lookup(["a", "z"], dynamic_default_values=tf.constant([7, 8],
                                                                                                    tf.int64)),
           "dynamic default scalar": lambda t: t.lookup(["a", "z"], dynamic_default_values=tf.constant(9, tf.int64)),
           "remove": lambda t: t.remove(tf.constant(["a", "q"])), "lookup 2-D": lambda t: t.lookup([["a", "b"]]),
           "insert repeated": lambda t: t.insert(["a", "a"], tf.constant([1, 2], tf.int64)),
           "lookup after repeat": lambda t: t.lookup(["a"]), "export": sorted_export,
           "err insert shape": lambda t: t.insert(["x"], tf.constant([1, 2], tf.int64)),
           "err insert dtype": lambda t: t.insert([1], tf.constant([1], tf.int64)),
           "err insert value dtype": lambda t: t.insert(["x"], [1.5])}
    _replay(tf.lookup.experimental.MutableHashTable(tf.string, tf.int64, -1), LOOKUP["mutable"]["scalar"], ops)


def test_mutable_hash_table_vector_values_and_dtypes():
    ops = {"insert": lambda t: t.insert([1, 2], [[1, 2], [3, 4]]), "lookup": lambda t: t.lookup([[1, 5]]),
           "dynamic default": lambda t: t.lookup([1, 5], dynamic_default_values=[[9.0, 9.0], [8.0, 8.0]]),
           "export": sorted_export, "size": lambda t: t.size(), "err shape": lambda t: t.insert([3], [1.0])}
    _replay(tf.lookup.experimental.MutableHashTable(tf.int64, tf.float32, [0.0, 0.0]), LOOKUP["mutable"]["vector"],
            ops)
    makers = {"int32_string": (tf.int32, tf.string, "?"), "bool_key": (tf.bool, tf.int32, -1),
              "float_key": (tf.float32, tf.int32, -1), "string_string": (tf.string, tf.string, "")}
    for name, rec in LOOKUP["mutable"]["construct"].items():
        assert rec["error"] == "NotFoundError"          # no kernel in TF; tapeflow: TypeError naming the pairs
        with pytest.raises(TypeError, match="supported key->value dtypes"):
            tf.lookup.experimental.MutableHashTable(*makers[name])


DENSE_MAKERS = {
    "int64": lambda D: D(tf.int64, tf.int64, -1, empty_key=-1, deleted_key=-2, initial_num_buckets=8),
    "negative_int32": lambda D: D(tf.int32, tf.float32, 0.5, empty_key=0, deleted_key=-1, initial_num_buckets=4),
    "string": lambda D: D(tf.string, tf.int64, -1, empty_key="", deleted_key="$", initial_num_buckets=16),
    "string_vector_values": lambda D: D(tf.string, tf.float32, [0.0, 1.0], empty_key="", deleted_key="$",
                                        initial_num_buckets=4),
    "vector_keys": lambda D: D(tf.int64, tf.float32, [0.0, 0.0, 0.0], empty_key=[-1, -1], deleted_key=[-2, -2],
                               initial_num_buckets=4)}
WORDS = ["", "a", "ab", "lake", "palmer", "king", "crimson", "tarkus", "black", "moon", "é", "日本語", "emoji 🙂",
         "x" * 16, "y" * 17, "z" * 33, "w" * 64, "v" * 65, "long " * 30, "\t tab", "UPPER", "12345"]
DENSE_OPS = {
    "int64": {"insert": lambda t: t.insert([1, 2, 3], [10, 20, 30]), "lookup": lambda t: t.lookup([1, 4, 3]),
              "export": lambda t: list(t.export()), "remove": lambda t: t.remove(tf.constant([2, 9], tf.int64)),
              "size": lambda t: t.size(), "insert 9 10 17": lambda t: t.insert([9, 10, 17], [90, 100, 170]),
              "insert many": lambda t: t.insert(list(range(20, 40)), list(range(20))),
              "lookup 2-D": lambda t: t.lookup([[1], [25]]), "err lookup empty": lambda t: t.lookup([-1]),
              "err lookup deleted": lambda t: t.lookup([-2]), "err insert empty": lambda t: t.insert([-1], [5]),
              "err remove deleted": lambda t: t.remove(tf.constant([-2], tf.int64)),
              "err key shape": lambda t: t.lookup([[1, 2], [3, 5]]), "scalar insert": lambda t: t.insert(5, 50),
              "scalar lookup": lambda t: t.lookup(5)},
    "negative_int32": {"insert": lambda t: t.insert(tf.constant([-5, 7, -100], tf.int32), [1.0, 2.0, 3.0]),
                       "export": lambda t: list(t.export()),
                       "lookup": lambda t: t.lookup(tf.constant([-5, 8], tf.int32))},
    "string": {"insert": lambda t: t.insert(WORDS[1:12], tf.constant(list(range(11)), tf.int64)),
               "export": lambda t: list(t.export()), "remove": lambda t: t.remove(tf.constant(["lake", "nothing"])),
               "lookup": lambda t: t.lookup(["lake", "king", "日本語", "nothing"]),
               "insert more": lambda t: t.insert(WORDS[12:] + ["lake"], tf.constant(list(range(100, 111)), tf.int64)),
               "size": lambda t: t.size()},
    "string_vector_values": {"insert": lambda t: t.insert(["a"], [[1, 2]]), "lookup": lambda t: t.lookup(["a", "b"]),
                             "export": lambda t: list(t.export()),
                             "err remove dtype": lambda t: t.remove(tf.constant([1]))},
    "vector_keys": {"insert": lambda t: (t.insert([[1, 2], [3, 4]], [[1, 2, 3], [4, 5, 6]])
                                         if int(t.size()) == 0 else t.insert([[5, 6], [-3, 7]],
                                                                             [[7, 8, 9], [1, 1, 1]])),
                    "lookup": lambda t: t.lookup([[1, 2], [2, 1]]), "export": lambda t: list(t.export()),
                    "err key shape": lambda t: t.lookup([1, 2])}}


@pytest.mark.parametrize("name", list(DENSE_MAKERS))
def test_dense_hash_table_buckets_match_tf(name):
    rec = next(r for r in LOOKUP["dense"]["tables"] if r["name"] == name)
    _replay(DENSE_MAKERS[name](tf.lookup.experimental.DenseHashTable), rec["log"], DENSE_OPS[name])


def test_dense_hash_table_construction():
    D = tf.lookup.experimental.DenseHashTable
    rec = LOOKUP["dense"]["construct"]
    expect_error(rec["equal_markers"], lambda: D(tf.int64, tf.int64, -1, empty_key=-1, deleted_key=-1))
    expect_error(rec["buckets_6"], lambda: D(tf.int64, tf.int64, -1, empty_key=-1, deleted_key=-2,
                                             initial_num_buckets=6))
    assert list(D(tf.int64, tf.int64, -1, empty_key=-1, deleted_key=-2).export()[0].shape) == \
        rec["default_buckets"]["out"]
    with pytest.raises(TypeError, match="int32->int32"):      # TF: NotFoundError (no int32 -> int64 kernel)
        D(tf.int32, tf.int64, -1, empty_key=0, deleted_key=-1)


def test_errors_name_the_argument_and_the_fix():
    init = tf.lookup.KeyValueTensorInitializer(["a"], [1])
    table = tf.lookup.StaticHashTable(init, -1)
    with pytest.raises(TypeError, match=r"keys: expected tf.string values, got dtype int"):
        table.lookup(tf.constant([1]))
    t64 = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer([1], [1], key_dtype=tf.int64), -1)
    with pytest.raises(TypeError, match=r"expected dtype int64, got int32; convert it with tf.cast"):
        t64.lookup(tf.constant([1]))
    assert t64.lookup([1, 2]).numpy().tolist() == [1, -1]          # Python values are converted
    with pytest.raises(ValueError, match="default_value must be a scalar"):
        tf.lookup.StaticHashTable(init, [-1, 2])


def test_string_keys_as_bytes_or_str_and_numpy_inputs():
    table = tf.lookup.StaticHashTable(tf.lookup.KeyValueTensorInitializer([b"caf\xc3\xa9", "x"], [1, 2]), 0)
    assert table.lookup(np.array(["café", "x", "y"], dtype=object)).numpy().tolist() == [1, 2, 0]
    assert table.lookup(tf.constant([b"caf\xc3\xa9"])).numpy().tolist() == [1]
    assert table.export()[0].numpy().tolist() == ["café", "x"]
