"""keras.applications: architectures built layer for layer as Keras 3.15.1 builds them.

Reference numbers come from the real Keras 3.15.1 (TensorFlow backend), after ``keras.backend.clear_session()``:
for each model, the layer count, ``count_params()``, the output shape, and the first 16 hex digits of the sha256 of
``json.dumps([[layer.name, type(layer).__name__, [list(w.shape) for w in layer.weights]] for layer in
model.layers])`` (names, order, classes and per-layer weight shapes).
"""
import hashlib
import json
import os

import numpy as np
import pytest

import tapeflow as tf

A = tf.keras.applications

# key: (function, kwargs, model name, n layers, count_params, output shape without batch, sha256[:16] of the rows)
REFS = {
    "vgg16_c10": ("VGG16", dict(input_shape=(32, 32, 3), classes=10), "vgg16", 23, 33638218, [10],
                  "a5b3886b7802b762"),
    "vgg16_notop": ("VGG16", dict(include_top=False, pooling="avg", input_shape=(32, 32, 3)), "vgg16", 20, 14714688,
                    [512], "6254b4a5b81567ce"),
    "vgg19_c10": ("VGG19", dict(input_shape=(32, 32, 3), classes=10), "vgg19", 26, 38947914, [10],
                  "f7e6a9f7f9663f5c"),
    "vgg19_notop": ("VGG19", dict(include_top=False, pooling="max", input_shape=(48, 40, 3)), "vgg19", 23, 20024384,
                    [512], "bd92168c3ed90615"),
    "resnet50": ("ResNet50", {}, "resnet50", 177, 25636712, [1000], "dd4aaf3374ced87c"),
    "resnet50_notop": ("ResNet50", dict(include_top=False, pooling="avg", input_shape=(32, 32, 3)), "resnet50", 176,
                       23587712, [2048], "65833f08f53faebd"),
    "resnet50_c10": ("ResNet50", dict(input_shape=(64, 64, 3), classes=10), "resnet50", 177, 23608202, [10],
                     "4e082bc69f305e4b"),
    "resnet101": ("ResNet101", {}, "resnet101", 347, 44707176, [1000], "d7450e80a4132e82"),
    "resnet152": ("ResNet152", {}, "resnet152", 517, 60419944, [1000], "6e63f2bcd25b4776"),
    "mobilenetv2": ("MobileNetV2", {}, "mobilenetv2_1.00_224", 156, 3538984, [1000], "a10c039fdb83453c"),
    "mobilenetv2_small": ("MobileNetV2", dict(input_shape=(32, 32, 3), alpha=0.35, classes=3), "mobilenetv2_0.35_32",
                          156, 414051, [3], "dec56b437b9d6296"),
    "mobilenetv2_notop": ("MobileNetV2", dict(include_top=False, pooling="avg", input_shape=(33, 35, 3), alpha=1.4),
                          "mobilenetv2_1.40_33", 155, 4363712, [1792], "c0ee2768dc953858"),
    "mobilenet": ("MobileNet", {}, "mobilenet_1.00_224", 91, 4253864, [1000], "58b88cfb04050a4a"),
    "mobilenet_small": ("MobileNet", dict(input_shape=(32, 32, 3), alpha=0.25, classes=5, depth_multiplier=2),
                        "mobilenet_0.25_32", 91, 432173, [5], "9bf37a69c7d8991c"),
    "mobilenet_notop": ("MobileNet", dict(include_top=False, pooling="avg", input_shape=(32, 32, 3), alpha=0.5),
                        "mobilenet_0.50_32", 87, 829536, [512], "64eacfbce95bec62"),
    "densenet121": ("DenseNet121", {}, "densenet121", 429, 8062504, [1000], "eb71f31d927b1311"),
    "densenet121_notop": ("DenseNet121", dict(include_top=False, pooling="avg", input_shape=(32, 32, 3), classes=7),
                          "densenet121", 428, 7037504, [1024], "14099bf48d96106b"),
    "efficientnetb0": ("EfficientNetB0", {}, "efficientnetb0", 240, 5330571, [1000], "0da3bfd1bd451856"),
    "efficientnetb0_notop": ("EfficientNetB0", dict(include_top=False, pooling="avg", input_shape=(32, 32, 3)),
                             "efficientnetb0", 238, 4049571, [1280], "e4987b6cd72784c1"),
    "efficientnetb0_c4": ("EfficientNetB0", dict(input_shape=(32, 32, 3), classes=4), "efficientnetb0", 240,
                          4054695, [4], "5a766728cc68bc32"),
}
# Keras 3.15.1's full-size VGG16/VGG19 (224x224 top): 23 layers / 138357544 params and 26 / 143667240 (not built
# here: 7 s of weight initialization); the 32x32 variants above cover every layer except fc1's input size.

