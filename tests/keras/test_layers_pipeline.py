"""keras.layers.Pipeline: layers applied in turn, training on by default, masks passed along, serializable."""
import numpy as np
import pytest

from tapeflow import keras


def test_training_defaults_to_true_so_augmentation_applies():
    images = np.arange(2 * 3 * 4 * 1, dtype=np.float32).reshape(2, 3, 4, 1)
    pipe = keras.layers.Pipeline([keras.layers.RandomFlip("horizontal", seed=1), keras.layers.Rescaling(0.5)])
    flipped = [not np.array_equal(pipe(images).numpy(), images * 0.5) for _ in range(8)]
    assert any(flipped)
    np.testing.assert_array_equal(pipe(images, training=False).numpy(), images * 0.5)


def test_masks_reach_the_next_layer_and_weights_are_the_layers():
    pipe = keras.layers.Pipeline([keras.layers.Embedding(10, 3, mask_zero=True),
                                  keras.layers.LSTM(2, return_sequences=True)])
    ids = np.array([[1, 2, 0, 0], [3, 0, 0, 0]])
    out = pipe(ids).numpy()
    np.testing.assert_array_equal(out[0, 2], out[0, 1])      # masked steps repeat the last output
    np.testing.assert_array_equal(out[1, 3], out[1, 0])
    assert len(pipe.weights) == 4 and len(pipe.layers) == 2


def test_config_round_trip_and_inside_a_saved_model(tmp_path):
    pipe = keras.layers.Pipeline([keras.layers.Rescaling(1 / 255), keras.layers.Resizing(4, 4)], name="prep")
    config = pipe.get_config()
    assert config["name"] == "prep" and [c["class_name"] for c in config["layers"]] == ["Rescaling", "Resizing"]
    again = keras.layers.Pipeline.from_config(config)
    x = np.random.default_rng(0).integers(0, 256, (2, 8, 8, 3)).astype(np.float32)
    np.testing.assert_allclose(again(x).numpy(), pipe(x).numpy())
    model = keras.Sequential([keras.Input((8, 8, 3)), pipe, keras.layers.Flatten(), keras.layers.Dense(2)])
    path = str(tmp_path / "m.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)
    assert model.compute_output_shape((None, 8, 8, 3)) == (None, 2)


def test_bad_layers_argument_is_named():
    with pytest.raises(ValueError, match="Pipeline: `layers` must be a list of layers"):
        keras.layers.Pipeline(keras.layers.Dense(2))
    with pytest.raises(ValueError, match="Pipeline: the config must map `layers`"):
        keras.layers.Pipeline.from_config({"name": "p"})
