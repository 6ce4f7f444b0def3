"""keras.utils dataset builders (file order, splits and windows as Keras 3.15.1 prints them), keras.config and
the extra activations."""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

TEXTS = {"neg": ["bad movie", "awful", "boring plot"], "pos": ["great", "loved it", "superb acting", "fun"]}


@pytest.fixture
def text_dir(tmp_path):
    for label, texts in TEXTS.items():
        os.makedirs(tmp_path / label)
        for i, t in enumerate(texts):
            (tmp_path / label / f"{i}.txt").write_text(t)
    os.makedirs(tmp_path / "pos" / "sub")
    (tmp_path / "pos" / "sub" / "x.txt").write_text("nested")
    (tmp_path / "pos" / "skip.md").write_text("not a .txt file")
    return tmp_path


def _decoded(ds):
    return [(x.numpy().decode() if isinstance(x.numpy(), bytes) else str(x.numpy()), int(y)) for x, y in ds]


def test_timeseries_windows_match_keras():
    ds = keras.utils.timeseries_dataset_from_array(np.arange(20), np.arange(100, 120), sequence_length=4,
                                                   sequence_stride=3, sampling_rate=2, batch_size=3, start_index=2,
                                                   end_index=18)
    batches = [(x.numpy().tolist(), y.numpy().tolist()) for x, y in ds]
    assert batches == [([[2, 4, 6, 8], [5, 7, 9, 11], [8, 10, 12, 14]], [102, 105, 108]),   # printed by Keras
                       ([[11, 13, 15, 17]], [111])]
    with pytest.raises(ValueError, match="`sequence_stride` must be in \\[1, 20\\)"):
        keras.utils.timeseries_dataset_from_array(np.arange(20), None, 3, sequence_stride=0)


def test_text_directory_order_split_and_labels_match_keras(text_dir):
    ordered = keras.utils.text_dataset_from_directory(text_dir, batch_size=8, shuffle=False, label_mode="categorical")
    assert ordered.class_names == ["neg", "pos"]
    (x, y), = list(ordered)
    assert [t.decode() if isinstance(t, bytes) else t for t in x.numpy().tolist()] == [   # Keras's order
        "bad movie", "awful", "boring plot", "great", "loved it", "superb acting", "fun", "nested"]
    assert y.numpy().tolist() == [[1, 0]] * 3 + [[0, 1]] * 5
    train = keras.utils.text_dataset_from_directory(text_dir, batch_size=None, seed=3, validation_split=0.25,
                                                    subset="training")
    val = keras.utils.text_dataset_from_directory(text_dir, batch_size=None, seed=3, validation_split=0.25,
                                                  subset="validation")
    assert sorted(_decoded(val)) == [("bad movie", 0), ("boring plot", 0)]       # Keras's split for seed 3
    assert sorted(t for t, _ in _decoded(train)) == ["awful", "fun", "great", "loved it", "nested", "superb acting"]
    with pytest.raises(ValueError, match='label_mode="binary" needs exactly 2 classes'):
        keras.utils.text_dataset_from_directory(text_dir, class_names=["pos"], label_mode="binary")


def test_split_dataset():
    left, right = keras.utils.split_dataset((np.arange(10), np.arange(10) * 2), left_size=0.3)
    assert [int(a) for a, _ in left] == [0, 1, 2] and len(list(right)) == 7
    a, b = keras.utils.split_dataset(tf.data.Dataset.from_tensor_slices(np.arange(6.0)), right_size=2, shuffle=True,
                                     seed=1)
    assert sorted([float(v) for v in a] + [float(v) for v in b]) == [0, 1, 2, 3, 4, 5] and len(list(b)) == 2
    with pytest.raises(ValueError, match="exceeds the 10 examples"):
        keras.utils.split_dataset(np.arange(10), left_size=8, right_size=5)


def test_get_file_from_a_local_url_with_hash(tmp_path):
    src = tmp_path / "data.txt"
    src.write_bytes(b"hello")
    import hashlib
    sha = hashlib.sha256(b"hello").hexdigest()
    path = keras.utils.get_file("data.txt", origin=src.as_uri(), file_hash=sha, cache_dir=str(tmp_path / "cache"))
    assert open(path, "rb").read() == b"hello"
    with pytest.raises(ValueError, match="expected 0000"):
        keras.utils.get_file("other.txt", origin=src.as_uri(), file_hash="0000" + sha[4:],
                             cache_dir=str(tmp_path / "cache"))
    assert not os.path.exists(tmp_path / "cache" / "datasets" / "other.txt")


def test_config_caps_fit_and_activations():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="soft_shrink")])
    model.compile(optimizer="sgd", loss="mse")
    keras.config.set_max_epochs(2)
    keras.config.set_max_steps_per_epoch(3)
    try:
        history = model.fit(np.zeros((64, 2)), np.zeros((64, 1)), epochs=5, batch_size=8, verbose=0)
    finally:
        keras.config.set_max_epochs(None)
        keras.config.set_max_steps_per_epoch(None)
    assert len(history.history["loss"]) == 2 and int(model.optimizer.iterations.numpy()) == 6
    assert keras.config.floatx() == "float32" and keras.config.backend() == "numpy"
    x = np.array([[-2.0, -0.3, 0.2, 1.5]])
    np.testing.assert_allclose(keras.activations.hard_shrink(x).numpy(), [[-2.0, 0.0, 0.0, 1.5]])
    np.testing.assert_allclose(keras.activations.sparse_sigmoid(x).numpy(), [[0.0, 0.35, 0.6, 1.0]])
    np.testing.assert_allclose(keras.activations.get("sparsemax")(np.array([[1., 2., 0.5, 1.8]])).numpy(),
                               [[0.0, 0.6, 0.0, 0.4]], atol=1e-7)
    assert keras.activations.serialize(keras.activations.threshold) == "threshold"


def test_image_directory(tmp_path):
    from tests._oracle import require_module
    Image = require_module("PIL.Image", "pip install pillow (matplotlib brings it)")
    rng = np.random.default_rng(0)
    for label in ("cats", "dogs"):
        os.makedirs(tmp_path / label)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (10, 12, 3), dtype=np.uint8)).save(tmp_path / label / f"{i}.png")
    ds = keras.utils.image_dataset_from_directory(tmp_path, image_size=(8, 6), batch_size=4, shuffle=False)
    batches = list(ds)
    assert ds.class_names == ["cats", "dogs"] and [b[0].shape.as_list() for b in batches] == [[4, 8, 6, 3],
                                                                                                [2, 8, 6, 3]]
    assert batches[0][1].numpy().tolist() == [0, 0, 0, 1] and batches[0][0].dtype == tf.float32
    gray = keras.utils.image_dataset_from_directory(tmp_path, image_size=(10, 12), color_mode="grayscale",
                                                    label_mode=None, batch_size=None, shuffle=False)
    first = next(iter(gray)).numpy()
    assert first.shape == (10, 12, 1) and first.max() <= 255
