"""``keras.utils.FeatureSpace`` against Keras 3.15.1 (fixture: tests/fixtures/make_keras3_feature_space.py), its
config and ``.keras`` round trips, its errors, and the Keras "structured data classification with FeatureSpace"
flow end to end (adapt, ``Dataset.map``, ``fit``, an inference model on raw values)."""
import json
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras.utils.feature_space import FeatureSpace

FIXTURE = os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_feature_space.json")
with open(FIXTURE) as _f:
    REF = json.load(_f)
FLOATS = ("f_plain", "f_norm", "f_resc", "f_disc")
INTS = ("i_cat", "i_hash")


def table_arrays(table, names, column=False):
    out = {}
    for k in names:
        dtype = "float32" if k in FLOATS else "int64" if k in INTS else None
        a = np.array(table[k], dtype=dtype)
        out[k] = a.reshape(-1, 1) if column else a
    return out


def build(spec):
    """tapeflow's FeatureSpace from a fixture spec (the generator's ``build``, with tapeflow's classes)."""
    features = {}
    for name, f in spec["features"].items():
        if isinstance(f, str):
            features[name] = f
        elif f["type"] == "feature":
            layer = getattr(keras.layers, f["layer"])(**f["layer_kwargs"])
            features[name] = FeatureSpace.feature(dtype=f["dtype"], preprocessor=layer, output_mode=f["output_mode"])
        else:
            features[name] = getattr(FeatureSpace, f["type"])(**f["kwargs"])
    crosses = [tuple(c) if isinstance(c, list) else FeatureSpace.cross(tuple(c["feature_names"]), c["crossing_dim"],
                                                                        output_mode=c["output_mode"])
               for c in spec["crosses"]]
    return FeatureSpace(features=features, crosses=crosses, **spec["init"])


def adapt(fs, spec):
    data = table_arrays(REF["table"], list(spec["features"]))
    if spec["adapt"] == "dict":
        fs.adapt(data)
        return
    ds = tf.data.Dataset.from_tensor_slices(data)
    if spec["adapt"].startswith("batched:"):
        ds = ds.batch(int(spec["adapt"].split(":")[1]))
    fs.adapt(ds)


def check_output(got, ref, where):
    if "dtype" not in ref:
        assert list(got) == list(ref), f"{where}: output keys/order {list(got)} != Keras {list(ref)}"
        for k in ref:
            check_output(got[k], ref[k], f"{where}[{k!r}]")
        return
    a = got.numpy()
    assert list(a.shape) == ref["shape"], f"{where}: shape {a.shape} != Keras {ref['shape']}"
    if ref["dtype"] == "float32":
        assert a.dtype == np.float32, f"{where}: dtype {a.dtype} != Keras float32"
        np.testing.assert_allclose(a, np.array(ref["value"], np.float32), rtol=1e-5, atol=1e-5, err_msg=where)
    else:  # integer indices: Keras gives int64 (int32 from Discretization), tapeflow int64 throughout
        assert a.dtype.kind == "i" and ref["dtype"].startswith("int"), f"{where}: dtype {a.dtype} vs {ref['dtype']}"
        np.testing.assert_array_equal(a, np.array(ref["value"]), err_msg=where)


def check_against_keras(fs, entry, key):
    names = list(entry["spec"]["features"])
    check_output(fs(table_arrays(REF["table"], names)), entry["table_out"], f"{key} table")
    check_output(fs(table_arrays(REF["query"], names, column=True)), entry["query_out"], f"{key} query")
    single = {k: v[0] for k, v in table_arrays(REF["query"], names).items()}
    check_output(fs(single), entry["single_out"], f"{key} single example")


@pytest.mark.parametrize("key", sorted(REF["configs"]))
def test_outputs_match_keras(key):
    entry = REF["configs"][key]
    fs = build(entry["spec"])
    adapt(fs, entry["spec"])
    check_against_keras(fs, entry, key)


