"""EinsumDense: kernel/bias/output shapes as Keras 3.15.1 builds them, values against np.einsum, the einsum
fans for initialization, gradients, and round trips through config and a saved model."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import layers as L

from _layer_grad import check_layer_gradients

# (equation, output_shape, bias_axes, input shape) -> (kernel, bias, output) as Keras 3.15.1 printed them
KERAS = [
    (("ab,bc->ac", (64,), "c", (2, 32)), ((32, 64), (64,), (2, 64))),
    (("abc,cd->abd", (None, 64), "d", (2, 5, 32)), ((32, 64), (64,), (2, 5, 64))),
    (("abc,cde->abde", (None, 8, 16), "de", (2, 5, 32)), ((32, 8, 16), (8, 16), (2, 5, 8, 16))),
    (("...b,bc->...c", (64,), "c", (2, 5, 7, 32)), ((32, 64), (64,), (2, 5, 7, 64))),
    (("abc,cd->abd", (5, 64), None, (2, 5, 32)), ((32, 64), None, (2, 5, 64))),
    (("abcd,cde->abe", (3, 16), "be", (2, 3, 4, 8)), ((4, 8, 16), (3, 16), (2, 3, 16))),
    (("ab...,bc->ac...", (64,), "c", (2, 32, 3)), ((32, 64), (64, 1), (2, 64, 3))),
    (("...b,bc->...c", 64, None, (2, 32)), ((32, 64), None, (2, 64))),
]


@pytest.mark.parametrize("case", range(len(KERAS)))
def test_shapes_match_keras_and_values_match_einsum(case):
    (eq, out_shape, bias_axes, in_shape), (kernel, bias, out) = KERAS[case]
    layer = L.EinsumDense(eq, output_shape=out_shape, bias_axes=bias_axes)
    x = np.random.default_rng(case).normal(size=in_shape).astype(np.float32)
    y = layer(x)
    assert tuple(layer.kernel.shape) == kernel and tuple(y.shape) == out
    assert (layer.bias is None and bias is None) or tuple(layer.bias.shape) == bias
    assert layer.compute_output_shape((None,) + in_shape[1:])[1:] == out[1:]
    rng = np.random.default_rng(10 + case)
    weights = [rng.normal(size=w.shape).astype(np.float32) for w in layer.get_weights()]
    layer.set_weights(weights)
    want = np.einsum(eq, x, weights[0])                 # NumPy reads the ellipsis itself
    if bias is not None:
        want = want + weights[1]
    np.testing.assert_allclose(layer(x).numpy(), want, rtol=1e-5, atol=1e-5)


def test_kernel_initializer_uses_the_einsum_fans():
    layer = L.EinsumDense("abc,cde->abde", output_shape=(None, 8, 16), bias_axes="de",
                          kernel_initializer=tf.keras.initializers.GlorotUniform(seed=1))
    layer(np.zeros((1, 5, 32), np.float32))
    limit = (6 / (32 + 8 * 16)) ** 0.5           # fan_in 32, fan_out 128 (a conv-style fan would give 0.08)
    k = np.abs(layer.kernel.numpy())
    assert k.max() <= limit and k.max() > 0.95 * limit
    assert layer.get_config()["kernel_initializer"]["config"]["input_axes"] is None   # as Keras: the layer's own


def test_gradients_activation_and_regularizers():
    layer = L.EinsumDense("abc,cd->abd", output_shape=(None, 3), bias_axes="d", activation="tanh", dtype="float64",
                          kernel_regularizer="l2")
    check_layer_gradients(layer, np.random.default_rng(0).normal(size=(2, 4, 5)))
    assert len(layer.losses) == 1


def test_errors_name_the_layer():
    with pytest.raises(ValueError, match="invalid equation"):
        L.EinsumDense("ab->b", output_shape=3)
    with pytest.raises(ValueError, match=r"EinsumDense 'ed': bias dimension 'x' .* not part of the output spec 'ac'"):
        L.EinsumDense("ab,bc->ac", output_shape=(64,), bias_axes="x", name="ed")(np.zeros((2, 8)))
    with pytest.raises(ValueError, match="do not match at shared dimension 'b': input 5, output 6"):
        L.EinsumDense("abc,cd->abd", output_shape=(6, 64))(np.zeros((2, 5, 8)))
    with pytest.raises(ValueError, match="names 3 input axes, the input has 2"):
        L.EinsumDense("abc,cd->abd", output_shape=(None, 4))(np.zeros((2, 8)))


def test_round_trips_and_trains(tmp_path):
    inp = L.Input((6, 8))
    h = L.EinsumDense("abc,cde->abde", output_shape=(None, 2, 4), bias_axes="de", activation="relu")(inp)
    out = L.Dense(1)(L.Flatten()(h))
    model = tf.keras.Model(inp, out)
    x = np.random.default_rng(0).normal(size=(32, 6, 8)).astype(np.float32)
    y = x.sum(axis=(1, 2))[:, None] * 0.1
    model.compile("adam", "mse")
    loss = model.fit(x, y, epochs=8, batch_size=8, verbose=0).history["loss"]
    assert loss[-1] < loss[0]
    path = str(tmp_path / "einsum.keras")
    model.save(path)
    again = tf.keras.models.load_model(path)
    np.testing.assert_allclose(again.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-6)
    layer = model.layers[1]
    clone = L.EinsumDense.from_config(layer.get_config())
    assert clone.get_config() == layer.get_config()
