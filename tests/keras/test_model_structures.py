"""Functional-model structures against the real Keras 3.15.1 (``tests/fixtures/make_keras3_structures.py``):
shared layers, a layer reused from another model, a Sequential and a dict-input functional model nested and
called twice, an Embedding mask with RNN initial states, attention with two calls, Bidirectional/TimeDistributed,
a CNN with BatchNormalization and separable/depthwise/transposed convolutions, Masking with mask-aware pooling,
reshaping layers, merges, Attention/AdditiveAttention, nested Sequentials, lookup and normalization layers, the
1-D and 3-D convolution families, ConvLSTM2D, group/layer/unit/RMS normalization with noise and dropout layers,
stacked RNN cells, EinsumDense after an Embedding. For each: Keras's file
loads and computes Keras's outputs, tapeflow's config holds Keras's inbound nodes and input/output references,
and tapeflow's own file reloads to the same outputs (Keras loads those files too: checked by hand with the
generator's Keras, as CI has no TensorFlow).

Known difference, not of the results: Keras records an Embedding's or a Masking layer's mask as operations
(``not_equal``, ``any``) passed to the next layers as ``mask=`` (with ``training=False``); tapeflow hands masks on
implicitly. Both files load in both libraries.
"""
import importlib.util
import json
import os

import numpy as np
import pytest

import tapeflow as tf

keras = tf.keras
HERE = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures", "keras3_structures")
_spec = importlib.util.spec_from_file_location("keras3_structures_model", os.path.join(HERE, "model.py"))
spec = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(spec)
with open(os.path.join(HERE, "configs.json"), encoding="utf-8") as _f:
    REF = json.load(_f)
NAMES = [b.__name__ for b in spec.BUILDERS]


def _outputs(m, name):
    y = m.predict(spec.inputs(name, np), verbose=0)
    return y if isinstance(y, list) else ([y[k] for k in sorted(y)] if isinstance(y, dict) else [y])


def _expected(name):
    ref = np.load(os.path.join(HERE, f"{name}_outputs.npz"))
    return [ref[f"arr_{i}"] for i in range(len(ref.files))]


def _assert_outputs(m, name):
    got, want = _outputs(m, name), _expected(name)
    assert len(got) == len(want)
    for g, w in zip(got, want):
        np.testing.assert_allclose(np.asarray(g), w, rtol=1e-5, atol=1e-6)


def _matches(ours, want) -> bool:
    """Equal, except that a dimension Keras leaves unknown (None) may be known in tapeflow's KerasTensor shapes
    (EinsumDense(output_shape=(None, 3)) keeps Keras's None where tapeflow infers the size)."""
    if isinstance(want, dict) and isinstance(ours, dict):
        if set(want) != set(ours):
            return False
        return all(_matches(ours[k], want[k]) if k != "shape" else
                   len(ours[k]) == len(want[k]) and all(w is None or o == w for o, w in zip(ours[k], want[k]))
                   for k in want)
    if isinstance(want, list) and isinstance(ours, list):
        return len(want) == len(ours) and all(_matches(o, w) for o, w in zip(ours, want))
    return ours == want


def _implicit_masks(nodes):
    """Keras's nodes without what tapeflow leaves implicit (a mask argument, training=False)."""
    out = []
    for n in nodes:
        kwargs = {k: v for k, v in n["kwargs"].items() if k not in ("mask", "training")}
        out.append({"args": n["args"], "kwargs": kwargs})
    return out


@pytest.mark.parametrize("name", NAMES)
def test_kerass_file_loads_and_computes_kerass_outputs(name):
    m = keras.models.load_model(os.path.join(HERE, f"{name}.keras"))
    assert [layer.name for layer in m.layers] == REF[name]["layers"]
    _assert_outputs(m, name)


@pytest.mark.parametrize("name", NAMES)
def test_the_config_holds_kerass_nodes_and_references(name):
    keras.backend.clear_session()
    ours = json.loads(json.dumps(getattr(spec, name)(keras).get_config()))
    want = REF[name]["config"]
    if "input_layers" not in want:  # a Sequential: its layers, in order
        assert [(c["class_name"], c["config"]["name"]) for c in ours["layers"]] == \
            [(c["class_name"], c["config"]["name"]) for c in want["layers"]]
        return
    assert ours["input_layers"] == want["input_layers"] and ours["output_layers"] == want["output_layers"]
    mine = {layer["name"]: layer for layer in ours["layers"]}
    for layer in want["layers"]:
        if layer["name"] not in mine:  # Keras's explicit mask computations (see the module docstring)
            assert layer["class_name"] in ("NotEqual", "Any"), layer["name"]
            continue
        got = _implicit_masks(mine[layer["name"]]["inbound_nodes"])
        assert _matches(got, _implicit_masks(layer["inbound_nodes"])), layer["name"]


@pytest.mark.parametrize("name", NAMES)
def test_tapeflows_file_reloads_to_the_same_outputs(name, tmp_path):
    keras.backend.clear_session()
    m = getattr(spec, name)(keras)
    m.set_weights(keras.models.load_model(os.path.join(HERE, f"{name}.keras")).get_weights())
    path = str(tmp_path / "m.keras")
    m.save(path)
    _assert_outputs(keras.models.load_model(path), name)


def test_a_call_with_several_tensor_arguments_gets_no_mask_of_its_own_accord():
    """As Keras 3: rnn(x, initial_state=s) runs unmasked; only a one-tensor call receives its input's mask."""
    tokens = np.array([[3, 4, 0, 0, 0]], "int32")
    keras.utils.set_random_seed(0)
    emb = keras.layers.Embedding(20, 4, mask_zero=True)
    rnn = keras.layers.SimpleRNN(3)
    e = emb(tokens)
    s = tf.constant(np.full((1, 3), 0.5, "float32"))
    masked = rnn(e).numpy()
    with_state = rnn(e, initial_state=s).numpy()
    e._keras_mask = None
    np.testing.assert_allclose(rnn(e, initial_state=s).numpy(), with_state, rtol=1e-6)  # the mask was not used
    assert not np.allclose(masked, rnn(e).numpy())
