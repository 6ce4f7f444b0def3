"""tapeflow.onnx.export: every supported layer family exported, run in onnxruntime, compared with tapeflow.

Each test builds a small model, gives every weight seeded random values (so biases, moving statistics
and forget-gate blocks are all non-trivial), exports it, runs the file with onnxruntime's CPU provider
and compares with ``model(x, training=False)`` to 1e-5 (float32). Refusals check that the error names
the offending layer.
"""
import functools
import os
import subprocess
import sys

import numpy as np
import pytest

import tapeflow as tf
from _oracle import require_module

onnx = require_module("onnx", "pip install -e '.[onnx]'")
ort = require_module("onnxruntime", "pip install -e '.[onnx]'")

K = tf.keras
L = tf.keras.layers
ATOL = 1e-5


def _randomize(model, seed=0, scale=0.4):
    rng = np.random.default_rng(seed)
    for v in model.weights:
        shape = tuple(v.shape)
        if "variance" in v.name:
            v.assign(rng.uniform(0.5, 1.5, shape).astype("float32"))
        else:
            v.assign((rng.standard_normal(shape) * scale).astype("float32"))
    return model


def _session(path):
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    opts.inter_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def _run(path, inputs):
    sess = _session(path)
    return sess.run(None, {i.name: x for i, x in zip(sess.get_inputs(), inputs)})


def _check(model, inputs, tmp_path, name="model", opset=17, randomize=True):
    """Export, run in onnxruntime, compare every output with tapeflow's; returns the outputs."""
    if randomize:
        _randomize(model)
    inputs = inputs if isinstance(inputs, list) else [inputs]
    path = tmp_path / f"{name}.onnx"
    tf.onnx.export(model, path, opset=opset)
    got = _run(path, inputs)
    want = model(inputs if len(inputs) > 1 else inputs[0], training=False)
    want = list(want) if isinstance(want, (list, tuple)) else [want]
    assert len(got) == len(want)
    for g, w in zip(got, want):
        w = np.asarray(w)
        assert g.shape == w.shape
        np.testing.assert_allclose(g, w, rtol=0, atol=ATOL)
    return got


def _x(*shape, seed=1, scale=1.5):
    return (np.random.default_rng(seed).standard_normal(shape) * scale).astype("float32")


def _seq(input_shape, *layers):
    return K.Sequential([K.Input(shape=input_shape)] + list(layers))


# -- dense and activations ---------------------------------------------------------------------------------
ACTIVATIONS = ["linear", "relu", "leaky_relu", "relu6", "elu", "selu", "celu", "gelu", "silu", "swish", "mish",
               "sigmoid", "hard_sigmoid", "hard_silu", "hard_swish", "hard_tanh", "log_sigmoid", "tanh",
               "softplus", "softsign", "exponential", "softmax", "log_softmax", "squareplus"]


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_dense_with_each_activation(activation, tmp_path):
    model = _seq((5,), L.Dense(6, activation=activation), L.Dense(3))
    _check(model, _x(4, 5, scale=3.0), tmp_path)


def test_activation_layers_glu_and_gelu_tanh(tmp_path):
    gelu_tanh = functools.partial(tf.keras.activations.gelu, approximate=True)
    model = _seq((6,), L.Activation("glu"), L.Dense(4), L.Activation(gelu_tanh), L.Activation("gelu"))
    _check(model, _x(3, 6, scale=3.0), tmp_path)


def test_dense_on_rank3_and_layer_as_activation(tmp_path):
    model = _seq((4, 5), L.Dense(3, activation=L.LeakyReLU(0.1)), L.Dense(2, use_bias=False))
    _check(model, _x(2, 4, 5), tmp_path)


@pytest.mark.parametrize("kwargs", [{}, {"max_value": 1.0}, {"negative_slope": 0.2},
                                    {"threshold": 0.5}, {"max_value": 2.0, "negative_slope": 0.1, "threshold": 0.3}])
def test_relu_layer_options(kwargs, tmp_path):
    _check(_seq((7,), L.ReLU(**kwargs)), _x(5, 7, scale=3.0), tmp_path)


