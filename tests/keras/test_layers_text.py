"""TextVectorization: expected values are what Keras 3.15.1 printed for the same calls."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import layers as L

DATA = np.array(["The cat sat on the mat.", "The dog ate my HOMEWORK!", "cat, dog; cat?"])


def test_int_mode_adapt_pad_and_truncate():
    v = L.TextVectorization()
    v.adapt(DATA)
    assert v.get_vocabulary() == ["", "[UNK]", "the", "cat", "dog", "sat", "on", "my", "mat", "homework", "ate"]
    assert v(np.array(["the cat", "a dog ate the cat!!"])).numpy().tolist() == [[2, 3, 0, 0, 0], [1, 4, 10, 2, 3]]
    assert v(np.array([["the cat"], ["dog"]])).numpy().tolist() == [[2, 3], [4, 0]]     # (batch, 1) input
    assert v(np.array(["", "cat"])).numpy().tolist() == [[0], [3]]
    capped = L.TextVectorization(max_tokens=6, output_sequence_length=4)
    capped.adapt(tf.data.Dataset.from_tensor_slices(DATA).batch(2))
    assert capped.get_vocabulary() == ["", "[UNK]", "the", "cat", "dog", "sat"]
    assert capped(np.array(["the cat", "a dog ate the cat on mat"])).numpy().tolist() == [[2, 3, 0, 0], [1, 4, 1, 2]]
    assert capped.compute_output_shape((None, 1)) == (None, 4)


def test_vector_modes_ngrams_and_tf_idf():
    bigrams = L.TextVectorization(output_mode="multi_hot", ngrams=2)
    bigrams.adapt(DATA)
    assert bigrams.get_vocabulary()[:12] == ["[UNK]", "the", "cat", "dog", "the mat", "the dog", "the cat", "sat on",
                                             "sat", "on the", "on", "my homework"]
    assert bigrams(np.array(["the cat sat"])).numpy().tolist() == \
        [[0, 1, 1, 0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0]]
    tfidf = L.TextVectorization(output_mode="tf_idf", max_tokens=5)
    tfidf.adapt(DATA)
    assert tfidf.get_vocabulary() == ["[UNK]", "the", "cat", "dog", "sat"]
    np.testing.assert_allclose(tfidf(np.array(["the cat cat zebra"])).numpy(),
                               [[0.7489330768585205, 0.6931471824645996, 1.3862943649291992, 0, 0]], rtol=1e-6)
    count = L.TextVectorization(output_mode="count", vocabulary=["cat", "dog"])
    assert count(np.array([["cat dog cat"], ["bird"]])).numpy().tolist() == [[0, 2, 1], [1, 0, 0]]
    sizes = L.TextVectorization(ngrams=(1, 3), vocabulary=["a", "a b", "a b c"])
    assert sizes(np.array(["a b c"])).numpy().tolist() == [[2, 1, 1, 4]]                # unigrams, then trigrams


def test_standardize_and_split_options():
    chars = L.TextVectorization(standardize=None, split="character", vocabulary=["a", "b"])
    assert chars(np.array(["abca"])).numpy().tolist() == [[2, 3, 1, 2]]
    assert chars.get_vocabulary() == ["", "[UNK]", "a", "b"]
    assert L.TextVectorization(standardize="lower", vocabulary=["hi!"])(np.array(["HI! there"])).numpy().tolist() \
        == [[2, 1]]
    assert L.TextVectorization(standardize="strip_punctuation", vocabulary=["Hi"])(np.array(["Hi! hi"])).numpy() \
        .tolist() == [[2, 1]]
    custom = L.TextVectorization(standardize=lambda s: s.replace("<br />", " "), split=lambda s: s.split(","),
                                 vocabulary=["x", "y z"])
    assert custom(np.array(["x,y z<br />,w"])).numpy().tolist() == [[2, 1, 1]]


def test_errors():
    for kwargs, match in [(dict(output_mode="one_hot"), "output_mode must be"),
                          (dict(output_mode="count", output_sequence_length=3), "only applies to output_mode='int'"),
                          (dict(ragged=True), "ragged=True"), (dict(standardize="upper"), "standardize must be"),
                          (dict(split="comma"), "split must be"), (dict(ngrams=0), "ngrams must be")]:
        with pytest.raises(ValueError, match=match):
            L.TextVectorization(**kwargs)
    with pytest.raises(ValueError, match=r"expected a batch of strings"):
        L.TextVectorization(vocabulary=["a"])(np.array([["a", "b"]]))


def test_text_classifier_trains_saves_and_loads(tmp_path):
    texts = np.array(["good movie", "great film", "bad movie", "awful film", "good good", "bad awful"] * 4)
    labels = np.array([1, 1, 0, 0, 1, 0] * 4, dtype=np.float32)
    vectorize = L.TextVectorization(max_tokens=20, output_sequence_length=4)
    vectorize.adapt(texts)
    inp = L.Input((1,), dtype="string")
    h = L.GlobalAveragePooling1D()(L.Embedding(20, 8)(vectorize(inp)))
    model = tf.keras.Model(inp, L.Dense(1, activation="sigmoid")(h))
    model.compile("adam", "binary_crossentropy")
    loss = model.fit(texts[:, None], labels, epochs=15, batch_size=8, verbose=0).history["loss"]
    assert loss[-1] < loss[0]
    path = str(tmp_path / "text.keras")
    model.save(path)
    again = tf.keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(texts[:6, None], verbose=0), model.predict(texts[:6, None], verbose=0))
    assert again.layers[1].get_vocabulary() == vectorize.get_vocabulary()