@pytest.mark.parametrize("key", sorted(REF["configs"]))
def test_inputs_encoded_and_config_match_keras(key):
    entry = REF["configs"][key]
    fs = build(entry["spec"])
    adapt(fs, entry["spec"])
    inputs = fs.get_inputs()
    assert list(inputs) == list(entry["inputs"])
    for name, ref in entry["inputs"].items():
        dtype = keras.backend.standardize_dtype(inputs[name].dtype)   # tapeflow keeps strings as NumPy objects
        assert list(inputs[name].shape) == ref["shape"] and dtype == ref["dtype"], (name, dtype, ref)
    encoded = fs.get_encoded_features()
    ref_encoded = entry["encoded"] if "dtype" not in entry["encoded"] else {None: entry["encoded"]}
    got_encoded = encoded if isinstance(encoded, dict) else {None: encoded}
    assert list(got_encoded) == list(ref_encoded)
    for name, ref in ref_encoded.items():  # the output dimension of each encoded feature / the concatenation
        assert list(got_encoded[name].shape) == ref["shape"], (name, got_encoded[name].shape, ref["shape"])
    config = fs.get_config()
    assert {k: config[k] for k in entry["config_rest"]} == entry["config_rest"]
    features = {k: {"class_name": v["class_name"], "dtype": v["config"]["dtype"],
                    "output_mode": v["config"]["output_mode"],
                    "preprocessor": v["config"]["preprocessor"]["class_name"]} for k, v in config["features"].items()}
    assert features == entry["config_features"]
    assert json.loads(json.dumps([c["config"] for c in config["crosses"]])) == entry["config_crosses"]


def test_rebuilt_from_keras_serialized_config():
    """Keras's own serialization of an adapted FeatureSpace rebuilds here (un-adapted, as in Keras), and
    adapting it gives Keras's outputs."""
    entry = REF["configs"]["keras_config"]
    with pytest.raises(ValueError, match=r"call \.adapt\(dataset\) before using it"):
        FeatureSpace.from_config(entry["serialized"]["config"])({"f_plain": 1.0})
    fs = keras.layers.deserialize(entry["serialized"])  # with Keras's build_config: built, as Keras rebuilds it
    assert isinstance(fs, FeatureSpace) and fs.built
    with pytest.raises(ValueError, match=r"Keras keeps vocabularies in the file's assets/"):  # not silent OOVs
        fs(table_arrays(REF["query"], list(entry["spec"]["features"])))
    adapt(fs, entry["spec"])
    check_against_keras(fs, entry, "keras_config (from Keras's config)")


@pytest.mark.parametrize("key", ["shorthand_concat", "dict_int"])
def test_get_config_round_trip(key):
    entry = REF["configs"][key]
    fs = build(entry["spec"])
    adapt(fs, entry["spec"])
    config = json.loads(json.dumps(fs.get_config()))
    again = FeatureSpace.from_config(config)
    config2 = json.loads(json.dumps(again.get_config()))
    for c in (config, config2):  # an adapted Discretization reloads with num_bins=None (its boundaries fixed)
        for f in c["features"].values():
            f["config"]["preprocessor"]["config"].pop("num_bins", None)
    assert config2 == config
    adapt(again, entry["spec"])
    check_against_keras(again, entry, f"{key} from_config")


def test_save_and_load_model(tmp_path):
    entry = REF["configs"]["explicit_concat"]   # vocabularies, bin boundaries and Normalization weights
    fs = build(entry["spec"])
    adapt(fs, entry["spec"])
    path = str(tmp_path / "featurespace.keras")
    fs.save(path)
    with zipfile.ZipFile(path) as zf:
        config = json.loads(zf.read("config.json"))
    assert config["class_name"] == "FeatureSpace" and sorted(config["config"]["features"]) == sorted(fs.features)
    script = ("import sys, json, numpy as np, tapeflow as tf\n"
              "fs = tf.keras.saving.load_model(sys.argv[1])\n"
              "print(json.dumps(fs({k: np.array(v) for k, v in json.loads(sys.argv[2]).items()}).numpy().tolist()))")
    query = table_arrays(REF["query"], list(entry["spec"]["features"]), column=True)
    arg = json.dumps({k: v.tolist() for k, v in query.items()})

    def fresh_process():  # a new interpreter: FeatureSpace must be found by name without importing it first
        run = subprocess.run([sys.executable, "-c", script, path, arg], capture_output=True, text=True, timeout=300)
        if run.returncode:
            raise RuntimeError(run.stderr.strip().splitlines()[-1])
        return json.loads(run.stdout)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, FeatureSpace)
    check_against_keras(loaded, entry, "reloaded explicit_concat")
    assert list(loaded.get_inputs()) == list(fs.get_inputs())
    np.testing.assert_allclose(fresh_process(), entry["query_out"]["value"], rtol=1e-5, atol=1e-5)


def test_functional_model_on_inputs_matches_direct_call():
    entry = REF["configs"]["shorthand_concat"]
    fs = build(entry["spec"])
    adapt(fs, entry["spec"])
    model = keras.Model(fs.get_inputs(), fs.get_encoded_features())
    data = table_arrays(REF["query"], list(entry["spec"]["features"]), column=True)
    np.testing.assert_allclose(model.predict(data, verbose=0), fs(data).numpy(), rtol=1e-6, atol=1e-6)
    check_output(model(data), entry["query_out"], "functional model")