_MODELS = {}


def _model(key):
    """Build each reference model once per module, in a fresh naming session as the references were."""
    if key not in _MODELS:
        fn, kwargs = REFS[key][:2]
        tf.keras.backend.clear_session()
        _MODELS[key] = getattr(A, fn)(weights=None, **kwargs)
    return _MODELS[key]


def _rows(model):
    return [[layer.name, type(layer).__name__, [[int(d) for d in w.shape] for w in layer.weights]]
            for layer in model.layers]


@pytest.mark.parametrize("key", sorted(REFS))
def test_architecture_matches_keras(key):
    _, _, name, n_layers, params, out_shape, digest = REFS[key]
    model = _model(key)
    rows = _rows(model)
    assert model.name == name
    assert len(rows) == n_layers
    assert model.count_params() == params
    assert list(model.output.shape)[1:] == out_shape
    assert hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16] == digest


def test_first_and_last_layers_spelled_out():
    rows = _rows(_model("mobilenetv2_small"))
    assert rows[:4] == [["input_layer", "InputLayer", []], ["Conv1", "Conv2D", [[3, 3, 3, 16]]],
                        ["bn_Conv1", "BatchNormalization", [[16], [16], [16], [16]]], ["Conv1_relu", "ReLU", []]]
    assert rows[-3:] == [["out_relu", "ReLU", []], ["global_average_pooling2d", "GlobalAveragePooling2D", []],
                         ["predictions", "Dense", [[1280, 3], [3]]]]
    rows = _rows(_model("efficientnetb0_c4"))
    assert rows[1:3] == [["rescaling", "Rescaling", []], ["normalization", "Normalization", [[3], [3], []]]]


@pytest.mark.parametrize("key", ["vgg16_c10", "resnet50_c10", "mobilenetv2_small", "mobilenet_small",
                                 "efficientnetb0_c4"])
def test_forward_softmax(key):
    model = _model(key)
    shape = tuple(model.input.shape)[1:]
    x = np.random.RandomState(0).uniform(0, 255, (2,) + shape).astype("float32")
    y = model.predict(x, verbose=0)
    assert y.shape == (2, REFS[key][5][0])
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-5)
    assert np.all(y >= 0)


def test_forward_feature_extractor_with_input_tensor():
    inp = tf.keras.Input((32, 32, 3))
    model = A.DenseNet121(weights=None, include_top=False, pooling="avg", input_tensor=inp)
    assert model.input is inp
    y = model(np.ones((2, 32, 32, 3), "float32"))
    assert y.shape.as_list() == [2, 1024]


def test_fit_and_keras_round_trip(tmp_path):
    tf.keras.backend.clear_session()
    tf.random.set_seed(0)
    model = A.MobileNetV2(weights=None, input_shape=(32, 32, 3), alpha=0.35, classes=3)
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    rng = np.random.RandomState(1)
    x = rng.uniform(-1, 1, (8, 32, 32, 3)).astype("float32")
    y = rng.randint(0, 3, (8,))
    before = model.get_layer("predictions").get_weights()[0].copy()
    history = model.fit(x, y, batch_size=4, epochs=1, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    assert not np.allclose(before, model.get_layer("predictions").get_weights()[0])
    path = str(tmp_path / "mnv2.keras")
    model.save(path)
    loaded = tf.keras.models.load_model(path)
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=1e-5, atol=1e-6)


def test_weights_file_path_loads(tmp_path):
    tf.keras.backend.clear_session()
    src = A.MobileNet(weights=None, input_shape=(32, 32, 3), alpha=0.25, classes=4)
    path = str(tmp_path / "mn.weights.h5")
    src.save_weights(path)
    dst = A.MobileNet(weights=path, input_shape=(32, 32, 3), alpha=0.25, classes=4)
    for a, b in zip(src.get_weights(), dst.get_weights()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fn", ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "MobileNetV2", "MobileNet",
                                "DenseNet121", "EfficientNetB0"])
def test_imagenet_weights_refused_clearly(fn):
    with pytest.raises(ValueError, match=r"cannot be downloaded here.*weights=None"):
        getattr(A, fn)()
    with pytest.raises(ValueError, match="path to the weights file"):
        getattr(A, fn)(weights="/nonexistent/file.weights.h5")


def test_signatures_match_keras():
    import inspect
    common = ["include_top", "weights", "input_tensor", "input_shape", "pooling", "classes", "classifier_activation"]
    for fn in ["VGG16", "VGG19", "ResNet50", "ResNet101", "ResNet152", "DenseNet121", "EfficientNetB0"]:
        params = inspect.signature(getattr(A, fn)).parameters
        assert list(params)[:7] == common and params["weights"].default == "imagenet"
    assert list(inspect.signature(A.MobileNetV2).parameters)[:3] == ["input_shape", "alpha", "include_top"]
    assert list(inspect.signature(A.MobileNet).parameters)[:5] == ["input_shape", "alpha", "depth_multiplier",
                                                                   "dropout", "include_top"]


