"""tf.sparse / tf.SparseTensor; every expected literal was printed by TensorFlow 2 for the same call.

Duplicates, as TF: to_dense(validate_indices=True) raises "is repeated" (False: the last one wins),
reduce_sum / sparse_dense_matmul / sparse + dense sum them, reorder keeps them, sparse + sparse pairs them one to one.
Unordered indices: to_dense(validate_indices=True) raises "out of order" as TF does; False works; matmul works.
"""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.debug import check_gradients
from tests._oracle import require_torch


def parts(sp):
    return sp.indices.numpy().tolist(), sp.values.numpy().tolist(), sp.dense_shape.numpy().tolist()


U_IDX = [[1, 2], [0, 3], [0, 1], [2, 0]]  # unordered


def unordered(vals=(1.0, 2.0, 3.0, 4.0)):
    return tf.SparseTensor(U_IDX, tf.constant(list(vals)), [3, 4])


DUP = tf.SparseTensor([[0, 1], [0, 1], [1, 0]], [1.0, 2.0, 3.0], [2, 2])
A_ = tf.SparseTensor([[0, 0], [1, 2]], [1.0, 2.0], [3, 4])
B_ = tf.SparseTensor([[0, 0], [0, 1], [2, 3]], [10.0, -2.0, 5.0], [3, 4])
R3 = tf.SparseTensor([[0, 0, 1], [0, 1, 0], [1, 0, 1], [1, 1, 1]], [1.0, 2.0, 3.0, 4.0], [2, 2, 2])


