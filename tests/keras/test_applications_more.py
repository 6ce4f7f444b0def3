"""keras.applications beyond the first families: DenseNet169/201, EfficientNetB1-B7, ResNet50V2/101V2/152V2,
InceptionV3, Xception, MobileNetV3Small/Large, EfficientNetV2B0-B3/S/M/L, ConvNeXtTiny-XLarge, InceptionResNetV2,
NASNetMobile/Large, against references from the real Keras 3.15.1 (tests/fixtures/make_keras3_applications_more.py):

* each configuration's layer listing (names, classes, weight names and shapes, in order), parameter counts and
  output shape; for the keys ending in ``_n`` also the output, with every weight set by the deterministic
  ``rule_value`` in both frameworks;
* models saved by Keras to ``.weights.h5`` (small builder-level configurations) loaded with ``weights=<file>``;
* the arguments each variant (``EfficientNetB4``, ``ConvNeXtXLarge``...) passes to its family's builder, so the
  variants not built here are checked too; signatures, module namespaces and ``preprocess_input``.

Tensor operators on KerasTensors (``inputs + layer(x)`` in ConvNeXt blocks, MobileNetV3's hard sigmoid) are
operations, not layers: ``model.layers`` leaves them out in both libraries.
"""
import hashlib
import inspect
import json
import os
import zlib

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras.applications import convnext, efficientnet_v2, inception_resnet_v2, mobilenet_v3, nasnet, resnet

A = tf.keras.applications
FIXTURES = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures")
with open(os.path.join(FIXTURES, "keras3_applications_more.json"), encoding="utf-8") as _f:
    REF = json.load(_f)
IO = np.load(os.path.join(FIXTURES, "keras3_applications_more_io.npz"))
CONFIGS = REF["configs"]
S32 = (32, 32, 3)


def _kwargs(entry):
    kwargs = dict(entry["kwargs"])
    if "input_shape" in kwargs:
        kwargs["input_shape"] = tuple(kwargs["input_shape"])
    return kwargs


def _keras_view(model):
    """``(rows, params)`` of ``model.layers``: names, classes, weight names and shapes."""
    rows, params = [], 0
    for layer in model.layers:
        weights = layer.weights
        params += sum(int(np.prod(w.shape)) for w in weights)
        rows.append([layer.name, type(layer).__name__, [[w.name, [int(d) for d in w.shape]] for w in weights]])
    return rows, params


def rule_value(layer_name, index, weight_name, shape):
    """The generator's deterministic weights (a copy of ``rule_value`` in make_keras3_applications_more.py)."""
    rng = np.random.default_rng(zlib.crc32(f"{layer_name}/{index}".encode()))
    if weight_name in ("gamma", "moving_variance", "variance"):
        return rng.uniform(0.5, 1.5, shape).astype("float32")
    if len(shape) >= 2:
        fan_in = int(np.prod(shape[:2] if weight_name == "depthwise_kernel" else shape[:-1]))
        return (rng.normal(size=shape) * np.sqrt(2.0 / fan_in)).astype("float32")
    return (rng.normal(size=shape) * 0.1).astype("float32")


def _input_for(key, shape, scale):
    return np.random.default_rng(zlib.crc32(key.encode())).uniform(0, scale, (2,) + tuple(shape)).astype("float32")


def _assert_close(got, want):
    scale = float(np.abs(want).max())
    assert scale > 0
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * scale)


@pytest.fixture
def zero_init(monkeypatch):
    """Every weight starts as zeros: the listings do not depend on initial values, and drawing ~1e9 random numbers
    for the big variants is most of their build time (numeric checks set every weight afterwards)."""
    monkeypatch.setattr(tf.keras.initializers, "get", lambda spec: _zeros)


def _zeros(shape, dtype=None):
    return np.zeros(shape, dtype or "float32")