def test_input_shape_checks():
    with pytest.raises(ValueError, match="at least 32x32"):
        A.ResNet50(weights=None, include_top=False, input_shape=(16, 16, 3))
    with pytest.raises(ValueError, match="static `input_shape`"):
        A.VGG16(weights=None, input_shape=(None, None, 3))


# Keras 3.15.1: imagenet_utils.preprocess_input(x.copy(), mode=..., data_format=...), x = arange(12) * 20
KERAS_PRE = {
    ("caffe", "channels_last"): [-63.939, -96.779, -123.68, -3.939, -36.779, -63.68, 56.061, 23.221, -3.68, 116.061,
                                 83.221, 56.32],
    ("tf", "channels_last"): [-1.0, -0.8431, -0.6863, -0.5294, -0.3725, -0.2157, -0.0588, 0.098, 0.2549, 0.4118,
                              0.5686, 0.7255],
    ("torch", "channels_last"): [-2.1179, -1.6856, -1.1073, -1.0904, -0.6352, -0.0615, -0.0629, 0.4153, 0.9842,
                                 0.9646, 1.4657, 2.03],
    ("caffe", "channels_first"): [56.061, 76.061, 96.061, 116.061, -36.779, -16.779, 3.221, 23.221, -123.68,
                                  -103.68, -83.68, -63.68],
    ("torch", "channels_first"): [-2.1179, -1.7754, -1.4329, -1.0904, -0.6352, -0.285, 0.0651, 0.4153, 0.9842,
                                  1.3328, 1.6814, 2.03],
}


@pytest.mark.parametrize("mode,data_format", sorted(KERAS_PRE))
def test_preprocess_input_matches_keras(mode, data_format):
    shape = (1, 2, 2, 3) if data_format == "channels_last" else (1, 3, 2, 2)
    x = np.arange(12, dtype="float32").reshape(shape) * 20.0
    want = np.array(KERAS_PRE[(mode, data_format)])
    got = A.imagenet_utils.preprocess_input(x.copy(), data_format=data_format, mode=mode)
    np.testing.assert_allclose(np.asarray(got).ravel(), want, atol=1e-3)
    got_t = A.imagenet_utils.preprocess_input(tf.constant(x), data_format=data_format, mode=mode)
    np.testing.assert_allclose(np.asarray(got_t.numpy()).ravel(), want, atol=1e-3)


def test_family_preprocess_modes():
    x = np.arange(12, dtype="float32").reshape(1, 2, 2, 3) * 20.0
    caffe = np.array(KERAS_PRE[("caffe", "channels_last")])
    tf_mode = np.array(KERAS_PRE[("tf", "channels_last")])
    torch = np.array(KERAS_PRE[("torch", "channels_last")])
    for module, want in [(A.vgg, caffe), (A.resnet, caffe), (A.mobilenet, tf_mode), (A.mobilenet_v2, tf_mode),
                         (A.densenet, torch)]:
        np.testing.assert_allclose(module.preprocess_input(x.copy()).ravel(), want, atol=1e-3)
    np.testing.assert_array_equal(A.efficientnet.preprocess_input(x.copy()), x)   # preprocessing is in the model
    with pytest.raises(ValueError, match="mode"):
        A.imagenet_utils.preprocess_input(x, mode="bogus")


def test_decode_predictions_needs_local_class_index(tmp_path, monkeypatch):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(A.imagenet_utils, "CLASS_INDEX", None)
    preds = np.zeros((2, 1000), "float32")
    preds[0, 7], preds[1, 3] = 0.9, 0.8
    with pytest.raises(FileNotFoundError, match="cannot be downloaded here"):
        A.resnet.decode_predictions(preds)
    (tmp_path / "models").mkdir()
    index = {str(i): [f"n{i:08d}", f"class{i}"] for i in range(1000)}
    (tmp_path / "models" / "imagenet_class_index.json").write_text(json.dumps(index))
    out = A.vgg.decode_predictions(preds, top=2)
    assert out[0][0][:2] == ("n00000007", "class7") and out[1][0][:2] == ("n00000003", "class3")
    assert len(out[0]) == 2 and out[0][0][2] == pytest.approx(0.9)
    with pytest.raises(ValueError, match=r"\(samples, 1000\)"):
        A.vgg.decode_predictions(np.zeros((1, 10)))


def test_lazy_namespace():
    assert tf.keras.applications.ResNet50 is A.resnet.ResNet50
    assert "applications" in dir(tf.keras)
    assert os.path.basename(A.__file__) == "__init__.py"