def test_activation_layer_family(tmp_path):
    model = _seq((3, 4), L.LeakyReLU(0.25), L.ELU(0.5), L.PReLU(shared_axes=[1]), L.Softmax(axis=1),
                 L.Dense(4), L.Softmax(axis=[1, 2]))
    _check(model, _x(2, 3, 4, scale=3.0), tmp_path)


# -- convolution and pooling -------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    {"padding": "valid"},
    {"padding": "same", "strides": 2},            # odd input: asymmetric 'same' padding
    {"padding": "same", "kernel_size": (2, 4), "strides": (2, 3)},
    {"padding": "same", "dilation_rate": 2},
    {"padding": "valid", "groups": 2},
    {"padding": "same", "activation": "tanh", "use_bias": False},
])
def test_conv2d(kwargs, tmp_path):
    kwargs = {"kernel_size": 3, **kwargs}
    model = _seq((9, 7, 4), L.Conv2D(6, **kwargs), L.Flatten(), L.Dense(3))
    _check(model, _x(2, 9, 7, 4), tmp_path)


def test_conv2d_channels_first_and_flatten_order(tmp_path):
    model = _seq((3, 8, 8), L.Conv2D(4, 3, padding="same", strides=2, data_format="channels_first"),
                 L.MaxPooling2D(2, data_format="channels_first"), L.Flatten(data_format="channels_first"),
                 L.Dense(5))
    _check(model, _x(2, 3, 8, 8), tmp_path)


@pytest.mark.parametrize("kwargs", [{"padding": "valid", "strides": 2}, {"padding": "same", "strides": 3},
                                    {"padding": "causal", "dilation_rate": 2}, {"padding": "same", "groups": 3}])
def test_conv1d(kwargs, tmp_path):
    model = _seq((11, 3), L.Conv1D(6, 3, **kwargs), L.GlobalMaxPooling1D())
    _check(model, _x(2, 11, 3), tmp_path)


def test_depthwise_and_separable(tmp_path):
    model = _seq((9, 9, 3), L.DepthwiseConv2D(3, depth_multiplier=2, padding="same", strides=2, activation="relu"),
                 L.SeparableConv2D(5, 3, depth_multiplier=2), L.Flatten())
    _check(model, _x(2, 9, 9, 3), tmp_path, "conv2d")
    model = _seq((10, 4), L.DepthwiseConv1D(3, depth_multiplier=2, padding="same"), L.SeparableConv1D(3, 2, strides=2))
    _check(model, _x(2, 10, 4), tmp_path, "conv1d")


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pooling_2d(padding, tmp_path):
    inp = K.Input(shape=(9, 7, 3))
    a = L.MaxPooling2D(3, strides=2, padding=padding)(inp)
    b = L.AveragePooling2D((2, 3), strides=(2, 2), padding=padding)(inp)  # 'same' excludes padding from the mean
    outs = [L.Flatten()(a), L.Flatten()(b), L.GlobalAveragePooling2D()(inp), L.GlobalMaxPooling2D(keepdims=True)(inp)]
    _check(K.Model(inp, outs), _x(2, 9, 7, 3), tmp_path)


@pytest.mark.parametrize("padding", ["valid", "same"])
def test_pooling_1d(padding, tmp_path):
    inp = K.Input(shape=(10, 3))
    outs = [L.MaxPooling1D(3, padding=padding)(inp), L.AveragePooling1D(4, strides=3, padding=padding)(inp),
            L.GlobalAveragePooling1D()(inp), L.GlobalMaxPooling1D(keepdims=True)(inp)]
    _check(K.Model(inp, outs), _x(2, 10, 3), tmp_path)


def test_opset_18_reductions(tmp_path):
    inp = K.Input(shape=(6, 6, 2))
    outs = [L.GlobalAveragePooling2D()(inp), L.GlobalMaxPooling2D()(inp), L.LayerNormalization(axis=1)(inp),
            L.Softmax(axis=[1, 2])(inp)]
    proto = tf.onnx.export(K.Model(inp, outs), tmp_path / "m18.onnx", opset=18)
    assert proto.opset_import[0].version == 18
    _check(K.Model(inp, outs), _x(3, 6, 6, 2), tmp_path, opset=18)


