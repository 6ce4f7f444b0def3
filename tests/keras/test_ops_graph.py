"""Tensor operations in functional models (``x + y``, ``x[:, 0]``, ``keras.ops.mean(x, axis=1)``) against the
real Keras 3.15.1 (``tests/fixtures/make_keras3_ops_graph.py``): the same model (``keras3_ops_graph/model.py``,
86 nodes) has Keras's ``layers`` and ``operations``, each operation's class, config and inbound node as Keras
writes them, a model file written by Keras loads and computes Keras's outputs, and a file tapeflow writes holds
Keras's layout (Keras loads it: checked by hand with the generator's Keras, as CI has no TensorFlow)."""
import importlib.util
import json
import os
import zipfile

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras

HERE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "keras3_ops_graph")
with open(os.path.join(HERE, "config.json"), encoding="utf-8") as _f:
    REF = json.load(_f)
IO = np.load(os.path.join(HERE, "io.npz"))
X = [IO[f"x{i}"] for i in range(3)]
Y = [IO[f"y{i}"] for i in range(5)]
_spec = importlib.util.spec_from_file_location("keras3_ops_graph_model", os.path.join(HERE, "model.py"))
spec = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(spec)


def _build():
    keras.backend.clear_session()  # names as in a fresh Keras session ("add", not "add_3")
    return spec.build(keras)


def _norm(v):
    """JSON values with tuples as lists."""
    if isinstance(v, dict):
        return {k: _norm(e) for k, e in v.items()}
    if isinstance(v, (list, tuple)):
        return [_norm(e) for e in v]
    return v


def _entries(config):
    return {e["name"]: e for e in config["layers"]}


def _kind(op):
    return getattr(op, "class_name", None) or type(op).__name__


def test_layers_and_operations_are_listed_as_keras_lists_them():
    m = _build()
    assert [layer.name for layer in m.layers] == REF["layers"]
    assert [[op.name, _kind(op)] for op in m.operations] == REF["operations"]
    with pytest.raises(ValueError, match="No such layer|no layer|not found"):
        m.get_layer("add")  # an operation is not a layer


def test_each_operation_is_configured_as_keras_configures_it():
    ours, ref = _entries(_norm(json.loads(json.dumps(_build().get_config())))), _entries(_norm(REF["config"]))
    assert list(ours) == list(ref)
    compared = 0
    for name, want in ref.items():
        got = ours[name]
        assert got["inbound_nodes"] == want["inbound_nodes"], name
        if want["module"].startswith("keras.src.ops."):
            assert {k: got.get(k) for k in ("module", "class_name", "config", "registered_name")} == \
                {k: want[k] for k in ("module", "class_name", "config", "registered_name")}, name
            compared += 1
    assert compared == 81  # 86 nodes: 3 inputs, 2 Dense layers, 81 operations


def test_a_model_file_written_by_keras_loads_and_computes_kerass_outputs():
    m = keras.models.load_model(os.path.join(HERE, "ops_graph.keras"))
    assert [layer.name for layer in m.layers] == REF["layers"]
    assert [[op.name, _kind(op)] for op in m.operations] == REF["operations"]
    for got, want in zip(m.predict(X, verbose=0), Y):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_a_file_written_by_tapeflow_holds_kerass_layout_and_loads_back(tmp_path):
    m = _build()
    m.set_weights(keras.models.load_model(os.path.join(HERE, "ops_graph.keras")).get_weights())
    path = str(tmp_path / "ops.keras")
    m.save(path)
    with zipfile.ZipFile(path) as z:
        written = _entries(json.loads(z.read("config.json"))["config"])
    assert "__tuple__" not in json.dumps(written)  # Keras cannot read it in a node
    for name, want in _entries(_norm(REF["config"])).items():
        assert written[name]["inbound_nodes"] == want["inbound_nodes"], name
        if want["module"].startswith("keras.src.ops."):
            assert {k: written[name][k] for k in ("module", "class_name", "config")} == \
                {k: want[k] for k in ("module", "class_name", "config")}, name
    back = keras.models.load_model(path)
    for got, want in zip(back.predict(X, verbose=0), Y):
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


def test_operators_follow_keras():
    x, y = keras.Input((3,)), keras.Input((3,))
    assert (x == y) is False and (x == x) is True  # == stays Python's identity test, as in Keras
    kinds = {e: _kind(v._keras_history[0]) for e, v in
             {"!=": x != y, "//": x // 2, "%": x % 2, "~": ~(x > y), "&": (x > y) & (x < y), "|": (x > y) | (x < y),
              "^": (x > y) ^ (x < y), "round": round(x), "abs": abs(x), "/": x / y, "**": x ** 2}.items()}
    assert kinds == {"!=": "NotEqual", "//": "FloorDivide", "%": "Mod", "~": "LogicalNot", "&": "LogicalAnd",
                     "|": "LogicalOr", "^": "LogicalXor", "round": "Round", "abs": "Absolute", "/": "TrueDivide",
                     "**": "Power"}