def test_dataset_map_and_pairs_and_tensors():
    """``adapt`` on (dict, label) pairs, ``Dataset.map(feature_space)``, and Tensor / list inputs."""
    entry = REF["configs"]["shorthand_concat"]
    names = list(entry["spec"]["features"])
    data = table_arrays(REF["table"], names)
    fs = build(entry["spec"])
    fs.adapt(tf.data.Dataset.from_tensor_slices((data, np.arange(12))))
    check_against_keras(fs, entry, "adapted on pairs")
    mapped = np.concatenate([b.numpy() for b in tf.data.Dataset.from_tensor_slices(data).batch(5).map(fs)])
    np.testing.assert_allclose(mapped, np.array(entry["table_out"]["value"], np.float32), rtol=1e-5, atol=1e-5)
    as_lists = fs({k: v.tolist() for k, v in data.items()})
    as_tensors = fs({k: tf.convert_to_tensor(v) for k, v in data.items()})
    np.testing.assert_array_equal(as_lists.numpy(), as_tensors.numpy())


def test_needs_no_adapt_without_adaptable_features():
    fs = FeatureSpace({"x": "float", "s": FeatureSpace.string_hashed(num_bins=3)}, output_mode="dict")
    out = fs({"x": [1, 2], "s": ["a", "b"]})
    assert out["x"].numpy().dtype == np.float32 and out["x"].numpy().tolist() == [[1.0], [2.0]]
    assert out["s"].numpy().shape == (2, 3)


def test_discretized_with_given_boundaries():
    """Keras fails here (it adapts a layer with fixed boundaries); tapeflow uses the boundaries."""
    f = FeatureSpace.float_discretized(num_bins=None, bin_boundaries=[0.0, 1.0])
    fs = FeatureSpace({"x": f, "n": "float_normalized"})
    fs.adapt({"x": np.array([-1.0, 0.5, 2.0]), "n": np.array([1.0, 2.0, 3.0])})
    out = fs({"x": [-5.0, 0.5, 7.0], "n": [2.0, 2.0, 2.0]}).numpy()   # sorted: n (normalized), then x one-hot
    assert out.tolist() == [[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]]


# -- errors --------------------------------------------------------------------------------------
def _adapted(features, crosses=None, output_mode="concat", data=None):
    fs = FeatureSpace(features, crosses=crosses, output_mode=output_mode)
    fs.adapt(data or {"n": np.array([1.0, 2.0]), "s": np.array(["a", "b"]), "i": np.array([1, 2])})
    return fs


@pytest.mark.parametrize("make, match", [
    (lambda: FeatureSpace({}), r"`features` must be a non-empty dict"),
    (lambda: FeatureSpace({"x": "floaty"}), r"feature 'x' has the unknown type 'floaty'; use one of \['float'"),
    (lambda: FeatureSpace({"x": 3}), r"feature 'x' has the unknown type 3"),
    (lambda: FeatureSpace({"x": "float"}, output_mode="stack"), r"output_mode must be 'concat' or 'dict', got 'stack'"),
    (lambda: FeatureSpace({"x": "float"}, crosses=[("x", "y")]), r"names \['y'\], which are not in `features`"),
    (lambda: FeatureSpace({"x": "string_hashed", "y": "string_hashed"}, crosses=[("x", "y"), ("x", "y")]),
     r"the cross 'x_X_y' is listed twice"),
    (lambda: FeatureSpace({"x": "float"}, crosses=[("x",)]), r"at least two feature names"),
    (lambda: FeatureSpace.cross(("a", "b"), crossing_dim=0),
     r"crossing_dim must be a positive integer \(the number of hash bins\), got 0"),
    (lambda: FeatureSpace.cross(("a", "b"), 4, output_mode="float"),
     r"output_mode must be one of \('int', 'one_hot'\)"),
    (lambda: FeatureSpace.feature("float32", keras.layers.Identity(), "dense"), r"output_mode must be one of"),
    (lambda: FeatureSpace.feature("float32", "normalization", "float"), r"preprocessor must be a Keras layer"),
])
def test_construction_errors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_encoding_errors():
    with pytest.raises(ValueError, match=r"feature 'n' has output_mode='one_hot', so its preprocessor .* must return "
                                         r"integer indices, but it returns float values"):
        FeatureSpace({"n": FeatureSpace.feature("float32", keras.layers.Rescaling(2.0), "one_hot")}).get_inputs()
    with pytest.raises(ValueError, match=r"feature 'i' has output_mode='one_hot', but the size of its preprocessor's "
                                         r"output space \(Identity\) is not known.*use output_mode='int'"):
        FeatureSpace({"i": FeatureSpace.feature("int32", keras.layers.Identity(), "one_hot")}).get_inputs()
    with pytest.raises(ValueError, match=r"cannot concatenate feature 's': .*output_mode is 'int'.*output_mode='dict'"):
        _adapted({"s": FeatureSpace.string_categorical(output_mode="int")})
    with pytest.raises(ValueError, match=r"call \.adapt\(dataset\) before using it \(features \['n'\]"):
        FeatureSpace({"n": "float_normalized"}).get_inputs()


