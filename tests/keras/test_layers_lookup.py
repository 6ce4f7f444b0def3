"""StringLookup and IntegerLookup: expected values are what Keras 3.15.1 printed for the same calls
(vector outputs compared by value: tapeflow gives float32 where Keras-on-TensorFlow gives int64)."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import layers as L


def test_adapt_orders_by_count_then_token_descending():
    lookup = L.StringLookup()
    lookup.adapt(np.array([["b", "a", "c", "a"], ["d", "b", "a", "e"]]))
    assert lookup.get_vocabulary() == ["[UNK]", "a", "b", "e", "d", "c"] and lookup.vocabulary_size() == 6
    assert lookup(np.array([["a", "z"], ["e", "b"]])).numpy().tolist() == [[1, 0], [3, 2]]
    assert lookup(np.array(["a"])).dtype == tf.int64
    capped = L.StringLookup(max_tokens=4)
    capped.adapt(np.array(["a", "b", "b", "c", "c", "c", "d", "d", "d", "d", "e"]))
    assert capped.get_vocabulary() == ["[UNK]", "d", "c", "b"]
    ints = L.IntegerLookup()
    ints.adapt(tf.data.Dataset.from_tensor_slices(np.array([7, 7, 3, 9, 3, 7, 12])).batch(3))
    assert ints.get_vocabulary() == [-1, 7, 3, 12, 9]
    assert ints(np.array([7, 3, 12, 5])).numpy().tolist() == [1, 2, 3, 0]


def test_vector_modes():
    x = ["x", "y", "z"]
    multi = L.StringLookup(vocabulary=x, mask_token="", output_mode="multi_hot")
    assert multi.get_vocabulary() == ["[UNK]", "x", "y", "z"]                    # no mask slot in vector modes
    assert multi(np.array([["x", "q"], ["z", ""]])).numpy().tolist() == [[1, 1, 0, 0], [0, 0, 0, 1]]
    bag = L.StringLookup(vocabulary=["x", "y"], output_mode="multi_hot")(np.array(["x", "y", "x"]))
    assert bag.numpy().tolist() == [0, 1, 1]                                      # rank 1: one bag
    one = L.StringLookup(vocabulary=x, output_mode="one_hot")
    assert one(np.array(["x", "q", "z"])).numpy().tolist() == [[0, 1, 0, 0], [1, 0, 0, 0], [0, 0, 0, 1]]
    assert one(np.array([["x"], ["q"]])).shape == (2, 4) and one(np.array([["x", "y"]])).shape == (1, 2, 4)
    assert one.compute_output_shape((None, 1)) == (None, 4)
    count = L.StringLookup(vocabulary=x, output_mode="count")
    assert count(np.array([["x", "x", "q"], ["z", "y", "y"]])).numpy().tolist() == [[1, 2, 0, 0], [0, 0, 2, 1]]
    padded = L.StringLookup(vocabulary=["x", "y"], output_mode="multi_hot", pad_to_max_tokens=True, max_tokens=6)
    assert padded(np.array([["x", "q"]])).numpy().tolist() == [[1, 1, 0, 0, 0, 0]]
    masked = L.IntegerLookup(vocabulary=[4, 5], mask_token=0, output_mode="one_hot")
    assert masked.get_vocabulary() == [-1, 4, 5]
    assert masked(np.array([4, 0, 6])).numpy().tolist() == [[0, 1, 0], [0, 0, 0], [1, 0, 0]]


def test_tf_idf():
    given = L.StringLookup(vocabulary=["x", "y"], output_mode="tf_idf", idf_weights=[0.5, 0.25])
    np.testing.assert_allclose(given(np.array([["x", "x", "q"]])).numpy(), [[0.375, 1.0, 0.0]])  # OOV: mean idf
    adapted = L.StringLookup(output_mode="tf_idf")
    adapted.adapt(np.array([["a", "b"], ["a", "c"], ["a", "a"]]))
    assert adapted.get_vocabulary() == ["[UNK]", "a", "c", "b"]
    np.testing.assert_allclose(adapted(np.array([["a", "b", "q"]])).numpy(),
                               [[0.79739910364151, 0.5596157908439636, 0.0, 0.9162907600402832]], rtol=1e-6)


def test_mask_oov_slots_and_invert():
    lookup = L.StringLookup(vocabulary=["x", "y"], mask_token="")
    assert lookup.get_vocabulary() == ["", "[UNK]", "x", "y"] and lookup.vocabulary_size() == 4
    assert lookup.get_vocabulary(include_special_tokens=False) == ["x", "y"]
    assert lookup(np.array(["", "x", "q", "y"])).numpy().tolist() == [0, 2, 1, 3]
    assert L.StringLookup(vocabulary=["x", "y"], mask_token="", invert=True)(np.array([0, 1, 2, 3])).numpy().tolist() \
        == ["", "[UNK]", "x", "y"]
    assert L.StringLookup(vocabulary=["x", "y", "z"], invert=True)(np.array([[1, 0, 3]])).numpy().tolist() == \
        [["x", "[UNK]", "z"]]
    hashed = L.IntegerLookup(vocabulary=[10, 20], num_oov_indices=3)              # floormod into 3 OOV slots
    assert hashed.get_vocabulary() == [-1, -1, -1, 10, 20]
    assert hashed(np.array([10, 20, 5, 6, 7, -4, 100])).numpy().tolist() == [3, 4, 2, 0, 1, 2, 1]
    hashed = L.IntegerLookup(vocabulary=[10, 20], num_oov_indices=3, mask_token=0)
    assert hashed(np.array([0, 10, 5, 6, 7])).numpy().tolist() == [0, 4, 3, 1, 2]
    strict = L.StringLookup(vocabulary=["x", "y"], num_oov_indices=0)
    assert strict(np.array(["x", "y"])).numpy().tolist() == [0, 1]
    with pytest.raises(ValueError, match="'q' is not in the vocabulary and num_oov_indices=0"):
        strict(np.array(["q"]))


def test_errors_name_the_layer_and_argument():
    cases = [(dict(vocabulary=["x", "x"]), "repeats 'x'"),
             (dict(vocabulary=["x", "y"], max_tokens=2), "more than max_tokens=2"),
             (dict(vocabulary=["", "x"], mask_token=""), "mask token"),
             (dict(vocabulary=["[UNK]", "x"]), "OOV token"),
             (dict(output_mode="binary"), "output_mode must be one of"),
             (dict(output_mode="one_hot", invert=True), "invert=True needs output_mode='int'"),
             (dict(sparse=True), "sparse=True is not supported"),
             (dict(vocabulary=["x"], output_mode="tf_idf"), "needs idf_weights"),
             (dict(vocabulary=["x"], output_mode="tf_idf", idf_weights=[1.0, 2.0]), "2 entries for 1 tokens"),
             (dict(idf_weights=[1.0]), "only apply to output_mode='tf_idf'")]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match):
            L.StringLookup(**kwargs)
    with pytest.raises(ValueError, match="expected integer tokens"):
        L.IntegerLookup(vocabulary=[1, 2])(np.array([1.5]))


def test_in_a_functional_model_saved_and_trained(tmp_path):
    inp = L.Input((1,), dtype="string")
    assert L.Input((1,), dtype=tf.string).dtype == inp.dtype == tf.string
    feats = L.StringLookup(vocabulary=["a", "b", "c"], output_mode="one_hot")(inp)
    model = tf.keras.Model(inp, L.Dense(2)(feats))
    x = np.array([["a"], ["b"], ["c"], ["q"]])
    path = str(tmp_path / "lookup.keras")
    model.save(path)
    again = tf.keras.models.load_model(path)
    np.testing.assert_array_equal(again(x).numpy(), model(x).numpy())
    assert again.layers[1].get_vocabulary() == ["[UNK]", "a", "b", "c"]
    model.compile("adam", "mse")
    loss = model.fit(x, np.ones((4, 2), np.float32), epochs=5, verbose=0).history["loss"]
    assert loss[-1] < loss[0]
    config = L.IntegerLookup(vocabulary=[3, 1], num_oov_indices=2, output_mode="count").get_config()
    assert L.IntegerLookup.from_config(config).get_config() == config


def test_category_encoding_matches_keras():
    one = L.CategoryEncoding(num_tokens=4, output_mode="one_hot")
    assert one(np.array([3, 2, 0, 1])).numpy().tolist() == [[0, 0, 0, 1], [0, 0, 1, 0], [1, 0, 0, 0], [0, 1, 0, 0]]
    assert one(np.array([[3], [2]])).numpy().tolist() == [[0, 0, 0, 1], [0, 0, 1, 0]]
    assert one(np.array([[1, 2], [0, 1]])).shape == (2, 2, 4) and one(np.array([1])).dtype == tf.float32
    multi = L.CategoryEncoding(num_tokens=4, output_mode="multi_hot")
    rows = np.array([[0, 1], [0, 0], [1, 2], [3, 1]])
    assert multi(rows).numpy().tolist() == [[1, 1, 0, 0], [1, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]]
    assert multi(np.array([0, 1, 1])).numpy().tolist() == [1, 1, 0, 0]
    count = L.CategoryEncoding(num_tokens=4, output_mode="count")
    assert count(rows).numpy().tolist() == [[1, 1, 0, 0], [2, 0, 0, 0], [0, 1, 1, 0], [0, 1, 0, 1]]
    np.testing.assert_allclose(count(np.array([[0, 1], [0, 0]]), count_weights=np.array([[0.1, 0.2], [0.1, 0.4]]))
                               .numpy(), [[0.1, 0.2, 0, 0], [0.5, 0, 0, 0]], rtol=1e-6)
    assert L.CategoryEncoding.from_config(one.get_config()).get_config() == one.get_config()
    for bad in (np.array([4]), np.array([-1])):          # Keras on TensorFlow returns a zero row here
        with pytest.raises(ValueError, match=r"indices must lie in \[0, 4\)"):
            one(bad)
    with pytest.raises(ValueError, match="count_weights only apply"):
        multi(rows, count_weights=np.ones((4, 2)))
    with pytest.raises(ValueError, match="num_tokens must be a positive integer"):
        L.CategoryEncoding()


def test_hashing_matches_keras():
    assert L.Hashing(num_bins=5)(np.array(["a", "b", "c", "abc"])).numpy().tolist() == [4, 2, 2, 0]
    assert L.Hashing(num_bins=7)(np.array([[1], [12], [-3], [100000]])).numpy().tolist() == [[5], [3], [4], [0]]
    assert L.Hashing(num_bins=5)(np.array([1.7, -2.2, 3.0])).numpy().tolist() == [4, 0, 1]     # floats truncate
    assert L.Hashing(num_bins=4, mask_value="")(np.array(["", "a", "b"])).numpy().tolist() == [0, 1, 2]
    assert L.Hashing(num_bins=4, mask_value=0)(np.array([0, 5, 17])).numpy().tolist() == [0, 2, 1]
    assert L.Hashing(num_bins=10, salt=7)(np.array(["a", "b", "hello"])).numpy().tolist() == [6, 3, 3]
    assert L.Hashing(num_bins=10, salt=[3, 9])(np.array(["a", "b", "hello"])).numpy().tolist() == [6, 0, 8]
    assert L.Hashing(num_bins=4, output_mode="one_hot")(np.array(["a", "b"])).numpy().tolist() == \
        [[0, 0, 0, 1], [0, 0, 1, 0]]
    rows = np.array([["a", "b"], ["c", "c"]])
    assert L.Hashing(num_bins=4, output_mode="multi_hot")(rows).numpy().tolist() == [[0, 0, 1, 1], [1, 0, 0, 0]]
    assert L.Hashing(num_bins=4, output_mode="count")(rows).numpy().tolist() == [[0, 0, 1, 1], [2, 0, 0, 0]]
    layer = L.Hashing(num_bins=4, salt=[3, 9], mask_value="")
    assert L.Hashing.from_config(layer.get_config()).get_config() == layer.get_config()
    with pytest.raises(ValueError, match="num_bins must be a positive integer"):
        L.Hashing(num_bins=0)


def test_string_lookup_hashes_unknown_strings_into_several_oov_slots():
    layer = L.StringLookup(vocabulary=["x"], num_oov_indices=3)      # Keras 3.15.1 printed these
    assert layer(np.array(["a", "b", "c", "x", "hello"])).numpy().tolist() == [0, 1, 1, 3, 1]
    assert layer.get_vocabulary() == ["[UNK]", "[UNK]", "[UNK]", "x"]
