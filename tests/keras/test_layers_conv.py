"""Convolution, pooling, reshaping and embedding layers: shapes, gradients, PyTorch, Keras 3 fixtures."""
import json
import os

import numpy as np
import pytest
from _layer_grad import check_layer_gradients

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_layers", "keras3_layers.npz")
rng = np.random.default_rng(0)


@pytest.fixture(autouse=True)
def _fresh():
    keras.backend.clear_session()
    tf.random.set_seed(0)
    yield


def rand(*shape):
    return rng.standard_normal(shape)


# -- shapes -----------------------------------------------------------------------------------
@pytest.mark.parametrize("layer,shape,expected", [
    (lambda: layers.Conv2D(8, 3), (2, 10, 9, 3), (2, 8, 7, 8)),
    (lambda: layers.Conv2D(8, (3, 2), strides=2, padding="same"), (2, 10, 9, 3), (2, 5, 5, 8)),
    (lambda: layers.Conv2D(4, 3, dilation_rate=2), (1, 9, 9, 2), (1, 5, 5, 4)),
    (lambda: layers.Conv2D(6, 3, groups=3, padding="same"), (1, 5, 5, 3), (1, 5, 5, 6)),
    (lambda: layers.Conv2D(4, 3, data_format="channels_first"), (2, 3, 7, 6), (2, 4, 5, 4)),
    (lambda: layers.Convolution2D(4, 1), (2, 3, 3, 5), (2, 3, 3, 4)),
    (lambda: layers.Conv1D(4, 3), (2, 9, 3), (2, 7, 4)),
    (lambda: layers.Conv1D(4, 3, strides=2, padding="same"), (2, 9, 3), (2, 5, 4)),
    (lambda: layers.Conv1D(4, 3, padding="causal", dilation_rate=2), (2, 9, 3), (2, 9, 4)),
    (lambda: layers.Conv2DTranspose(4, 3), (1, 5, 6, 2), (1, 7, 8, 4)),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, padding="same"), (1, 5, 6, 2), (1, 10, 12, 4)),
    (lambda: layers.Conv2DTranspose(4, 4, strides=2), (1, 5, 5, 2), (1, 12, 12, 4)),
    (lambda: layers.Conv2DTranspose(4, 3, strides=2, output_padding=1), (1, 5, 5, 2), (1, 12, 12, 4)),
    (lambda: layers.Conv1DTranspose(3, 2, strides=2), (1, 4, 5), (1, 8, 3)),
    (lambda: layers.DepthwiseConv2D(3, depth_multiplier=2), (1, 6, 7, 3), (1, 4, 5, 6)),
    (lambda: layers.DepthwiseConv2D(3, strides=2, padding="same"), (1, 6, 7, 3), (1, 3, 4, 3)),
    (lambda: layers.DepthwiseConv1D(3), (1, 6, 4), (1, 4, 4)),
    (lambda: layers.SeparableConv2D(5, 3, padding="same", depth_multiplier=2), (1, 6, 6, 3), (1, 6, 6, 5)),
    (lambda: layers.SeparableConv1D(2, 3), (1, 6, 4), (1, 4, 2)),
    (lambda: layers.MaxPooling2D(), (2, 7, 8, 3), (2, 3, 4, 3)),
    (lambda: layers.MaxPool2D(3, strides=2, padding="same"), (2, 7, 8, 3), (2, 4, 4, 3)),
    (lambda: layers.AvgPool2D((2, 3), strides=1), (2, 7, 8, 3), (2, 6, 6, 3)),
    (lambda: layers.MaxPooling1D(), (2, 7, 3), (2, 3, 3)),
    (lambda: layers.AveragePooling1D(3, padding="same"), (2, 7, 3), (2, 3, 3)),
    (lambda: layers.GlobalAveragePool2D(), (2, 4, 5, 3), (2, 3)),
    (lambda: layers.GlobalMaxPool2D(keepdims=True), (2, 4, 5, 3), (2, 1, 1, 3)),
    (lambda: layers.GlobalAvgPool1D(), (2, 4, 3), (2, 3)),
    (lambda: layers.GlobalMaxPooling1D(data_format="channels_first"), (2, 4, 3), (2, 4)),
    (lambda: layers.ZeroPadding2D(((1, 0), (2, 1))), (1, 3, 3, 2), (1, 4, 6, 2)),
    (lambda: layers.Cropping2D(1), (1, 5, 4, 2), (1, 3, 2, 2)),
    (lambda: layers.UpSampling2D((2, 3)), (1, 2, 2, 2), (1, 4, 6, 2)),
    (lambda: layers.UpSampling1D(2), (1, 3, 2), (1, 6, 2)),
    (lambda: layers.Permute((2, 1)), (2, 3, 5), (2, 5, 3)),
    (lambda: layers.RepeatVector(4), (2, 3), (2, 4, 3)),
])
def test_output_shapes_match_compute_output_shape(layer, shape, expected):
    lay = layer()
    y = lay(np.ones(shape, dtype=np.float32))
    assert tuple(y.shape) == expected
    assert tuple(lay.compute_output_shape(shape)) == expected
    none_batch = lay.compute_output_shape((None,) + tuple(shape[1:]))
    assert tuple(none_batch) == (None,) + expected[1:]


