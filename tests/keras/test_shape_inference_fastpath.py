"""Shape inference skips the call of shape-preserving layers, but never that of a subclass that overrides call."""
import numpy as np

import tapeflow as tf
from tapeflow import keras


def test_builtin_activation_is_not_run_while_a_functional_model_is_built(monkeypatch):
    from tapeflow.keras import activations
    calls = []
    real = activations.M.sigmoid
    monkeypatch.setattr(activations.M, "sigmoid", lambda x: calls.append(tuple(x.shape)) or real(x))
    inp = keras.Input((5,))
    out = keras.layers.Activation("sigmoid")(keras.layers.Dense(3)(inp))
    model = keras.Model(inp, out)
    assert calls == [] and model.output_shape == (None, 3)
    y = model(np.ones((2, 5), "float32"))
    assert calls == [(2, 3)] and y.shape == (2, 3)


def test_user_functions_and_glu_run_during_shape_inference():
    inp = keras.Input((6,))
    assert tuple(keras.layers.Activation("glu")(inp).shape) == (None, 3)
    assert tuple(keras.layers.Activation(lambda x: x[:, :2])(inp).shape) == (None, 2)


def test_subclass_that_overrides_call_still_runs_during_shape_inference():
    class Halve(keras.layers.BatchNormalization):
        def call(self, x, training=None):
            return x[:, : x.shape[1] // 2]

    inp = keras.Input((6,))
    out = Halve()(inp)
    assert tuple(out.shape) == (None, 3)
    assert keras.Model(inp, out)(np.ones((2, 6), "float32")).shape == (2, 3)


def test_preserving_layers_keep_shape_dtype_and_masks_in_a_model():
    inp = keras.Input((None, 3), dtype="float32")
    x = keras.layers.Masking(0.0)(inp)
    x = keras.layers.LayerNormalization()(x)
    x = keras.layers.Dropout(0.5)(x)
    x = keras.layers.ReLU()(x)
    assert tuple(x.shape) == (None, None, 3) and x.dtype == "float32"
    out = keras.layers.LSTM(2)(x)
    m = keras.Model(inp, out)
    data = np.random.default_rng(0).normal(size=(2, 4, 3)).astype("float32")
    data[:, 2:] = 0.0  # masked steps: the LSTM output equals that of the first two steps
    np.testing.assert_allclose(m(data).numpy(), m(data[:, :2]).numpy(), rtol=1e-5, atol=1e-6)


def test_integer_input_to_rescaling_still_runs_its_cast():
    inp = keras.Input((2,), dtype="uint8")
    out = keras.layers.Rescaling(1 / 255)(inp)
    assert out.dtype == "float32"

