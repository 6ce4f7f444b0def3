"""``tf.keras.preprocessing`` (image / sequence / text and the dataset builders) against what TF 2 / Keras 3.15.1
return, recorded by tests/fixtures/make_keras_preprocessing.py in keras_preprocessing.json."""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras.preprocessing import image, sequence, text

FIXTURE = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "keras_preprocessing.json")
with open(FIXTURE) as _f:
    REF = json.load(_f)
TOK = REF["tokenizers"]
MODES = ("binary", "count", "tfidf", "freq")
UNSEEN = ["a new cat", "mat homework zebra", "", "THE dog, the CAT."]
SEQS = [[1, 2, 3], [4, 1, 1, 9, 99], [], [0, 2], [5, 6, 7, 8, 9, 10, 11, 12, 13, 14]]


# -- the namespace ------------------------------------------------------------------------------------------
def test_the_namespace_resolves_from_tf_keras():
    p = tf.keras.preprocessing
    assert p.text.Tokenizer is text.Tokenizer and p.text.tokenizer_from_json is text.tokenizer_from_json
    assert p.sequence.pad_sequences is tf.keras.utils.pad_sequences
    for name in ("load_img", "img_to_array", "array_to_img", "save_img"):
        assert getattr(p.image, name) is getattr(tf.keras.utils, name)
    for name in ("image_dataset_from_directory", "text_dataset_from_directory", "timeseries_dataset_from_array"):
        assert getattr(p, name) is getattr(tf.keras.utils, name)
    assert callable(p.image.smart_resize)


def test_the_public_names_are_those_of_tf_keras():
    assert sorted(n for n in dir(tf.keras.preprocessing) if not n.startswith("_")) == REF["namespace"]["preprocessing"]
    assert set(REF["namespace"]["text"]) <= set(dir(text))
    assert "preprocessing" in dir(tf.keras)


# -- Tokenizer ----------------------------------------------------------------------------------------------
def _state(tok) -> dict:
    return dict(word_index=[list(kv) for kv in tok.word_index.items()],
                index_word=[list(kv) for kv in tok.index_word.items()],
                word_counts=[list(kv) for kv in tok.word_counts.items()], word_docs=dict(tok.word_docs),
                index_docs=[list(kv) for kv in sorted(tok.index_docs.items())], document_count=tok.document_count)


def _check_outputs(tok, texts, seqs, expected):
    assert tok.texts_to_sequences(texts) == expected["sequences"]
    assert list(tok.texts_to_sequences_generator(texts)) == expected["generator"]
    assert tok.sequences_to_texts(seqs) == expected["texts"]
    assert list(tok.sequences_to_texts_generator(seqs)) == expected["texts_generator"]
    for mode in MODES:
        for got, key in ((tok.texts_to_matrix(texts, mode=mode), "texts_matrix_"),
                         (tok.sequences_to_matrix(seqs, mode=mode), "sequences_matrix_")):
            assert got.dtype == np.float64
            np.testing.assert_allclose(got, np.array(expected[key + mode]), rtol=1e-12, atol=0, err_msg=key + mode)


@pytest.mark.parametrize("name", sorted(k for k in TOK if "kwargs" in TOK[k]))
def test_tokenizer_fit_and_convert_equal_keras(name):
    case = TOK[name]
    tok = text.Tokenizer(**case["kwargs"])
    tok.fit_on_texts(case["fit_texts"])
    assert _state(tok) == case["state"]          # word_index ties keep first-seen order; oov token at 1
    _check_outputs(tok, case["fit_texts"] + UNSEEN, SEQS, case["outputs"])