def test_symbolic_shapes_with_unknown_spatial_dims():
    inp = keras.Input((None, None, 3))
    y = layers.Conv2D(4, 3)(inp)
    y = layers.MaxPooling2D()(y)
    y = layers.GlobalAveragePooling2D()(y)
    assert y.shape.as_list() == [None, 4]
    model = keras.Model(inp, y)
    assert model(np.ones((1, 12, 10, 3), dtype=np.float32)).shape.as_list() == [1, 4]


# -- weights: layouts and names (Keras 3) --------------------------------------------------
def test_weight_shapes_and_names():
    c = layers.Conv2D(8, 3, groups=2)
    c(np.ones((1, 5, 5, 4)))
    assert [(w.name, tuple(w.shape)) for w in c.weights] == [("kernel", (3, 3, 2, 8)), ("bias", (8,))]
    t = layers.Conv2DTranspose(6, (2, 3))
    t(np.ones((1, 5, 5, 4)))
    assert [tuple(w.shape) for w in t.weights] == [(2, 3, 6, 4), (6,)]
    d = layers.DepthwiseConv2D(3, depth_multiplier=2)
    d(np.ones((1, 5, 5, 4)))
    assert [(w.name, tuple(w.shape)) for w in d.weights] == [("kernel", (3, 3, 4, 2)), ("bias", (8,))]
    s = layers.SeparableConv2D(7, 3, depth_multiplier=2)
    s(np.ones((1, 5, 5, 4)))
    assert [(w.name, tuple(w.shape)) for w in s.weights] == [
        ("depthwise_kernel", (3, 3, 4, 2)), ("pointwise_kernel", (1, 1, 8, 7)), ("bias", (7,))]
    e = layers.Embedding(10, 3)
    e(np.zeros((2, 4), dtype=np.int32))
    assert [(w.name, tuple(w.shape)) for w in e.weights] == [("embeddings", (10, 3))]
    assert np.abs(e.embeddings.numpy()).max() <= 0.05


def test_config_round_trip_and_aliases():
    for layer in (layers.Conv2D(4, 3, strides=2, padding="same", dilation_rate=1, activation="relu"),
                  layers.Conv2DTranspose(3, 3, strides=2, output_padding=1),
                  layers.DepthwiseConv2D(3, depth_multiplier=2), layers.SeparableConv2D(4, 3),
                  layers.Conv1D(2, 3, padding="causal"), layers.MaxPool2D(3, 2), layers.GlobalAvgPool2D(keepdims=True),
                  layers.Embedding(5, 2, mask_zero=True), layers.ZeroPadding2D(2), layers.UpSampling2D(3)):
        cfg = layer.get_config()
        again = type(layer).from_config(json.loads(json.dumps(cfg)))
        assert again.get_config() == cfg
        assert layers.deserialize(layers.serialize(layer)).get_config() == cfg
    assert layers.Convolution2D is layers.Conv2D and layers.GlobalAveragePool2D is layers.GlobalAveragePooling2D


def test_bad_arguments_name_the_layer():
    with pytest.raises(ValueError, match="padding"):
        layers.Conv2D(4, 3, padding="full")
    with pytest.raises(ValueError, match="groups"):
        layers.Conv2D(5, 3, groups=2)
    with pytest.raises(ValueError, match="dilation_rate"):
        layers.Conv2D(4, 3, strides=2, dilation_rate=2)
    conv = layers.Conv2D(4, 3)
    conv(np.ones((1, 5, 5, 3)))
    with pytest.raises(ValueError, match="conv2d"):
        conv(np.ones((1, 5, 5, 2)))
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        layers.Embedding(10, 2)(np.array([[3, 10]]))