def test_conv_with_unknown_spatial_size(tmp_path):
    model = _seq((None, None, 2), L.Conv2D(3, 3, strides=2, padding="same"), L.MaxPooling2D(2, padding="same"),
                 L.Conv2D(2, 3, padding="same"), L.GlobalAveragePooling2D())
    _randomize(model)
    path = tmp_path / "dyn.onnx"
    tf.onnx.export(model, path)
    for shape in [(1, 7, 9, 2), (2, 12, 5, 2)]:
        x = _x(*shape)
        np.testing.assert_allclose(_run(path, [x])[0], model(x).numpy(), rtol=0, atol=ATOL)


# -- normalization ---------------------------------------------------------------------------------------
def test_batch_normalization(tmp_path):
    model = _seq((6, 6, 3), L.BatchNormalization(), L.Conv2D(4, 3), L.BatchNormalization(center=False),
                 L.Flatten(), L.Dense(5), L.BatchNormalization(scale=False, epsilon=0.1))
    _check(model, _x(3, 6, 6, 3), tmp_path, "cl")
    model = _seq((3, 5, 5), L.BatchNormalization(axis=1))
    _check(model, _x(2, 3, 5, 5), tmp_path, "cf")


@pytest.mark.parametrize("kwargs", [{}, {"axis": [1, 2]}, {"axis": 1}, {"center": False, "scale": False},
                                    {"rms_scaling": True}, {"epsilon": 0.5, "center": False}])
def test_layer_normalization(kwargs, tmp_path):
    _check(_seq((4, 6), L.LayerNormalization(**kwargs)), _x(3, 4, 6, scale=2.0), tmp_path)


# -- shape layers, merges, embeddings, tensor operators -----------------------------------------------------
def test_reshape_family_and_noise_layers(tmp_path):
    model = _seq((12,), L.Reshape((3, -1)), L.Dropout(0.5), L.Permute((2, 1)), L.GaussianNoise(0.3),
                 L.SpatialDropout1D(0.5), L.Flatten(), L.Dense(4), L.RepeatVector(2), L.AlphaDropout(0.1),
                 L.GaussianDropout(0.2), L.ActivityRegularization(l1=0.1), L.Identity(), L.Reshape((8,)))
    _check(model, _x(3, 12), tmp_path)


def test_padding_cropping_upsampling(tmp_path):
    model = _seq((5, 6, 2), L.ZeroPadding2D(((1, 0), (2, 1))), L.UpSampling2D((2, 3)), L.Cropping2D(((1, 2), (0, 3))),
                 L.Conv2D(2, 3, data_format="channels_last"))
    _check(model, _x(2, 5, 6, 2), tmp_path, "2d")
    model = _seq((2, 5, 4), L.ZeroPadding2D(1, data_format="channels_first"),
                 L.UpSampling2D(2, data_format="channels_first"), L.Cropping2D((1, 2), data_format="channels_first"))
    _check(model, _x(2, 2, 5, 4), tmp_path, "2d_cf")
    model = _seq((6, 3), L.ZeroPadding1D((2, 1)), L.UpSampling1D(3), L.Cropping1D((0, 4)))
    _check(model, _x(2, 6, 3), tmp_path, "1d")


def test_functional_multi_branch_multi_input_multi_output(tmp_path):
    a, b = K.Input(shape=(5,), name="a"), K.Input(shape=(5,), name="b")
    x = L.Dense(4, activation="relu", name="shared")
    xa, xb = x(a), x(b)  # a layer used twice
    merged = [L.Add()([xa, xb]), L.Subtract()([xa, xb]), L.Multiply()([xa, xb, xa]), L.Average()([xa, xb]),
              L.Maximum()([xa, xb]), L.Minimum()([xa, xb])]
    cat = L.Concatenate()(merged)
    res = L.StochasticDepth(0.5)([cat, L.Dense(24)(cat)])
    out1 = L.Dense(3, activation="softmax", name="probs")(res)
    out2 = L.Dense(1, name="score")(L.Concatenate(axis=1)([xa, res]))
    model = K.Model([a, b], [out1, out2])
    proto = tf.onnx.export(model, tmp_path / "names.onnx")
    assert [i.name for i in proto.graph.input] == ["a", "b"]
    assert [o.name for o in proto.graph.output] == ["probs", "score"]
    _check(model, [_x(4, 5, seed=1), _x(4, 5, seed=2)], tmp_path)