@pytest.mark.parametrize("key", sorted(CONFIGS))
def test_architecture_matches_keras(key, zero_init):
    ref = CONFIGS[key]
    tf.keras.backend.clear_session()
    model = getattr(A, ref["fn"])(weights=None, **_kwargs(ref))
    rows, params = _keras_view(model)
    if "rows" in ref and rows != ref["rows"]:
        i = next((i for i, (a, b) in enumerate(zip(rows, ref["rows"])) if a != b), min(len(rows), len(ref["rows"])))
        pytest.fail(f"{key}: first difference at layer {i}: tapeflow {rows[i:i + 1]}, Keras {ref['rows'][i:i + 1]}")
    assert model.name == ref["name"]
    assert rows[-3:] == ref["tail"]
    assert len(rows) == ref["n_layers"]
    assert hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16] == ref["digest"]
    assert params == ref["params"]
    assert sum(int(np.prod(w.shape)) for w in model.trainable_weights) == ref["trainable"]
    assert list(model.output.shape)[1:] == ref["output_shape"]
    if key.endswith("_n"):               # and numerically, with the generator's weights
        for layer in model.layers:
            for i, w in enumerate(layer.weights):
                if w.name != "count":
                    w.assign(rule_value(layer.name, i, w.name, tuple(w.shape)))
        x = _input_for(key, ref["kwargs"]["input_shape"], ref["scale"])
        _assert_close(model.predict(x, verbose=0), IO[f"y_{key}"])


def _resnet_v2_stack(x):
    x = resnet.stack_residual_blocks_v2(x, 8, 2, name="conv2")
    return resnet.stack_residual_blocks_v2(x, 16, 2, stride1=1, name="conv3")


# the generator's _h5_builders, built here by tapeflow's builders
H5 = {
    "convnext_h5": lambda w: convnext.ConvNeXt([1, 1, 2, 1], [8, 8, 16, 16], name="convnext_tiny", input_shape=S32,
                                               classes=3, classifier_activation=None, weights=w),
    "efficientnetv2_h5": lambda w: efficientnet_v2.EfficientNetV2(0.1, 0.1, 32, name="efficientnetv2-b0",
                                                                  input_shape=S32, include_top=False, pooling="avg",
                                                                  weights=w),
    "nasnet_h5": lambda w: nasnet.NASNet(S32, penultimate_filters=96, num_blocks=1, stem_block_filters=8,
                                         skip_reduction=False, default_size=32, classes=2, classifier_activation=None,
                                         weights=w),
    "resnetv2_h5": lambda w: resnet.ResNet(_resnet_v2_stack, True, True, name="resnetv2_small", input_shape=S32,
                                           classes=2, classifier_activation=None, weights=w),
    "mobilenetv3_h5": lambda w: mobilenet_v3.MobileNetV3Small(alpha=0.25, include_top=False, input_shape=S32,
                                                              weights=w),
}
@pytest.mark.parametrize("key", sorted(H5))
def test_keras_weight_file_loads(key):
    tf.keras.backend.clear_session()
    model = H5[key](os.path.join(FIXTURES, "keras3_applications_more", f"{key}.weights.h5"))
    rows, params = _keras_view(model)
    assert hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16] == REF["h5"][key]["digest"]
    assert params == REF["h5"][key]["params"]
    _assert_close(model.predict(_input_for(key, S32, 255.0), verbose=0), IO[f"y_{key}"])


# variant-name prefix -> (the family's builder, the module it is looked up in)
_FAMILIES = {"DenseNet": ("DenseNet", A.densenet), "EfficientNetB": ("EfficientNet", A.efficientnet),
             "EfficientNetV2": ("EfficientNetV2", A.efficientnet_v2), "ConvNeXt": ("ConvNeXt", A.convnext),
             "NASNet": ("NASNet", A.nasnet), "ResNet": ("ResNet", A.resnet),
             "MobileNetV3": ("MobileNetV3", A.mobilenet_v3)}


class _Recorded(Exception):
    pass


@pytest.mark.parametrize("fn", sorted(REF["builder_args"]))
def test_variant_builder_args_match_keras(fn, monkeypatch):
    """Each variant calls its family's builder with Keras's arguments (callables: stack functions, compared by
    the listings of the built variants)."""
    builder, module = next(v for k, v in _FAMILIES.items() if fn.startswith(k))
    sig = inspect.signature(getattr(module, builder))

    def record(*args, **kwargs):
        bound = sig.bind(*args, **kwargs)
        bound.apply_defaults()
        raise _Recorded({k: "<callable>" if callable(v) else v for k, v in bound.arguments.items()})

    monkeypatch.setattr(module, builder, record)
    with pytest.raises(_Recorded) as info:
        getattr(A, fn)(weights=None)
    got = json.loads(json.dumps(info.value.args[0]))           # tuples -> lists, as in the reference
    assert got == REF["builder_args"][fn]