# -- numeric gradient checks (inputs and weights, float64) -----------------------------------
@pytest.mark.parametrize("make,shape", [
    (lambda: layers.Conv2D(3, 3, padding="same", activation="relu", dtype="float64",
                           bias_initializer="random_normal"), (2, 5, 4, 2)),
    (lambda: layers.Conv2D(3, 2, strides=2, dtype="float64"), (1, 5, 5, 1)),
    (lambda: layers.Conv2D(4, 3, groups=2, dilation_rate=2, activation="tanh", dtype="float64"), (1, 6, 6, 4)),
    (lambda: layers.Conv2D(2, 3, data_format="channels_first", dtype="float64"), (1, 2, 5, 5)),
    (lambda: layers.Conv1D(3, 3, padding="causal", dtype="float64"), (2, 6, 2)),
    (lambda: layers.Conv2DTranspose(3, 3, strides=2, padding="same", dtype="float64"), (1, 3, 3, 2)),
    (lambda: layers.Conv1DTranspose(2, 3, strides=2, dtype="float64"), (1, 3, 2)),
    (lambda: layers.DepthwiseConv2D(2, depth_multiplier=2, dtype="float64"), (1, 4, 4, 3)),
    (lambda: layers.SeparableConv2D(3, 3, padding="same", dtype="float64"), (1, 4, 4, 2)),
    (lambda: layers.MaxPooling2D(dtype="float64"), (1, 4, 6, 2)),
    (lambda: layers.AveragePooling2D(3, strides=2, padding="same", dtype="float64"), (1, 5, 5, 2)),
    (lambda: layers.GlobalMaxPooling2D(dtype="float64"), (2, 3, 3, 2)),
    (lambda: layers.UpSampling2D(dtype="float64"), (1, 2, 3, 2)),
    (lambda: layers.Cropping2D(((1, 0), (0, 1)), dtype="float64"), (1, 3, 3, 2)),
])
def test_gradients_match_central_differences(make, shape):
    x = rng.permutation(np.prod(shape)).reshape(shape) * 0.1 - 0.7  # distinct values: no max-pool ties
    check_layer_gradients(make(), x)


def test_embedding_gradient_sums_repeated_ids():
    emb = layers.Embedding(5, 2, dtype="float64")
    ids = np.array([[1, 1, 3]])
    with tf.GradientTape() as tape:
        y = emb(ids)
        loss = tf.reduce_sum(y * tf.constant(np.arange(6.0).reshape(1, 3, 2)))
    g = tf.convert_to_tensor(tape.gradient(loss, emb.embeddings)).numpy()
    np.testing.assert_allclose(g, [[0, 0], [2, 4], [0, 0], [4, 5], [0, 0]])


def test_embedding_casts_float_ids_and_masks_zero():
    emb = layers.Embedding(6, 2, mask_zero=True)
    y = emb(np.array([[1.0, 0.0, 5.0]], dtype=np.float32))
    np.testing.assert_allclose(y.numpy()[0], emb.embeddings.numpy()[[1, 0, 5]])
    assert emb.compute_mask(tf.constant([[1, 0, 5]])).numpy().tolist() == [[True, False, True]]
    assert layers.Embedding(6, 2).compute_mask(tf.constant([[1, 0]])) is None
    model = keras.Sequential([keras.Input((3,)), layers.Embedding(6, 2, input_length=3)])
    assert model.predict(np.array([[1, 2, 3]], dtype=np.float32), verbose=0).shape == (1, 3, 2)


# -- PyTorch oracle: values and gradients with the same weights ------------------------------
def _torch_grads(torch, fn, x, params):
    xt = torch.tensor(x, requires_grad=True)
    ps = [torch.tensor(p, requires_grad=True) for p in params]
    out = fn(xt, *ps)
    r = np.random.default_rng(5).standard_normal(tuple(out.shape))
    (out * torch.tensor(r)).sum().backward()
    return out.detach().numpy(), xt.grad.numpy(), [p.grad.numpy() for p in ps], r


def _tf_grads(layer, x, r_nhwc):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
        loss = tf.reduce_sum(y * tf.constant(r_nhwc))
    gs = tape.gradient(loss, [xt] + layer.trainable_weights)
    return y.numpy(), gs[0].numpy(), [g.numpy() for g in gs[1:]]


@pytest.mark.parametrize("kw", [dict(strides=1, padding="valid"), dict(strides=2, padding="valid"),
                                dict(strides=1, padding="same"), dict(dilation_rate=2, padding="valid"),
                                dict(groups=2, padding="valid")])