def test_tensor_operators(tmp_path):
    inp = K.Input(shape=(4, 6))
    y = L.Dense(6)(inp)
    z = (inp + y) * 0.5 - abs(y) / 2.0
    z = -z + inp * y
    out = L.Concatenate()([z[:, :, 1:3], z[..., 1:2], (z ** 2.0)[:, :, 4:]])
    outs = [out, z[:, 0], z[:, -1, 2:5:2]]
    _check(K.Model(inp, outs), _x(2, 4, 6), tmp_path)


def test_embedding(tmp_path):
    ids = K.Input(shape=(5,), dtype="int32", name="ids")
    out = L.Dense(2)(L.GlobalAveragePooling1D()(L.Embedding(11, 4)(ids)))
    x = np.random.default_rng(0).integers(0, 11, (3, 5)).astype("int32")
    _check(K.Model(ids, out), x, tmp_path, "int_ids")
    model = _seq((5,), L.Embedding(11, 3), L.Flatten())  # float ids, as from a default Sequential input
    _check(model, x.astype("float32"), tmp_path, "float_ids")


def test_nested_models(tmp_path):
    block = _seq((6,), L.Dense(5, activation="tanh"), L.Dense(4))
    inner_in = K.Input(shape=(4,))
    inner = K.Model(inner_in, L.Dense(3)(L.ReLU()(inner_in)))
    model = K.Sequential([K.Input(shape=(6,)), block, inner, L.Dense(2)])
    _check(model, _x(3, 6), tmp_path, "seq")
    inp = K.Input(shape=(6,))
    out = L.Add()([inner(block(inp)), inner(L.Dense(4)(inp))])
    _check(K.Model(inp, out), _x(3, 6), tmp_path, "functional")


# -- recurrent -------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", ["LSTM", "GRU", "SimpleRNN"])
@pytest.mark.parametrize("return_sequences", [False, True])
@pytest.mark.parametrize("go_backwards", [False, True])
def test_recurrent(cls, return_sequences, go_backwards, tmp_path):
    layer = getattr(L, cls)(5, return_sequences=return_sequences, go_backwards=go_backwards)
    _check(_seq((7, 3), layer), _x(2, 7, 3), tmp_path)


@pytest.mark.parametrize("layer", [
    lambda: L.GRU(4, reset_after=False), lambda: L.GRU(4, use_bias=False), lambda: L.LSTM(4, use_bias=False),
    lambda: L.LSTM(4, activation="relu", recurrent_activation="hard_sigmoid"),
    lambda: L.LSTM(4, activation="linear", recurrent_activation="hard_sigmoid"),
    lambda: L.GRU(4, activation="hard_sigmoid", recurrent_activation="sigmoid"),
    lambda: L.GRU(4, activation="softsign", recurrent_activation="hard_sigmoid", return_sequences=True),
    lambda: L.SimpleRNN(4, activation="softplus"), lambda: L.SimpleRNN(4, activation="relu"),
    lambda: L.SimpleRNN(4, activation="linear"), lambda: L.SimpleRNN(4, activation="sigmoid"),
    lambda: L.SimpleRNN(4, activation="hard_sigmoid"),
    lambda: L.RNN(L.LSTMCell(4), return_sequences=True), lambda: L.RNN(L.GRUCell(4, reset_after=False)),
    lambda: L.LSTM(4, dropout=0.5, recurrent_dropout=0.5),
], ids=["gru_reset_before", "gru_nobias", "lstm_nobias", "lstm_relu_hardsig", "lstm_linear_hardsig",
        "gru_hardsig_cell", "gru_softsign", "rnn_softplus", "rnn_relu", "rnn_linear", "rnn_sigmoid", "rnn_hardsig",
        "rnn_lstmcell", "rnn_grucell", "lstm_dropout"])