def test_an_op_keras_lacks_keeps_tapeflows_config_and_old_files_still_load():
    x = keras.Input((4,))
    m = keras.Model(x, keras.ops.mean(x, axis=-1))
    cfg = m.get_config()
    old, name = dict(cfg), cfg["layers"][1]["name"]  # the layout tapeflow wrote before it followed Keras's
    old["layers"] = [cfg["layers"][0], {"module": "keras.layers", "class_name": "OpLayer",
                                        "config": {"name": name, "op": "ops.mean", "op_kwargs": {"axis": -1}},
                                        "name": name, "inbound_nodes": cfg["layers"][1]["inbound_nodes"]}]
    back = keras.Model.from_config(old)
    np.testing.assert_allclose(back(np.ones((2, 4), "float32")).numpy(), [1.0, 1.0])
    y = keras.ops.mish(x)  # not in Keras 3.15's keras.ops: saved in tapeflow's own layout
    op = y._keras_history[0]
    assert op.class_name == "OpLayer" and op.keras_serialized() is None
    again = keras.Model.from_config(keras.Model(x, y).get_config())
    data = np.linspace(-2, 2, 8, dtype="float32").reshape(2, 4)
    np.testing.assert_allclose(again(data).numpy(), data * np.tanh(np.log1p(np.exp(data))), rtol=1e-6)


def test_an_unknown_keras_operation_class_is_named_in_the_error():
    with pytest.raises(ValueError, match=r"keras\.src\.ops\.numpy\.Frobnicate is not known"):
        keras.layers.deserialize({"module": "keras.src.ops.numpy", "class_name": "Frobnicate",
                                  "config": {"name": "f"}})


def test_a_tensorflow_function_on_a_keras_tensor_says_what_to_use_instead():
    x = keras.Input((4,))
    with pytest.raises(TypeError, match=r"keras\.ops\.mean, not tf\.reduce_mean"):
        tf.reduce_mean(x, axis=1)  # Keras 3 refuses TensorFlow functions on KerasTensors too


# -- a functional model nested in another and called twice ----------------------------------------------
NESTED_IO = np.load(os.path.join(HERE, "nested_io.npz"))
with open(os.path.join(HERE, "nested_config.json"), encoding="utf-8") as _f:
    NESTED_REF = json.load(_f)


def _nested_outputs(m):
    return m.predict(NESTED_IO["x"], verbose=0)


def test_a_keras_file_with_a_nested_model_called_twice_computes_kerass_outputs():
    m = keras.models.load_model(os.path.join(HERE, "nested.keras"))
    for got, i in zip(_nested_outputs(m), range(2)):  # node indices of "sub" in arguments are Keras 3's
        np.testing.assert_allclose(got, NESTED_IO[f"y{i}"], rtol=1e-5, atol=1e-6)


def test_node_indices_of_a_nested_model_are_written_as_keras_writes_them(tmp_path):
    keras.backend.clear_session()
    m = spec.build_nested(keras)
    ours = json.loads(json.dumps(m.get_config()))
    for got, want in zip(ours["layers"], NESTED_REF["layers"]):
        assert got["name"] == want["name"]
        strip = [{"args": n["args"], "kwargs": {k: v for k, v in n["kwargs"].items() if k != "mask"}}
                 for n in want["inbound_nodes"]]  # (Keras passes mask=None to a nested model: same call)
        assert got["inbound_nodes"] == strip, got["name"]
    assert ours["input_layers"] == NESTED_REF["input_layers"]
    assert ours["output_layers"] == NESTED_REF["output_layers"]  # here a nested model counts one more node


def test_files_tapeflow_wrote_before_the_keras_node_indices_still_load(tmp_path):
    """Older tapeflow files counted one more node in arguments too; their metadata has no tapeflow_format."""
    m = keras.models.load_model(os.path.join(HERE, "nested.keras"))
    new = str(tmp_path / "new.keras")
    m.save(new)
    with zipfile.ZipFile(new) as z:
        config = json.loads(z.read("config.json"))
        meta = json.loads(z.read("metadata.json"))
        weights = z.read("model.weights.h5")

    def shift(v):
        if isinstance(v, dict):
            if v.get("class_name") == "__keras_tensor__" and v["config"]["keras_history"][0] == "sub":
                v["config"]["keras_history"][1] += 1
            for e in v.values():
                shift(e)
        elif isinstance(v, list):
            for e in v:
                shift(e)
    for layer in config["config"]["layers"]:
        shift(layer["inbound_nodes"])
    del meta["tapeflow_format"]
    old = str(tmp_path / "old.keras")
    with zipfile.ZipFile(old, "w") as z:
        z.writestr("metadata.json", json.dumps(meta))
        z.writestr("config.json", json.dumps(config))
        z.writestr("model.weights.h5", weights)
    for path in (new, old):
        for got, i in zip(_nested_outputs(keras.models.load_model(path)), range(2)):
            np.testing.assert_allclose(got, NESTED_IO[f"y{i}"], rtol=1e-5, atol=1e-6)


def test_keras_ops_divide_is_kerass_divide_and_the_operator_is_true_divide():
    x = keras.Input((3,))
    assert _kind(keras.ops.divide(x, 2.0)._keras_history[0]) == "Divide"  # as Keras 3.15.1
    assert _kind((x / 2.0)._keras_history[0]) == "TrueDivide"