@pytest.mark.parametrize("name", sorted(k for k in TOK if "kwargs" in TOK[k]))
def test_tokenizer_json_matches_keras_and_round_trips(name):
    case = TOK[name]
    tok = text.Tokenizer(**case["kwargs"])
    tok.fit_on_texts(case["fit_texts"])
    ours, theirs = json.loads(tok.to_json()), json.loads(case["to_json"])
    assert ours["class_name"] == theirs["class_name"] == "Tokenizer"
    assert list(ours["config"]) == list(theirs["config"])        # same keys, same order
    for key, value in case["config"].items():
        if key in ("word_counts", "word_index", "index_word"):  # ordered: compare the items in order
            assert list(json.loads(ours["config"][key]).items()) == list(json.loads(value).items()), key
        elif key in ("word_docs", "index_docs"):               # filled from a set: order differs per process
            assert json.loads(ours["config"][key]) == json.loads(value), key
        else:
            assert ours["config"][key] == value, key
    for source in (tok.to_json(), case["to_json"]):           # ours and Keras's JSON both load here
        restored = text.tokenizer_from_json(source)
        assert _state(restored) == case["restored_state"]
        _check_outputs(restored, UNSEEN, SEQS, case["restored_outputs"])
    assert json.loads(tok.to_json(indent=2)) == ours


def test_tokenizer_token_lists_then_fit_on_sequences():
    case = TOK["token_lists_then_sequences"]
    tok = text.Tokenizer(oov_token="?")
    tok.fit_on_texts([["Red", "green", "red"], ["blue", "GREEN"], "red blue blue"])
    tok.fit_on_sequences([[1, 2, 2], [3], [2, 7]])
    assert _state(tok) == case["state"]
    _check_outputs(tok, [["red", "pink"], "green"], SEQS, case["outputs"])


def test_tokenizer_fit_on_sequences_only():
    case = TOK["sequences_only"]
    tok = text.Tokenizer(num_words=6)
    tok.fit_on_sequences([[1, 2, 2], [3, 4], [2, 5, 5, 5]])
    assert _state(tok) == case["state"]
    for mode in MODES:
        np.testing.assert_allclose(tok.sequences_to_matrix([[1, 2, 2, 5, 9], [], [4]], mode=mode),
                                   case["matrices"][mode], rtol=1e-12, atol=0)


def test_tokenizer_restored_from_json_can_fit_further():
    tok = text.Tokenizer()
    tok.fit_on_texts(["a b"])
    again = text.tokenizer_from_json(tok.to_json())
    again.fit_on_texts(["c c a"])
    again.fit_on_sequences([[1]])
    assert again.word_index == {"a": 1, "c": 2, "b": 3} and again.document_count == 3


def test_tokenizer_bad_input_names_the_argument():
    with pytest.raises(TypeError, match="bad_arg"):
        text.Tokenizer(bad_arg=1)
    with pytest.raises(ValueError, match="num_words"):
        text.Tokenizer(num_words=-1)
    tok = text.Tokenizer()
    with pytest.raises(TypeError, match="wrap it in a list"):
        tok.fit_on_texts("one document")
    with pytest.raises(ValueError, match="fit it on some texts"):
        tok.sequences_to_matrix([[1]])
    tok.fit_on_texts(["a b"])
    with pytest.raises(ValueError, match="mode"):
        tok.sequences_to_matrix([[1]], mode="bm25")
    with pytest.raises(ValueError, match="tfidf"):
        text.Tokenizer(num_words=3).sequences_to_matrix([[1]], mode="tfidf")
    with pytest.raises(ValueError, match=">= 0"):
        tok.sequences_to_matrix([[1, -1]])
    with pytest.raises(ValueError, match="config"):
        text.tokenizer_from_json('{"class_name": "Tokenizer"}')
    with pytest.warns(UserWarning, match="num_words"):
        assert text.Tokenizer(nb_words=3).num_words == 3


# -- stateless helpers --------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", REF["text_to_word_sequence"], ids=lambda c: repr(c["text"])[:20])
def test_text_to_word_sequence_equals_keras(case):
    kw = {k: v for k, v in case.items() if k not in ("text", "expected")}
    assert text.text_to_word_sequence(case["text"], **kw) == case["expected"]


@pytest.mark.parametrize("case", REF["hashing_trick"], ids=lambda c: f"{c['text'][:10]}-{c['n']}")
def test_hashing_trick_md5_and_given_function_equal_keras(case):
    kw = {k: v for k, v in case.items() if k not in ("text", "n", "expected", "expected_len")}
    assert text.hashing_trick(case["text"], case["n"], hash_function="md5", **kw) == case["expected"]
    assert text.hashing_trick(case["text"], case["n"], hash_function=len, **kw) == case["expected_len"]