def test_conv2d_matches_torch(torch, kw):
    F = torch.nn.functional
    x = rand(2, 7, 8, 4)
    layer = layers.Conv2D(6, 3, activation="relu", dtype="float64", **kw)
    layer(x)
    k, b = rand(*layer.kernel.shape), rand(6)
    layer.set_weights([k, b])
    pad = 1 if kw.get("padding") == "same" else 0

    def fn(xt, w, bias):  # NCHW / OIHW, relu
        y = F.conv2d(xt.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), bias, stride=kw.get("strides", 1),
                     padding=pad, dilation=kw.get("dilation_rate", 1), groups=kw.get("groups", 1))
        return torch.relu(y).permute(0, 2, 3, 1)
    ty, tgx, (tgk, tgb), r = _torch_grads(torch, fn, x, [k, b])
    y, gx, (gk, gb) = _tf_grads(layer, x, r)
    np.testing.assert_allclose(y, ty, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(gx, tgx, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(gk, tgk, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(gb, tgb, rtol=1e-9, atol=1e-10)


def test_depthwise_separable_transpose_and_conv1d_match_torch(torch):
    F = torch.nn.functional
    x = rand(2, 6, 7, 3)
    # DepthwiseConv2D: output channel c*dm + q uses kernel[:, :, c, q]; torch groups=in, weight (in*dm, 1, kh, kw)
    dw = layers.DepthwiseConv2D(3, depth_multiplier=2, dtype="float64")
    dw(x)
    k, b = rand(3, 3, 3, 2), rand(6)
    dw.set_weights([k, b])
    ty, tgx, (tgk, tgb), r = _torch_grads(torch, lambda xt, w, bias: F.conv2d(
        xt.permute(0, 3, 1, 2), w.permute(2, 3, 0, 1).reshape(6, 1, 3, 3), bias, groups=3).permute(0, 2, 3, 1),
        x, [k, b])
    y, gx, (gk, gb) = _tf_grads(dw, x, r)
    for a, e in ((y, ty), (gx, tgx), (gk, tgk), (gb, tgb)):
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-10)
    # SeparableConv2D = depthwise then 1x1
    sp = layers.SeparableConv2D(4, 2, dtype="float64")
    sp(x)
    dk, pk, pb = rand(2, 2, 3, 1), rand(1, 1, 3, 4), rand(4)
    sp.set_weights([dk, pk, pb])
    ty, tgx, tgs, r = _torch_grads(torch, lambda xt, d, p, bias: F.conv2d(F.conv2d(
        xt.permute(0, 3, 1, 2), d.permute(2, 3, 0, 1).reshape(3, 1, 2, 2), groups=3),
        p.permute(3, 2, 0, 1), bias).permute(0, 2, 3, 1), x, [dk, pk, pb])
    y, gx, gs = _tf_grads(sp, x, r)
    for a, e in zip([y, gx] + gs, [ty, tgx] + tgs):
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-10)
    # Conv2DTranspose: Keras kernel (kh, kw, out, in); torch ConvTranspose weight (in, out, kh, kw)
    ct = layers.Conv2DTranspose(2, 3, strides=2, dtype="float64")
    ct(x)
    k, b = rand(3, 3, 2, 3), rand(2)
    ct.set_weights([k, b])
    ty, tgx, tgs, r = _torch_grads(torch, lambda xt, w, bias: F.conv_transpose2d(
        xt.permute(0, 3, 1, 2), w.permute(3, 2, 0, 1), bias, stride=2).permute(0, 2, 3, 1), x, [k, b])
    y, gx, gs = _tf_grads(ct, x, r)
    for a, e in zip([y, gx] + gs, [ty, tgx] + tgs):
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-10)
    # Conv1D: kernel (k, in, out) vs torch (out, in, k)
    x1 = rand(2, 9, 3)
    c1 = layers.Conv1D(4, 3, strides=2, dtype="float64")
    c1(x1)
    k, b = rand(3, 3, 4), rand(4)
    c1.set_weights([k, b])
    ty, tgx, tgs, r = _torch_grads(torch, lambda xt, w, bias: F.conv1d(
        xt.permute(0, 2, 1), w.permute(2, 1, 0), bias, stride=2).permute(0, 2, 1), x1, [k, b])
    y, gx, gs = _tf_grads(c1, x1, r)
    for a, e in zip([y, gx] + gs, [ty, tgx] + tgs):
        np.testing.assert_allclose(a, e, rtol=1e-9, atol=1e-10)