def test_recurrent_variants(layer, tmp_path):
    _check(_seq((6, 3), layer()), _x(3, 6, 3), tmp_path)


def test_recurrent_states_and_stacking(tmp_path):
    inp = K.Input(shape=(6, 3))
    seq, h, c = L.LSTM(4, return_sequences=True, return_state=True)(inp)
    g, gh = L.GRU(4, return_state=True, go_backwards=True)(seq, initial_state=[h])
    r = L.SimpleRNN(4)(seq, initial_state=gh)
    lstm2 = L.LSTM(4)(inp, initial_state=[h, c])
    _check(K.Model(inp, [seq, h, c, g, gh, r, lstm2]), _x(2, 6, 3), tmp_path)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
def test_bidirectional(merge_mode, tmp_path):
    inp = K.Input(shape=(5, 3))
    out = L.Bidirectional(L.LSTM(4, return_sequences=True), merge_mode=merge_mode)(inp)
    outs = out if isinstance(out, list) else [out]
    outs = outs + L.Bidirectional(L.GRU(3, return_state=True))(inp)
    _check(K.Model(inp, outs), _x(2, 5, 3), tmp_path)


def test_time_distributed(tmp_path):
    inner = _seq((4,), L.Dense(3, activation="relu"), L.Dense(2))
    inp = K.Input(shape=(5, 6, 6, 2))
    frames = L.TimeDistributed(L.Conv2D(3, 3, strides=2, padding="same"))(inp)
    feats = L.TimeDistributed(L.Flatten())(frames)
    out = L.TimeDistributed(inner)(L.TimeDistributed(L.Dense(4))(feats))
    _check(K.Model(inp, [out, L.LSTM(3)(feats)]), _x(2, 5, 6, 6, 2), tmp_path)


# -- dynamic batch, files -------------------------------------------------------------------------------------
def test_dynamic_batch_size(tmp_path):
    model = _randomize(_seq((6, 6, 2), L.Conv2D(3, 3, padding="same"), L.BatchNormalization(), L.Flatten(),
                            L.Dense(4, activation="softmax")))
    path = tmp_path / "dyn.onnx"
    proto = tf.onnx.export(model, path)
    dims = proto.graph.input[0].type.tensor_type.shape.dim
    assert dims[0].dim_param == "batch" and [d.dim_value for d in dims[1:]] == [6, 6, 2]
    assert proto.graph.output[0].type.tensor_type.shape.dim[0].dim_param == "batch"
    for n in (1, 7):
        x = _x(n, 6, 6, 2, seed=n)
        got = _run(path, [x])[0]
        assert got.shape == (n, 4)
        np.testing.assert_allclose(got, model(x).numpy(), rtol=0, atol=ATOL)


def test_file_is_valid_and_replaced_atomically(tmp_path):
    model = _randomize(_seq((3,), L.Dense(2)))
    path = tmp_path / "m.onnx"
    path.write_bytes(b"old contents")
    tf.onnx.export(model, str(path))
    loaded = onnx.load(str(path))
    onnx.checker.check_model(loaded, full_check=True)
    assert loaded.producer_name == "tapeflow"
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"]  # no temporary file left behind
    bad = K.Sequential([K.Input(shape=(3,)), L.Lambda(lambda t: t * 2.0)])
    with pytest.raises(ValueError):
        tf.onnx.export(bad, path)
    assert onnx.load(str(path)) == loaded  # a refused export leaves the previous file alone


# -- refusals -----------------------------------------------------------------------------------------------
class Scale(L.Layer):
    def call(self, x):
        return x * 3.0


def test_refuses_custom_layer_naming_it(tmp_path):
    model = K.Sequential([K.Input(shape=(4,)), L.Dense(3), Scale(name="my_scale")])
    with pytest.raises(tf.onnx.ExportError, match=r'"my_scale" \(Scale\).*Supported layer classes:.*Dense'):
        tf.onnx.export(model, tmp_path / "x.onnx")
    assert not (tmp_path / "x.onnx").exists()