def test_call_and_adapt_errors():
    fs = _adapted({"n": "float_normalized", "s": "string_categorical", "i": "integer_categorical"})
    good = {"n": [1.0, 2.0], "s": ["a", "b"], "i": [1, 2]}
    for bad, match in [
        ([1.0, 2.0], r"call it on a dict of feature columns, got list"),
        ({"n": [1.0], "s": ["a"]}, r"missing \['i'\], unexpected \[\]"),
        ({**good, "extra": [0]}, r"missing \[\], unexpected \['extra'\]"),
        ({**good, "n": ["x", "y"]}, r"feature 'n' takes numbers \(float32\), got <U1 values"),
        ({**good, "i": [1.5, 2.0]}, r"feature 'i' takes integers \(int32\), got non-integer floats such as \[1.5\]"),
        ({**good, "s": [1, 2]}, r"feature 's' takes strings, got int64 values"),
        ({**good, "i": [1, 2, 3]}, r"every feature needs the same number of examples, got .*'i': 3"),
    ]:
        with pytest.raises(ValueError, match=match):
            fs(bad)
    np.testing.assert_array_equal(fs({**good, "i": [1.0, 2.0]}).numpy(), fs(good).numpy())  # integral floats: fine
    with pytest.raises(ValueError, match=r"adapt: expected a tf.data.Dataset of dicts or a dict of arrays, got list"):
        fs.adapt([1, 2])
    with pytest.raises(ValueError, match=r"must yield dicts of feature columns .* got Tensor"):
        fs.adapt(tf.data.Dataset.from_tensor_slices(np.arange(3.0)))
    with pytest.raises(ValueError, match=r"no column for feature 'n' \(columns: \['i', 's'\]\)"):
        fs.adapt(tf.data.Dataset.from_tensor_slices({"s": np.array(["a"]), "i": np.array([1])}))


# -- the Keras example: structured data classification with FeatureSpace ---------------------------
def heart_like(n, seed):
    """A synthetic stand-in for the Cleveland heart-disease table of the Keras example (same columns and types),
    with a target that depends on a few of them."""
    rng = np.random.default_rng(seed)
    thal = rng.choice(np.array(["fixed", "normal", "reversible"]), n)
    data = {"age": rng.integers(29, 78, n), "sex": rng.integers(0, 2, n), "cp": rng.integers(0, 5, n),
            "fbs": rng.integers(0, 2, n), "restecg": rng.integers(0, 3, n), "exang": rng.integers(0, 2, n),
            "ca": rng.integers(0, 4, n), "thal": thal, "trestbps": rng.normal(130, 17, n).round(),
            "chol": rng.normal(245, 50, n).round(), "thalach": rng.normal(150, 22, n).round(),
            "oldpeak": rng.exponential(1.0, n).round(1), "slope": rng.integers(1, 4, n).astype(float)}
    score = (1.5 * (thal == "reversible") + 0.9 * (data["cp"] >= 3) + 0.04 * (data["age"] - 54)
             - 0.03 * (data["thalach"] - 150) + 0.8 * data["exang"] - 1.2)
    return data, (score > 0).astype("int64")


def heart_feature_space(thal_oov=0):
    fs = FeatureSpace
    return FeatureSpace(
        features={
            "sex": fs.integer_categorical(num_oov_indices=0), "cp": fs.integer_categorical(num_oov_indices=0),
            "fbs": fs.integer_categorical(num_oov_indices=0), "restecg": fs.integer_categorical(num_oov_indices=0),
            "exang": fs.integer_categorical(num_oov_indices=0), "ca": fs.integer_categorical(num_oov_indices=0),
            "thal": fs.string_categorical(num_oov_indices=thal_oov), "age": fs.float_discretized(num_bins=30),
            "trestbps": fs.float_normalized(), "chol": fs.float_normalized(), "thalach": fs.float_normalized(),
            "oldpeak": fs.float_normalized(), "slope": fs.float_normalized()},
        crosses=[fs.cross(feature_names=("sex", "age"), crossing_dim=64),
                 fs.cross(feature_names=("thal", "ca"), crossing_dim=16)],
        output_mode="concat")