@pytest.mark.parametrize("kind", ["max", "avg"])
def test_pooling_matches_torch(torch, kind):
    F = torch.nn.functional
    x = np.maximum(rand(2, 7, 8, 3), 0)  # relu-like input: many tied zeros in max windows
    for pool, stride in ((2, None), (3, 2)):
        layer = (layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D)(pool, strides=stride,
                                                                                      dtype="float64")
        tfn = F.max_pool2d if kind == "max" else F.avg_pool2d
        ty, tgx, _, r = _torch_grads(torch, lambda xt: tfn(xt.permute(0, 3, 1, 2), pool, stride or pool)
                                     .permute(0, 2, 3, 1), x, [])
        y, gx, _ = _tf_grads(layer, x, r)
        np.testing.assert_allclose(y, ty, rtol=1e-12)
        if kind == "avg":
            np.testing.assert_allclose(gx, tgx, rtol=1e-12)
        else:  # each window's gradient lands on one maximum; with ties torch may pick another one
            np.testing.assert_allclose(gx.sum(), tgx.sum(), rtol=1e-10)
            distinct = rng.permutation(x.size).reshape(x.shape) * 0.01
            ty, tgx, _, r = _torch_grads(torch, lambda xt: tfn(xt.permute(0, 3, 1, 2), pool, stride or pool)
                                         .permute(0, 2, 3, 1), distinct, [])
            y, gx, _ = _tf_grads(layer, distinct, r)
            np.testing.assert_allclose(gx, tgx, rtol=1e-12)


def test_max_pool_gradient_goes_to_first_maximum_on_ties():
    x = np.zeros((1, 2, 2, 1))
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layers.MaxPooling2D(dtype="float64")(xt)
    np.testing.assert_array_equal(tape.gradient(y, xt).numpy().ravel(), [1, 0, 0, 0])


def test_embedding_matches_torch(torch):
    emb = layers.Embedding(7, 3, dtype="float64")
    ids = np.array([[1, 4, 4], [0, 6, 2]])
    emb(ids)
    table = rand(7, 3)
    emb.set_weights([table])
    t = torch.tensor(table, requires_grad=True)
    ty = torch.nn.functional.embedding(torch.tensor(ids), t)
    r = rand(2, 3, 3)
    (ty * torch.tensor(r)).sum().backward()
    with tf.GradientTape() as tape:
        y = emb(ids)
        loss = tf.reduce_sum(y * tf.constant(r))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy())
    np.testing.assert_allclose(tf.convert_to_tensor(tape.gradient(loss, emb.embeddings)).numpy(), t.grad.numpy())


# -- Keras 3 fixtures: same weights (get_weights order), same outputs ----------------------------
def _fixture_models():
    if not os.path.exists(FIXTURES):
        pytest.fail(f"missing fixture file {FIXTURES}: run tests/fixtures/keras3_layers/make_fixtures.py")
    data = np.load(FIXTURES, allow_pickle=False)
    names = sorted({k.split("/")[0] for k in data.files if "/" in k})
    return data, names


@pytest.mark.parametrize("name", ["conv2d_stack", "conv_variants", "conv1d", "norms", "embedding"])
def test_keras3_fixture_weights_and_outputs(name):
    data, names = _fixture_models()
    assert name in names
    spec = json.loads(str(data[f"{name}/spec"]))
    shape = tuple(int(v) for v in data[f"{name}/input_shape"])
    x, expected = data[f"{name}/x"], data[f"{name}/y"]
    weights = [data[k] for k in sorted(k for k in data.files if k.startswith(f"{name}/w"))]
    model = keras.Sequential([keras.Input(shape, dtype=str(x.dtype))] +
                             [getattr(layers, cls)(**kw) for cls, kw in spec])
    assert [tuple(w.shape) for w in model.get_weights()] == [w.shape for w in weights]
    model.set_weights(weights)
    y = model(x, training=False).numpy()
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(model.predict(x, verbose=0), expected, rtol=1e-5, atol=1e-5)



@pytest.mark.parametrize("pooling", ["max", "avg"])
def test_global_pooling_after_unknown_spatial_sizes_builds(pooling):
    # Shape inference runs unknown sizes as 2 and 3; ResNet50's strided stem shrinks them to 0 before the global
    # pooling, where an empty max raised (any application with pooling="max" and no input_shape failed to build)
    # and an empty mean warned.
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        model = tf.keras.applications.ResNet50(weights=None, include_top=False, pooling=pooling)
    assert model.output.shape.as_list() == [None, 2048]