def test_refuses_subclass_of_supported_layer(tmp_path):
    class MyDense(L.Dense):
        def call(self, x):
            return super().call(x) * 2.0
    model = K.Sequential([K.Input(shape=(4,)), MyDense(3, name="mine")])
    with pytest.raises(tf.onnx.ExportError, match=r'"mine" \(MyDense\)'):
        tf.onnx.export(model, tmp_path / "x.onnx")


def test_refuses_masking(tmp_path):
    ids = K.Input(shape=(5,), dtype="int32")
    model = K.Model(ids, L.LSTM(3)(L.Embedding(10, 4, mask_zero=True, name="emb")(ids)))
    with pytest.raises(tf.onnx.ExportError, match=r'"emb" \(Embedding\) has mask_zero=True'):
        tf.onnx.export(model, tmp_path / "x.onnx")
    model = _seq((5, 2), L.Masking(0.0, name="pad_mask"), L.LSTM(3))
    with pytest.raises(tf.onnx.ExportError, match=r'"pad_mask" \(Masking\)'):
        tf.onnx.export(model, tmp_path / "x.onnx")


def test_refuses_layer_forced_into_training_mode(tmp_path):
    inp = K.Input(shape=(4,))
    model = K.Model(inp, L.Dropout(0.5, name="mc_dropout")(L.Dense(3)(inp), training=True))
    with pytest.raises(tf.onnx.ExportError, match=r'"mc_dropout" \(Dropout\) is called with training=True'):
        tf.onnx.export(model, tmp_path / "x.onnx")


def test_refuses_unsupported_activations(tmp_path):
    model = _seq((4,), L.Dense(3, activation=lambda t: t * 2.0, name="odd"))
    with pytest.raises(tf.onnx.ExportError, match=r'"odd" \(Dense\) uses activation .*Supported activations'):
        tf.onnx.export(model, tmp_path / "x.onnx")
    model = _seq((4, 2), L.LSTM(3, activation="selu", name="rec"))
    with pytest.raises(tf.onnx.ExportError, match=r'"rec" \(LSTM\) uses activation .selu.'):
        tf.onnx.export(model, tmp_path / "x.onnx")


def test_refuses_bad_models_and_arguments(tmp_path):
    class Sub(K.Model):
        def __init__(self):
            super().__init__()
            self.d = L.Dense(2)

        def call(self, x):
            return self.d(x)
    with pytest.raises(tf.onnx.ExportError, match="subclassed Model"):
        tf.onnx.export(Sub(), tmp_path / "x.onnx")
    with pytest.raises(tf.onnx.ExportError, match="not built"):
        tf.onnx.export(K.Sequential([L.Dense(2)]), tmp_path / "x.onnx")
    with pytest.raises(TypeError, match="expected a keras Model"):
        tf.onnx.export(L.Dense(2), tmp_path / "x.onnx")
    with pytest.raises(ValueError, match="opset must be an int from 17"):
        tf.onnx.export(_seq((3,), L.Dense(2)), tmp_path / "x.onnx", opset=11)
    model = _seq((3,), L.Dense(2, dtype="float64", name="d64"))
    with pytest.raises(tf.onnx.ExportError, match=r'"d64" \(Dense\) computes in float64'):
        tf.onnx.export(model, tmp_path / "x.onnx")


# -- packaging -------------------------------------------------------------------------------------------
def test_import_tapeflow_does_not_import_onnx():
    code = ("import sys, tapeflow; m = tapeflow.onnx; "
            "print('onnx' in sys.modules, 'onnxruntime' in sys.modules, callable(m.export))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False", "True"]


def test_missing_onnx_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "onnx", None)
    with pytest.raises(ImportError, match=r"pip install tapeflow\[onnx\]"):
        tf.onnx.export(_seq((3,), L.Dense(2)), tmp_path / "x.onnx")


def test_docstring_example():
    import doctest

    import tapeflow.onnx
    result = doctest.testmod(tapeflow.onnx, verbose=False)
    assert result.attempted >= 4 and result.failed == 0