@pytest.mark.parametrize("thal_oov", [0, 1], ids=["as_in_keras_example", "thal_with_oov_slot"])
def test_structured_data_classification_end_to_end(thal_oov):
    keras.utils.set_random_seed(1)
    train, train_y = heart_like(320, seed=0)
    val, val_y = heart_like(120, seed=1)
    train_ds = tf.data.Dataset.from_tensor_slices((train, train_y)).shuffle(320, seed=0).batch(32)
    val_ds = tf.data.Dataset.from_tensor_slices((val, val_y)).batch(32)
    feature_space = heart_feature_space(thal_oov)
    feature_space.adapt(train_ds.map(lambda x, _: x))
    width = feature_space.get_encoded_features().shape[-1]   # Keras's layout for these vocabularies:
    assert width == 2 + 5 + 2 + 3 + 2 + 4 + (3 + thal_oov) + 30 + 5 + 64 + 16
    preprocessed_train = train_ds.map(lambda x, y: (feature_space(x), y), num_parallel_calls=tf.data.AUTOTUNE)
    preprocessed_train = preprocessed_train.prefetch(tf.data.AUTOTUNE)
    preprocessed_val = val_ds.map(lambda x, y: (feature_space(x), y), num_parallel_calls=tf.data.AUTOTUNE)

    model = keras.Sequential([keras.layers.Dense(32, activation="relu"), keras.layers.Dropout(0.5),
                              keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(preprocessed_train, epochs=40, validation_data=preprocessed_val, verbose=0)
    assert history.history["loss"][-1] < 0.7 * history.history["loss"][0]
    assert history.history["val_accuracy"][-1] > 0.75, history.history["val_accuracy"][::5]

    inference_model = keras.Model(inputs=feature_space.get_inputs(),
                                  outputs=model(feature_space.get_encoded_features()))
    sample = {"age": 60, "sex": 1, "cp": 1, "fbs": 0, "restecg": 2, "exang": 0, "ca": 2, "thal": "fixed",
              "trestbps": 145, "chol": 233, "thalach": 150, "oldpeak": 2.3, "slope": 3}
    input_dict = {name: keras.ops.convert_to_tensor([value]) for name, value in sample.items()}
    prediction = inference_model.predict(input_dict, verbose=0)
    assert prediction.shape == (1, 1)
    direct = model.predict(feature_space({k: [v] for k, v in sample.items()}), verbose=0)
    np.testing.assert_allclose(prediction, direct, rtol=1e-5, atol=1e-6)
    batch = inference_model.predict(val, verbose=0)   # a dict of raw columns, as in the example
    assert float(np.mean((batch[:, 0] > 0.5) == val_y)) > 0.75   # the labels are 55% ones


def test_example_training_model_on_encoded_features():
    """The Keras example's other form: a training model whose *inputs* are the encoded features, and an inference
    model on the raw inputs that shares its layers."""
    keras.utils.set_random_seed(2)
    train, train_y = heart_like(160, seed=3)
    train_ds = tf.data.Dataset.from_tensor_slices((train, train_y)).batch(32)
    feature_space = heart_feature_space(thal_oov=1)
    feature_space.adapt(train_ds.map(lambda x, _: x))
    dict_inputs = feature_space.get_inputs()
    encoded_features = feature_space.get_encoded_features()
    x = keras.layers.Dense(32, activation="relu")(encoded_features)
    predictions = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Dropout(0.5)(x))
    training_model = keras.Model(inputs=encoded_features, outputs=predictions)
    training_model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    inference_model = keras.Model(inputs=dict_inputs, outputs=predictions)
    training_model.fit(train_ds.map(lambda x, y: (feature_space(x), y)), epochs=2, verbose=0)
    np.testing.assert_allclose(inference_model.predict(train, verbose=0),
                               training_model.predict(feature_space(train), verbose=0), rtol=1e-5, atol=1e-6)


def test_adapt_again_resizes_the_one_hot_encodings():
    fs = FeatureSpace({"s": "string_categorical"})
    fs.adapt({"s": np.array(["a", "b"])})
    assert fs({"s": ["b"]}).numpy().tolist() == [[0.0, 1.0, 0.0]]   # [UNK], b, a (ties: reverse token order)
    fs.adapt({"s": np.array(["c", "c", "a", "b", "c"])})
    assert fs.get_encoded_features().shape[-1] == 4
    assert fs({"s": ["b", "c"]}).numpy().tolist() == [[0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0]]