def test_sparse_tensor_basics():
    sp = unordered()
    assert tf.SparseTensor is tf.sparse.SparseTensor
    assert sp.indices.dtype.name == "int64" and sp.dense_shape.dtype.name == "int64"
    assert sp.shape.as_list() == [3, 4] and sp.dtype.name == "float32"
    w = A_.with_values(tf.constant([5, 6]))
    assert parts(w) == ([[0, 0], [1, 2]], [5, 6], [3, 4]) and w.dtype.name == "int32"
    assert parts(A_ * tf.constant(2.0)) == ([[0, 0], [1, 2]], [2.0, 4.0], [3, 4])
    assert tf.sparse.to_dense(A_ * tf.constant([[1.0, 2.0, 3.0, 4.0]])).numpy().tolist() == [
        [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 6.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    with pytest.raises(ValueError, match="values must be 1-D.*\\(1\\), got shape \\(2,\\)"):
        tf.SparseTensor([[0, 1]], [1.0, 2.0], [2, 2])
    with pytest.raises(ValueError, match="indices must have shape \\(N, 2\\)"):
        tf.SparseTensor([[0, 1, 1]], [1.0], [2, 2])


def test_to_dense_order_duplicates_and_bounds_as_tf():
    with pytest.raises(tf.errors.InvalidArgumentError, match="indices\\[1\\] = \\[0, 3\\] is out of order"):
        tf.sparse.to_dense(unordered())
    assert tf.sparse.to_dense(unordered(), validate_indices=False).numpy().tolist() == [
        [0.0, 3.0, 0.0, 2.0], [0.0, 0.0, 1.0, 0.0], [4.0, 0.0, 0.0, 0.0]]
    assert tf.sparse.to_dense(unordered(), default_value=-1.0, validate_indices=False).numpy().tolist() == [
        [-1.0, 3.0, -1.0, 2.0], [-1.0, -1.0, 1.0, -1.0], [4.0, -1.0, -1.0, -1.0]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="indices\\[1\\] = \\[0, 1\\] is repeated"):
        tf.sparse.to_dense(DUP)
    assert tf.sparse.to_dense(DUP, validate_indices=False).numpy().tolist() == [[0.0, 2.0], [3.0, 0.0]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="out of bounds: need 0 <= index < \\[2, 2\\]"):
        tf.sparse.to_dense(tf.SparseTensor([[0, 5]], [1.0], [2, 2]))
    s = tf.sparse.reorder(tf.SparseTensor([[1], [0]], np.array([b"x", b"y"], object), [3]))
    assert tf.sparse.to_dense(s).numpy().tolist() == [b"y", b"x", b""]


def test_reorder_from_dense_reshape():
    assert parts(tf.sparse.reorder(unordered())) == ([[0, 1], [0, 3], [1, 2], [2, 0]], [3.0, 2.0, 1.0, 4.0], [3, 4])
    assert parts(tf.sparse.reorder(DUP)) == ([[0, 1], [0, 1], [1, 0]], [1.0, 2.0, 3.0], [2, 2])
    assert parts(tf.sparse.from_dense([[0, 2], [3, 0]])) == ([[0, 1], [1, 0]], [2, 3], [2, 2])
    assert parts(tf.sparse.from_dense(tf.constant([[0.0, -1.5], [0.0, 0.0]]))) == ([[0, 1]], [-1.5], [2, 2])
    assert parts(tf.sparse.reshape(unordered(), [2, -1])) == ([[1, 0], [0, 3], [0, 1], [1, 2]],
                                                               [1.0, 2.0, 3.0, 4.0], [2, 6])
    assert parts(tf.sparse.reshape(unordered(), [4, 3]))[0] == [[2, 0], [1, 0], [0, 1], [2, 2]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="12 dense values.*\\[5, 5\\] has 25"):
        tf.sparse.reshape(unordered(), [5, 5])


def test_add_as_tf():
    assert parts(tf.sparse.add(A_, B_)) == ([[0, 0], [0, 1], [1, 2], [2, 3]], [11.0, -2.0, 2.0, 5.0], [3, 4])
    assert parts(tf.sparse.add(A_, tf.SparseTensor([[0, 0]], [-1.0], [3, 4]))) == ([[0, 0], [1, 2]], [0.0, 2.0],
                                                                                   [3, 4])
    # threshold drops only paired sums: TF keeps the unpaired -2.0 and 2.0
    assert parts(tf.sparse.add(A_, B_, threshold=3.0))[1] == [11.0, -2.0, 2.0, 5.0]
    assert parts(tf.sparse.add(A_, tf.SparseTensor([[0, 0]], [-1.0], [3, 4]), threshold=0.5))[1] == [2.0]
    assert parts(tf.sparse.add(DUP, DUP)) == ([[0, 1], [0, 1], [1, 0]], [2.0, 4.0, 6.0], [2, 2])
    dense = [[2.0, 1.0, 1.0, 1.0], [1.0, 1.0, 3.0, 1.0], [1.0, 1.0, 1.0, 1.0]]
    assert tf.sparse.add(A_, tf.ones([3, 4])).numpy().tolist() == dense
    assert tf.sparse.add(tf.ones([3, 4]), A_).numpy().tolist() == dense
    assert tf.sparse.add(DUP, tf.ones([2, 2])).numpy().tolist() == [[1.0, 4.0], [4.0, 1.0]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="\\[3, 4\\] vs \\[2, 2\\]"):
        tf.sparse.add(A_, tf.SparseTensor([[0, 0]], [1.0], [2, 2]))


B43 = np.arange(12.0, dtype=np.float32).reshape(4, 3)


@pytest.mark.parametrize("b,kw,expected", [
    (B43, {}, [[27.0, 32.0, 37.0], [6.0, 7.0, 8.0], [0.0, 4.0, 8.0]]),
    (np.arange(6.0, dtype=np.float32).reshape(3, 2), {"adjoint_a": True},
     [[16.0, 20.0], [0.0, 3.0], [2.0, 3.0], [0.0, 2.0]]),
    (np.arange(8.0, dtype=np.float32).reshape(2, 4), {"adjoint_b": True}, [[9.0, 29.0], [2.0, 6.0], [0.0, 16.0]]),
    (np.arange(6.0, dtype=np.float32).reshape(2, 3), {"adjoint_a": True, "adjoint_b": True},
     [[8.0, 20.0], [0.0, 9.0], [1.0, 4.0], [0.0, 6.0]])])
def test_sparse_dense_matmul_values_as_tf(b, kw, expected):
    assert tf.sparse.sparse_dense_matmul(unordered(), b, **kw).numpy().tolist() == expected


def test_sparse_dense_matmul_dense_first_duplicates_and_errors():
    a = np.arange(6.0, dtype=np.float32).reshape(2, 3)
    assert tf.sparse.sparse_dense_matmul(a, unordered()).numpy().tolist() == [[8.0, 0.0, 1.0, 0.0],
                                                                               [20.0, 9.0, 4.0, 6.0]]
    assert tf.sparse.sparse_dense_matmul(DUP, [[1.0, 2.0], [3.0, 4.0]]).numpy().tolist() == [[9.0, 12.0],
                                                                                              [3.0, 6.0]]
    with pytest.raises(TypeError, match="b has dtype float64, expected sp_a's float32"):
        tf.sparse.sparse_dense_matmul(unordered(), B43.astype(np.float64))
    with pytest.raises(ValueError, match="inner dimensions differ"):
        tf.sparse.sparse_dense_matmul(unordered(), B43[:3])


def _matmul_loss(w, **kw):
    def f(vals, b):
        y = tf.sparse.sparse_dense_matmul(tf.SparseTensor(U_IDX, vals, [3, 4]), b, **kw)
        return tf.reduce_sum(y * w)
    return f


def test_sparse_dense_matmul_gradients_tf_and_finite_differences():
    vals, b = tf.Variable(np.array([1.0, 2.0, 3.0, 4.0])), tf.Variable(np.arange(12.0).reshape(4, 3))
    w = tf.constant(np.arange(9.0).reshape(3, 3))
    with tf.GradientTape() as tape:
        loss = _matmul_loss(w)(vals, b)
    gv, gb = tape.gradient(loss, [vals, b])
    assert gv.numpy().tolist() == [86.0, 32.0, 14.0, 23.0]  # TF's gradients
    assert gb.numpy().tolist() == [[24.0, 28.0, 32.0], [0.0, 3.0, 6.0], [3.0, 4.0, 5.0], [0.0, 2.0, 4.0]]
    b2, w2 = tf.Variable(np.arange(6.0).reshape(2, 3)), tf.constant(np.arange(8.0).reshape(4, 2))
    with tf.GradientTape() as tape:
        loss = _matmul_loss(w2, adjoint_a=True, adjoint_b=True)(vals, b2)
    gv, gb = tape.gradient(loss, [vals, b2])
    assert gv.numpy().tolist() == [24.0, 21.0, 9.0, 5.0]
    assert gb.numpy().tolist() == [[18.0, 4.0, 0.0], [23.0, 5.0, 4.0]]
    rng = np.random.default_rng(0)
    for kw, bshape, wshape in [({}, (4, 3), (3, 3)), ({"adjoint_a": True}, (3, 2), (4, 2)),
                               ({"adjoint_b": True}, (5, 4), (3, 5))]:
        errs = check_gradients(_matmul_loss(tf.constant(rng.normal(size=wshape)), **kw),
                               rng.normal(size=4), rng.normal(size=bshape))
        assert max(errs) < 1e-6


def test_sparse_dense_matmul_matches_torch_sparse_mm():
    torch = require_torch()
    rng = np.random.default_rng(1)
    idx = np.array([[0, 1], [2, 0], [1, 3], [0, 1], [2, 2]])  # unordered with a duplicate
    vals, b, w = rng.normal(size=5), rng.normal(size=(4, 3)), rng.normal(size=(3, 3))
    tv, tb = torch.tensor(vals, requires_grad=True), torch.tensor(b, requires_grad=True)
    ts = torch.sparse_coo_tensor(torch.tensor(idx.T), tv, (3, 4))
    (torch.sparse.mm(ts, tb) * torch.tensor(w)).sum().backward()
    v, bb = tf.Variable(vals), tf.Variable(b)
    with tf.GradientTape() as tape:
        y = tf.sparse.sparse_dense_matmul(tf.SparseTensor(idx, v, [3, 4]), bb)
        loss = tf.reduce_sum(y * w)
    gv, gb = tape.gradient(loss, [v, bb])
    np.testing.assert_allclose(y.numpy(), torch.sparse.mm(ts, tb).detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(gv.numpy(), tv.grad.numpy(), rtol=1e-12)
    np.testing.assert_allclose(gb.numpy(), tb.grad.numpy(), rtol=1e-12)


def test_reduce_sum_as_tf():
    assert tf.sparse.reduce_sum(R3).numpy().tolist() == 10.0
    assert tf.sparse.reduce_sum(R3, axis=0).numpy().tolist() == [[0.0, 4.0], [2.0, 4.0]]
    assert tf.sparse.reduce_sum(R3, axis=1, keepdims=True).numpy().tolist() == [[[2.0, 1.0]], [[0.0, 7.0]]]
    assert tf.sparse.reduce_sum(R3, axis=-1).numpy().tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert tf.sparse.reduce_sum(R3, axis=[0, 2]).numpy().tolist() == [4.0, 6.0]
    assert parts(tf.sparse.reduce_sum(R3, axis=1, output_is_sparse=True)) == ([[0, 0], [0, 1], [1, 1]],
                                                                             [2.0, 1.0, 7.0], [2, 2])
    assert parts(tf.sparse.reduce_sum(R3, axis=1, keepdims=True, output_is_sparse=True)) == (
        [[0, 0, 0], [0, 0, 1], [1, 0, 1]], [2.0, 1.0, 7.0], [2, 1, 2])
    assert tf.sparse.reduce_sum(DUP).numpy().tolist() == 6.0
    assert tf.sparse.reduce_sum(DUP, axis=1).numpy().tolist() == [3.0, 3.0]
    errs = check_gradients(lambda v: tf.reduce_sum(tf.sparse.reduce_sum(
        tf.SparseTensor(U_IDX, v, [3, 4]), axis=1) ** 2), [1.0, -2.0, 0.5, 3.0])
    assert max(errs) < 1e-6


def test_reduce_max_ignores_implicit_zeros_as_tf():
    neg = tf.SparseTensor([[0, 0], [0, 2], [1, 1]], [-1.0, -3.0, 5.0], [3, 3])
    assert tf.sparse.reduce_max(neg, axis=1).numpy().tolist() == [-1.0, 5.0, 0.0]
    assert tf.sparse.reduce_max(neg).numpy().tolist() == 5.0
    assert tf.sparse.reduce_max(neg, axis=0).numpy().tolist() == [-1.0, 5.0, -3.0]
    assert parts(tf.sparse.reduce_max(neg, axis=1, output_is_sparse=True)) == ([[0], [1]], [-1.0, 5.0], [3])
    out = tf.sparse.reduce_max(tf.SparseTensor([[0, 0]], [-2], [2, 2]), axis=1)
    assert out.numpy().tolist() == [-2, 0] and out.dtype.name == "int32"


def test_retain_slice_concat_expand_transpose_as_tf():
    assert parts(tf.sparse.retain(B_, [True, False, True])) == ([[0, 0], [2, 3]], [10.0, 5.0], [3, 4])
    assert parts(tf.sparse.slice(B_, [0, 1], [3, 3])) == ([[0, 0], [2, 2]], [-2.0, 5.0], [3, 3])
    assert parts(tf.sparse.slice(B_, [1, 0], [5, 5])) == ([[1, 3]], [5.0], [2, 4])
    assert parts(tf.sparse.concat(0, [A_, B_])) == ([[0, 0], [1, 2], [3, 0], [3, 1], [5, 3]],
                                                    [1.0, 2.0, 10.0, -2.0, 5.0], [6, 4])
    assert parts(tf.sparse.concat(1, [A_, B_])) == ([[0, 0], [0, 4], [0, 5], [1, 2], [2, 7]],
                                                    [1.0, 10.0, -2.0, 2.0, 5.0], [3, 8])
    assert parts(tf.sparse.concat(-1, [A_, tf.SparseTensor([[1, 0]], [7.0], [3, 2])])) == (
        [[0, 0], [1, 2], [1, 4]], [1.0, 2.0, 7.0], [3, 6])
    assert parts(tf.sparse.concat(1, [A_, tf.SparseTensor([[4, 0]], [7.0], [5, 2])], expand_nonconcat_dims=True)) \
        == ([[0, 0], [1, 2], [4, 4]], [1.0, 2.0, 7.0], [5, 6])
    with pytest.raises(ValueError, match="sp_inputs\\[1\\] has dense_shape \\[5, 2\\]"):
        tf.sparse.concat(1, [A_, tf.SparseTensor([[4, 0]], [7.0], [5, 2])])
    assert parts(tf.sparse.expand_dims(A_, 0)) == ([[0, 0, 0], [0, 1, 2]], [1.0, 2.0], [1, 3, 4])
    assert parts(tf.sparse.expand_dims(A_, -1)) == ([[0, 0, 0], [1, 2, 0]], [1.0, 2.0], [3, 4, 1])
    assert parts(tf.sparse.expand_dims(A_, 1)) == ([[0, 0, 0], [1, 0, 2]], [1.0, 2.0], [3, 1, 4])
    assert parts(tf.sparse.transpose(B_)) == ([[0, 0], [1, 0], [3, 2]], [10.0, -2.0, 5.0], [4, 3])
    assert parts(tf.sparse.transpose(R3, [2, 0, 1])) == ([[0, 0, 1], [1, 0, 0], [1, 1, 0], [1, 1, 1]],
                                                         [2.0, 1.0, 3.0, 4.0], [2, 2, 2])


def test_fill_empty_rows_softmax_indicator_as_tf():
    sp, empty = tf.sparse.fill_empty_rows(tf.SparseTensor([[0, 1], [2, 0], [2, 2]], [1.0, 2.0, 3.0], [4, 3]), -1.0)
    assert parts(sp) == ([[0, 1], [1, 0], [2, 0], [2, 2], [3, 0]], [1.0, -1.0, 2.0, 3.0, -1.0], [4, 3])
    assert empty.numpy().tolist() == [False, True, False, True]
    sm = tf.sparse.softmax(tf.SparseTensor([[0, 0], [0, 2], [1, 1], [2, 0], [2, 1]], [1.0, 2.0, 5.0, 0.0, -1.0],
                                           [4, 3]))
    np.testing.assert_allclose(sm.values.numpy(), [0.2689414322376251, 0.7310585975646973, 1.0,
                                                   0.7310585975646973, 0.2689414322376251], rtol=1e-6)
    sm3 = tf.sparse.softmax(tf.SparseTensor([[0, 0, 0], [0, 0, 2], [1, 1, 1]], [1.0, 2.0, 5.0], [2, 2, 3]))
    np.testing.assert_allclose(sm3.values.numpy(), [0.2689414322376251, 0.7310585975646973, 1.0], rtol=1e-6)
    errs = check_gradients(lambda v: tf.reduce_sum(tf.sparse.softmax(tf.SparseTensor(
        [[0, 0], [0, 2], [1, 1], [2, 0], [2, 1]], v, [4, 3])).values * [1.0, -2.0, 3.0, 0.5, 4.0]),
        [1.0, 2.0, 5.0, 0.0, -1.0])
    assert max(errs) < 1e-6
    ind = tf.sparse.to_indicator(tf.SparseTensor([[0, 0], [0, 1], [1, 0], [2, 1]], tf.constant([1, 3, 0, 3], "int64"),
                                                 [3, 2]), 4)
    assert ind.numpy().tolist() == [[False, True, False, True], [True, False, False, False],
                                    [False, False, False, True]]
    with pytest.raises(tf.errors.InvalidArgumentError, match="vocab_size=3\\), got values in \\[3, 3\\]"):
        tf.sparse.to_indicator(tf.SparseTensor([[0, 0]], tf.constant([3], "int64"), [1, 1]), 3)


def test_segments_eye_map_values_as_tf():
    data = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert tf.sparse.segment_sum(data, [0, 2], [0, 0]).numpy().tolist() == [[6.0, 8.0]]
    assert tf.sparse.segment_sum(data, [0, 1, 2], [0, 0, 2]).numpy().tolist() == [[4.0, 6.0], [0.0, 0.0],
                                                                                   [5.0, 6.0]]
    assert tf.sparse.segment_sum(data, [0, 1], [0, 2], num_segments=4).numpy().tolist() == [
        [1.0, 2.0], [0.0, 0.0], [3.0, 4.0], [0.0, 0.0]]
    assert tf.sparse.segment_mean(data, [0, 1, 2], [0, 0, 2]).numpy().tolist() == [[2.0, 3.0], [0.0, 0.0],
                                                                                    [5.0, 6.0]]
    np.testing.assert_allclose(tf.sparse.segment_sqrt_n(data, [0, 1, 2], [0, 0, 2]).numpy(),
                               [[2.8284270763397217, 4.242640495300293], [0.0, 0.0], [5.0, 6.0]], rtol=1e-6)
    errs = check_gradients(lambda d: tf.reduce_sum(tf.sparse.segment_mean(d, [0, 1, 2, 0], [0, 0, 2, 2]) ** 2),
                           np.arange(6.0).reshape(3, 2))
    assert max(errs) < 1e-6
    assert parts(tf.sparse.eye(3)) == ([[0, 0], [1, 1], [2, 2]], [1.0, 1.0, 1.0], [3, 3])
    assert parts(tf.sparse.map_values(tf.square, A_)) == ([[0, 0], [1, 2]], [1.0, 4.0], [3, 4])


def test_to_dense_and_add_gradients():
    def f(v, d):
        sp = tf.SparseTensor([[0, 1], [1, 0], [1, 2]], v, [2, 3])
        return tf.reduce_sum(tf.sparse.to_dense(sp) * d) + tf.reduce_sum(tf.sparse.add(sp, d) ** 2)
    assert max(check_gradients(f, [1.0, -2.0, 0.5], np.arange(6.0).reshape(2, 3))) < 1e-6

    def g(v, w):
        a = tf.SparseTensor([[0, 0], [0, 1], [1, 1]], v, [2, 2])
        b = tf.SparseTensor([[0, 1], [1, 0]], w, [2, 2])
        return tf.reduce_sum(tf.sparse.add(a, b).values ** 2)
    assert max(check_gradients(g, [1.0, 2.0, 3.0], [4.0, 5.0])) < 1e-6