def test_signatures_match_keras():
    for fn, params in REF["api"]["signatures"].items():
        got = [[p.name, repr(p.default)] for p in inspect.signature(getattr(A, fn)).parameters.values()]
        assert got == params, fn


def test_module_namespaces_match_keras():
    for module, names in REF["api"]["modules"].items():
        missing = [n for n in names if not hasattr(getattr(A, module), n)]
        assert not missing, (module, missing)
        assert module in A.__all__
    assert all(fn in A.__all__ and getattr(A, fn) is not None for fn in REF["api"]["signatures"])


def test_preprocess_input_matches_keras():
    x = np.arange(12, dtype="float32").reshape(1, 2, 2, 3) * 20.0
    for module, want in REF["api"]["preprocess"].items():
        got = np.asarray(getattr(A, module).preprocess_input(x.copy())).ravel()
        np.testing.assert_allclose(got, want, atol=1e-3, err_msg=module)
        got_t = getattr(A, module).preprocess_input(tf.constant(x))
        np.testing.assert_allclose(np.asarray(getattr(got_t, "numpy", lambda: got_t)()).ravel(), want, atol=1e-3)


@pytest.mark.parametrize("fn", sorted(REF["api"]["signatures"]))
def test_imagenet_weights_refused_clearly(fn):
    with pytest.raises(ValueError, match=r"cannot be downloaded here.*weights=None"):
        getattr(A, fn)()
    with pytest.raises(ValueError, match="path to the weights file"):
        getattr(A, fn)(weights="/nonexistent/file.weights.h5")


def test_decode_predictions_in_every_module():
    for module in REF["api"]["modules"]:
        with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
            getattr(A, module).decode_predictions(np.zeros((1, 10)))


def test_input_size_checks():
    with pytest.raises(ValueError, match="at least 75x75"):
        A.InceptionV3(weights=None, include_top=False, input_shape=(71, 71, 3))
    with pytest.raises(ValueError, match="at least 71x71"):
        A.Xception(weights=None, include_top=False, input_shape=(64, 64, 3))
    with pytest.raises(ValueError, match="at least 32x32"):
        A.MobileNetV3Small(weights=None, input_shape=(16, 40, 3))
    with pytest.raises(ValueError, match="multiple of 24"):
        A.nasnet.NASNet(S32, penultimate_filters=100, weights=None)


def test_custom_layers_config_and_training():
    scale = inception_resnet_v2.CustomScaleLayer(0.25, name="s")
    assert scale.get_config()["scale"] == 0.25
    y = scale([np.ones((1, 2), "float32"), np.full((1, 2), 4.0, "float32")])
    np.testing.assert_allclose(y.numpy(), [[2.0, 2.0]])
    ls = convnext.LayerScale(1e-6, 4)
    assert ls.get_config()["projection_dim"] == 4
    assert convnext.LayerScale.from_config(ls.get_config()).init_values == 1e-6
    sd = convnext.StochasticDepth(0.5)
    assert sd.get_config()["drop_path_rate"] == 0.5
    tf.random.set_seed(3)
    out = sd(np.ones((64, 3), "float32"), training=True).numpy()
    assert set(np.unique(out).tolist()) <= {0.0, 2.0} and 0 < (out[:, 0] == 0).sum() < 64
    assert np.all(out == out[:, :1])                      # one draw per sample


def test_efficientnet_v2_custom_name_keeps_variant():
    """Keras 3.15.1 looks the blocks up by ``name`` (a custom name raises KeyError there); here the variant's
    blocks and preprocessing are kept."""
    tf.keras.backend.clear_session()
    model = A.EfficientNetV2B0(weights=None, include_top=False, pooling="avg", input_shape=S32, name="my_net")
    rows, _ = _keras_view(model)
    assert model.name == "my_net"
    assert hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16] == CONFIGS["efficientnetv2b0_n"]["digest"]
