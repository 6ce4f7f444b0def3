"""tf-level index ops, control flow and framework pieces: values printed by TensorFlow 2 for the same calls,
gradients against float64 central differences."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.debug import check_gradients

P = np.arange(24, dtype=np.float32).reshape(2, 3, 4)


def test_mirror_padding_matches_tensorflow():
    assert tf.pad([1, 2, 3], [[2, 1]], mode="REFLECT").numpy().tolist() == [3, 2, 1, 2, 3, 2]
    assert tf.pad([[1, 2], [3, 4]], [[1, 1], [2, 0]], mode="SYMMETRIC").numpy().tolist() == [
        [2, 1, 1, 2], [2, 1, 1, 2], [4, 3, 3, 4], [4, 3, 3, 4]]


def test_index_ops_match_tensorflow():
    assert tf.gather_nd(P, [[0, 1], [1, 2]]).numpy().tolist() == [[4, 5, 6, 7], [20, 21, 22, 23]]
    assert tf.gather_nd(P, [[[1], [0]], [[2], [2]]], batch_dims=1).numpy().tolist() == [
        [[4, 5, 6, 7], [0, 1, 2, 3]], [[20, 21, 22, 23], [20, 21, 22, 23]]]
    assert tf.scatter_nd([[0, 1], [1, 0], [0, 1]], [[1., 2.], [3., 4.], [5., 6.]], [2, 2, 2]).numpy().tolist() == [
        [[0, 0], [6, 8]], [[3, 4], [0, 0]]]
    assert tf.tensor_scatter_nd_update(P[0], [[0], [2], [0]], [[9.] * 4, [8.] * 4, [7.] * 4]).numpy().tolist() == [
        [7, 7, 7, 7], [4, 5, 6, 7], [8, 8, 8, 8]]
    assert tf.tensor_scatter_nd_add(P[0], [[0, 0], [2, 3], [0, 0]], [1., 2., 3.]).numpy().tolist() == [
        [4, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 13]]
    assert tf.boolean_mask(P, [[True, False, True], [False, True, False]]).numpy().tolist() == [
        [0, 1, 2, 3], [8, 9, 10, 11], [16, 17, 18, 19]]
    assert tf.boolean_mask(P, [True, False, True, True], axis=2).numpy()[1].tolist() == [
        [12, 14, 15], [16, 18, 19], [20, 22, 23]]
    assert tf.sequence_mask([[1, 3], [0, 2]], 3, dtype=tf.float32).numpy().tolist() == [
        [[1, 0, 0], [1, 1, 1]], [[0, 0, 0], [1, 1, 0]]]
    assert tf.repeat([[1, 2], [3, 4]], [1, 3], axis=0).numpy().tolist() == [[1, 2], [3, 4], [3, 4], [3, 4]]
    assert tf.repeat([[1, 2], [3, 4]], 2).numpy().tolist() == [1, 1, 2, 2, 3, 3, 4, 4]
    assert tf.roll(P[0], shift=[1, -1, 2], axis=[0, 1, 0]).numpy().tolist() == [
        [1, 2, 3, 0], [5, 6, 7, 4], [9, 10, 11, 8]]
    assert tf.sort([[3., 1., 2.], [0., 5., 5.]], axis=1, direction="DESCENDING").numpy().tolist() == [
        [3, 2, 1], [5, 5, 0]]
    assert tf.argsort([3, 1, 2, 1], direction="DESCENDING").numpy().tolist() == [0, 2, 1, 3]
    assert tf.argsort([3, 1, 2, 1]).numpy().tolist() == [1, 3, 2, 0]
    assert [x.numpy().tolist() for x in tf.dynamic_partition(P[0], [2, 0, 2], 3)] == [
        [[4, 5, 6, 7]], [], [[0, 1, 2, 3], [8, 9, 10, 11]]]
    assert tf.dynamic_stitch([[0, 3], [2, 1, 3]], [[[1., 1.], [2., 2.]], [[3., 3.], [4., 4.], [5., 5.]]]
                             ).numpy().tolist() == [[1, 1], [4, 4], [3, 3], [5, 5]]
    assert tf.reverse_sequence(P, [2, 0], seq_axis=2, batch_axis=0).numpy()[0].tolist() == [
        [1, 0, 2, 3], [5, 4, 6, 7], [9, 8, 10, 11]]
    assert tf.gather(P, [[2, 0], [1, 1]], axis=2, batch_dims=1).numpy().tolist() == [
        [[2, 0], [6, 4], [10, 8]], [[13, 13], [17, 17], [21, 21]]]


GRAD_CASES = {
    "gather_nd": lambda x: tf.gather_nd(x, [[0, 1], [1, 2], [0, 1]]),
    "gather_nd_batch": lambda x: tf.gather_nd(x, [[[1], [0]], [[2], [2]]], batch_dims=1),
    "scatter_nd": lambda x: tf.scatter_nd([[1], [0], [1]], x[0], [3, 4]),
    "update": lambda x: tf.tensor_scatter_nd_update(x[0], [[0], [2], [0]], x[1] * 2.0),
    "boolean_mask": lambda x: tf.boolean_mask(x, [True, False, True, True], axis=2),
    "repeat": lambda x: tf.repeat(x, [2, 0, 1], axis=1),
    "roll": lambda x: tf.roll(x, [1, -2], [0, 2]),
    "sort": lambda x: tf.sort(x, axis=1, direction="DESCENDING"),
    "reverse_sequence": lambda x: tf.reverse_sequence(x, [3, 1], seq_axis=1, batch_axis=0),
    "gather_batch": lambda x: tf.gather(x, [[2, 0, 2], [1, 1, 3]], axis=2, batch_dims=1),
    "dynamic_partition": lambda x: tf.dynamic_partition(x, [1, 0], 2)[0] * 3.0,
    "pad_reflect": lambda x: tf.pad(x, [[1, 1], [2, 0], [0, 3]], mode="REFLECT"),
    "pad_symmetric": lambda x: tf.pad(x, [[2, 1], [0, 3], [1, 0]], mode="SYMMETRIC"),
}


@pytest.mark.parametrize("name", sorted(GRAD_CASES))
def test_index_op_gradients(name):
    x = np.random.default_rng(0).permutation(24).reshape(2, 3, 4) * 0.1   # distinct values: sort has no ties
    check_gradients(GRAD_CASES[name], x)


def test_control_flow_matches_tensorflow_and_differentiates():
    i, x = tf.while_loop(lambda i, x: i < 3, lambda i, x: (i + 1, x * 2.0), [0, tf.constant(1.5)])
    assert (int(i), float(x)) == (3, 12.0)
    assert tf.scan(lambda a, v: a * v, tf.constant([1., 2., 3., 4.]), initializer=tf.constant(2.),
                   reverse=True).numpy().tolist() == [48, 48, 24, 8]
    assert float(tf.foldr(lambda a, v: a - v, tf.constant([1., 2., 3.]))) == 0.0
    assert float(tf.foldl(lambda a, v: a - v, tf.constant([1., 2., 3.]), initializer=10.)) == 4.0
    pair = (tf.constant([1., 2.]), tf.constant([3., 4.]))
    assert tf.map_fn(lambda t: t[0] * t[1], pair).numpy().tolist() == [3.0, 8.0]
    assert int(tf.switch_case(tf.constant(5), [lambda: tf.constant(0), lambda: tf.constant(1)])) == 1
    assert int(tf.case([(tf.constant(False), lambda: 1), (tf.constant(True), lambda: 2)], default=lambda: 3)) == 2
    w = tf.Variable(1.5)
    with tf.GradientTape() as tape:
        _, y = tf.while_loop(lambda k, v: k < 3, lambda k, v: (k + 1, v * w), (0, tf.constant(2.0)))
        total = y + tf.reduce_sum(tf.scan(lambda a, v: a + v * w, tf.constant([1.0, 2.0])))   # 2 w^3 + (1 + 1 + 2w)
    assert np.isclose(float(tape.gradient(total, w)), 6 * 1.5 ** 2 + 2)


def test_tensor_array():
    ta = tf.TensorArray(tf.float32, size=2)
    ta = ta.write(0, [1.0, 2.0]).write(1, [3.0, 4.0])
    assert ta.stack().numpy().tolist() == [[1, 2], [3, 4]] and ta.read(1).numpy().tolist() == [3, 4]
    assert ta.gather([1, 0]).numpy().tolist() == [[3, 4], [1, 2]] and ta.concat().numpy().tolist() == [1, 2, 3, 4]
    with pytest.raises(IndexError, match="dynamic_size=False"):
        ta.write(2, [5.0, 6.0])
    grown = tf.TensorArray(tf.float32, size=0, dynamic_size=True).unstack(tf.constant([[1.0], [2.0]]))
    assert int(grown.size()) == 2 and grown.element_shape.as_list() == [1]


def test_framework_pieces():
    class Net(tf.Module):
        def __init__(self):
            super().__init__()
            self.layers = [tf.Variable(1.0), {"b": tf.Variable(2.0, trainable=False)}]
            self.inner = tf.Module(name="inner")
            self.inner.v = tf.Variable(3.0)
    net = Net()
    assert net.name == "net" and len(net.variables) == 3 and len(net.trainable_variables) == 2
    assert [m.name for m in net.submodules] == ["inner"]
    with tf.name_scope("outer"):
        with tf.name_scope("inner"):
            assert tf.get_current_name_scope() == "outer/inner"
    assert tf.as_dtype("float32") == tf.float32 and tf.as_dtype(tf.int64).is_integer and tf.as_dtype("string").name \
        == "string"
    assert tf.ensure_shape(tf.ones((2, 3)), [None, 3]).shape.as_list() == [2, 3]
    with pytest.raises(ValueError, match="not compatible with expected shape"):
        tf.ensure_shape(tf.ones((2, 3)), [2, 4])
    with pytest.raises(ValueError, match="x == y"):
        tf.assert_equal(tf.constant([1, 2]), tf.constant([1, 3]))
    assert tf.truncatediv([-7, 7], [2, -2]).numpy().tolist() == [-3, -3]
    assert tf.truncatemod([-7, 7], [2, -2]).numpy().tolist() == [-1, 1]
    assert tf.saturate_cast([-300., 300., 1.7], tf.uint8).numpy().tolist() == [0, 255, 1]
    assert tf.saturate_cast(tf.constant([1e10, -1e10]), tf.int32).numpy().tolist() == [2147483520, -2147483648]
    assert tf.py_function(lambda a: a * 2, [tf.constant(3.0)], tf.float32).numpy() == 6.0


def test_bad_inputs_are_named():
    with pytest.raises(IndexError, match="gather_nd: indices\\[..., 1\\] must lie in \\[0, 3\\)"):
        tf.gather_nd(P, [[0, 5]])
    with pytest.raises(ValueError, match="scatter_nd: updates must have shape \\(2, 4\\)"):
        tf.scatter_nd([[0], [1]], np.ones((2, 3)), [3, 4])
    with pytest.raises(ValueError, match="boolean_mask: mask shape \\(2,\\) must equal"):
        tf.boolean_mask(P, [True, False], axis=1)
    with pytest.raises(ValueError, match="pad: REFLECT padding of \\(0, 3\\) needs an axis longer"):
        tf.pad(P, [[0, 0], [0, 3], [0, 0]], mode="REFLECT")
    with pytest.raises(ValueError, match="while_loop: body returned 1 values for 2 loop variables"):
        tf.while_loop(lambda a, b: a < 2, lambda a, b: a + 1, (0, 1))