def test_one_hot_and_default_hash_are_python_hash():
    words = text.text_to_word_sequence("The cat sat on the mat.")
    assert text.one_hot("The cat sat on the mat.", 17) == [hash(w) % 16 + 1 for w in words]
    assert text.hashing_trick("The cat sat on the mat.", 17) == [hash(w) % 16 + 1 for w in words]
    assert text.one_hot("a b", 9, analyzer=lambda s: s.split()[::-1]) == [hash("b") % 8 + 1, hash("a") % 8 + 1]


def test_hashing_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="`n`"):
        text.hashing_trick("a b", 1)
    with pytest.raises(ValueError, match="hash_function"):
        text.hashing_trick("a b", 5, hash_function="sha1")
    with pytest.raises(TypeError, match="input_text"):
        text.text_to_word_sequence(["a", "b"])


# -- image.smart_resize -------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", REF["smart_resize"],
                         ids=lambda c: f"{np.shape(c['x'])}-{tuple(c['size'])}-{c['data_format']}-{c['interpolation']}"
                                       f"-{c.get('x_dtype', 'float32')}")
def test_smart_resize_equals_keras(case):
    x = np.array(case["x"], dtype=case.get("x_dtype", "float32"))
    y = image.smart_resize(x, tuple(case["size"]), interpolation=case["interpolation"],
                           data_format=case["data_format"])
    assert isinstance(y, np.ndarray) and str(y.dtype) == case["dtype"]
    np.testing.assert_allclose(y, np.array(case["expected"]), rtol=1e-5, atol=1e-3)


def test_smart_resize_tensor_in_tensor_out_with_gradient():
    case = REF["smart_resize"][0]
    x = tf.Variable(np.array(case["x"], np.float32))
    with tf.GradientTape() as tape:
        y = image.smart_resize(x, case["size"])
        loss = tf.reduce_sum(y)
    assert isinstance(y, tf.Tensor)
    np.testing.assert_allclose(y.numpy(), case["expected"], rtol=1e-5, atol=1e-3)
    g = tape.gradient(loss, x).numpy()
    assert g.shape == x.shape and g[:, 0].sum() == 0 and g[:, 6].sum() == 0   # cropped columns get no gradient
    np.testing.assert_allclose(g.sum(), 3 * 3 * 2, rtol=1e-5)                 # bilinear weights sum to 1


def test_smart_resize_default_data_format_is_the_backend_setting():
    x = np.random.default_rng(1).uniform(size=(2, 5, 7)).astype(np.float32)
    assert image.smart_resize(x, (3, 3)).shape == (3, 3, 7)
    tf.keras.backend.set_image_data_format("channels_first")
    try:
        assert image.smart_resize(x, (3, 3)).shape == (2, 3, 3)
    finally:
        tf.keras.backend.set_image_data_format("channels_last")


def test_smart_resize_bad_input_names_the_argument():
    x = np.zeros((4, 4, 1), np.float32)
    with pytest.raises(ValueError, match="`x`.*shape \\(4, 4\\)"):
        image.smart_resize(np.zeros((4, 4)), (2, 2))
    with pytest.raises(ValueError, match="`size`"):
        image.smart_resize(x, (2, 2, 2))
    with pytest.raises(ValueError, match="`interpolation`"):
        image.smart_resize(x, (2, 2), interpolation="bicubic")
    with pytest.raises(ValueError, match="`data_format`"):
        image.smart_resize(x, (2, 2), data_format="NHWC")


# -- sequence.pad_sequences ---------------------------------------------------------------------------------
@pytest.mark.parametrize("case", REF["pad_sequences"], ids=lambda c: json.dumps(c["kwargs"]))
def test_pad_sequences_equals_keras(case):
    got = sequence.pad_sequences(case["sequences"], **case["kwargs"])
    assert str(got.dtype) == case["dtype"]
    np.testing.assert_array_equal(got, np.array(case["expected"]))
