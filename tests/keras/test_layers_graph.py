"""GCNConv: PyG normalization D^-1/2 (A + I) D^-1/2, every graph input form, gradients (numeric and
torch), and the node-classification example (GCN beats an MLP on a stochastic block model)."""
import importlib.util
import os

import numpy as np
import pytest
import scipy.sparse as sp

import tapeflow as tf
from tapeflow import keras
from tapeflow.debug import check_gradients
from tapeflow.keras import layers as L
from tapeflow.keras.layers.graph import gcn_normalize
from tapeflow.ops.graph_ops import sparse_dense_matmul


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()
    yield


def _graph(n=6, seed=0):
    rng = np.random.default_rng(seed)
    a = np.triu(rng.random((n, n)) < 0.5, 1)
    a = (a | a.T).astype(float)
    return a, np.stack(np.nonzero(a.T)[::-1])  # edge j -> i for a[i, j]: (source, target)


def _dense_norm(a):
    a = a + np.diag((np.diag(a) == 0).astype(float))
    d = a.sum(1) ** -0.5
    return d[:, None] * a * d[None, :]


def test_normalization_matches_formula_for_all_graph_forms():
    a, ei = _graph()
    ref = _dense_norm(a)
    for g in (a, sp.csr_matrix(a), ei, tf.constant(a)):
        np.testing.assert_allclose(gcn_normalize(g, 6, dtype="float64").toarray(), ref, rtol=1e-12)
    # an existing self-loop is kept with its weight (add_remaining_self_loops), not doubled
    a2 = a.copy()
    a2[0, 0] = 3.0
    np.testing.assert_allclose(gcn_normalize(a2, 6, dtype="float64").toarray(), _dense_norm(a2), rtol=1e-12)
    # directed edge index: messages flow source -> target, degree counted at the target
    s = gcn_normalize(np.array([[0], [1]]), 2, dtype="float64").toarray()
    np.testing.assert_allclose(s, [[1.0, 0.0], [2 ** -0.5, 0.5]], rtol=1e-12)  # deg(0)=1, deg(1)=2
    deg = a.sum(1)
    inv = np.where(deg > 0, deg, 1.0) ** -0.5 * (deg > 0)  # isolated nodes: 0, as PyG (no inf/nan)
    np.testing.assert_allclose(gcn_normalize(a, 6, add_self_loops=False, dtype="float64").toarray(),
                               inv[:, None] * a * inv[None, :], rtol=1e-12)


def test_layer_forward_formula_and_call_forms():
    a, ei = _graph()
    x = np.random.default_rng(1).normal(size=(6, 4)).astype("float32")
    conv = L.GCNConv(3, activation="relu", bias_initializer="random_normal")
    y = conv(x, ei).numpy()
    k, b = conv.get_weights()
    np.testing.assert_allclose(y, np.maximum(_dense_norm(a) @ x @ k + b, 0), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(conv(x, sp.coo_matrix(a)).numpy(), y, rtol=1e-6)
    np.testing.assert_allclose(conv([x, a]).numpy(), y, rtol=1e-6)
    assert [w.path for w in conv.weights] == ["gcn_conv/kernel", "gcn_conv/bias"]
    pyg = L.GCNConv(4, 5)  # PyG spelling GCNConv(in_channels, out_channels)
    assert tuple(pyg(x, ei).shape) == (6, 5)
    assert L.GraphConv is L.GCNConv
    clone = L.deserialize(L.serialize(conv))
    assert clone.get_config() == conv.get_config()


def test_bad_graphs_are_refused():
    x = np.ones((3, 2), "float32")
    conv = L.GCNConv(2)
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        conv(x, np.array([[0, 1], [1, 5]]))
    with pytest.raises(ValueError, match="adjacency"):
        conv(x, np.ones((4, 4)))
    with pytest.raises(ValueError, match="pass the graph"):
        conv(x)


def test_gradients_numeric():
    a, ei = _graph()
    s = gcn_normalize(a, 6, dtype="float64")
    rng = np.random.default_rng(2)
    check_gradients(lambda x: sparse_dense_matmul(s, x), rng.normal(size=(6, 3)))
    conv = L.GCNConv(2, activation="tanh", dtype="float64", bias_initializer="random_normal")
    conv(rng.normal(size=(6, 3)), ei)
    check_gradients(lambda x, w, b: tf.tanh(sparse_dense_matmul(s, tf.matmul(x, w)) + b),
                    rng.normal(size=(6, 3)), conv.kernel.numpy(), conv.bias.numpy())
    check_gradients(lambda x: conv(x, ei), rng.normal(size=(6, 3)))


def test_gradients_against_torch(torch):
    a, ei = _graph(8, 3)
    rng = np.random.default_rng(3)
    x = rng.normal(size=(8, 4))
    conv = L.GCNConv(3, activation="relu", dtype="float64", bias_initializer="random_normal")
    conv(x, ei)
    xt = tf.constant(x)
    r = rng.normal(size=(8, 3))
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(conv(xt, ei) * tf.constant(r))
    gx, gk, gb = tape.gradient(loss, [xt, conv.kernel, conv.bias])
    tx = torch.tensor(x, requires_grad=True)
    tk = torch.tensor(conv.kernel.numpy(), requires_grad=True)
    tb = torch.tensor(conv.bias.numpy(), requires_grad=True)
    out = torch.relu(torch.tensor(_dense_norm(a)) @ (tx @ tk) + tb)
    (out * torch.tensor(r)).sum().backward()
    for ours, ref in ((gx, tx.grad), (gk, tk.grad), (gb, tb.grad)):
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-10, atol=1e-12)


def test_gcn_beats_mlp_on_stochastic_block_model():
    path = os.path.join(os.path.dirname(__file__), "..", "..", "examples", "gcn_node_classification.py")
    spec = importlib.util.spec_from_file_location("gcn_node_classification", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    accs = mod.main(seed=0, verbose=False)
    assert accs["GCN"] > 0.9
    assert accs["GCN"] > accs["MLP"] + 0.2
