"""GradientTape, Tensor and Variable semantics, as TensorFlow 2 defines them."""
import numpy as np
import pytest

import tapeflow as tf


def numeric_jacobian(f, x, eps=1e-6):
    x = np.asarray(x, np.float64)
    y0 = np.asarray(f(x))
    jac = np.zeros(y0.shape + x.shape)
    for i in np.ndindex(x.shape):
        xp, xm = x.copy(), x.copy()
        xp[i] += eps
        xm[i] -= eps
        jac[(Ellipsis,) + i] = (np.asarray(f(xp)) - np.asarray(f(xm))) / (2 * eps)
    return jac


# -- what the tape watches ------------------------------------------------------------------
def test_trainable_variable_is_watched_automatically():
    v = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = v * v
    assert float(tape.gradient(y, v)) == 6.0
    assert tape.watched_variables() == (v,)


def test_non_trainable_variable_is_not_watched():
    v = tf.Variable(3.0, trainable=False)
    with tf.GradientTape() as tape:
        y = v * v
    assert tape.gradient(y, v) is None


def test_constants_need_watch():
    x = tf.constant(2.0)
    with tf.GradientTape(persistent=True) as tape:
        y = x ** 3
    assert tape.gradient(y, x) is None
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = x ** 3
    assert float(tape.gradient(y, x)) == pytest.approx(12.0)


def test_watch_accessed_variables_false():
    a, b = tf.Variable(2.0), tf.Variable(5.0)
    with tf.GradientTape(watch_accessed_variables=False) as tape:
        tape.watch(a)
        y = a * b
    ga, gb = tape.gradient(y, [a, b])
    assert float(ga) == 5.0 and gb is None
    assert tape.watched_variables() == (a,)


# -- persistence, nesting, pausing ----------------------------------------------------------
def test_persistent_tape_can_be_reused():
    x = tf.Variable(2.0)
    with tf.GradientTape(persistent=True) as tape:
        y = x * x
        z = y * y
    assert float(tape.gradient(y, x)) == 4.0
    assert float(tape.gradient(z, x)) == 32.0


def test_non_persistent_tape_used_twice_raises():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = x * x
    tape.gradient(y, x)
    with pytest.raises(RuntimeError, match="persistent"):
        tape.gradient(y, x)


def test_nested_tapes_give_second_derivative():
    x = tf.Variable(1.5)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = x ** 3 + tf.sin(x)
        dy = inner.gradient(y, x)
    d2y = outer.gradient(dy, x)
    assert float(dy) == pytest.approx(3 * 1.5 ** 2 + np.cos(1.5), rel=1e-6)
    assert float(d2y) == pytest.approx(6 * 1.5 - np.sin(1.5), rel=1e-5)


def test_nested_tapes_third_derivative_of_tanh():
    x = tf.constant(0.3, dtype=tf.float64)
    with tf.GradientTape() as t3:
        t3.watch(x)
        with tf.GradientTape() as t2:
            t2.watch(x)
            with tf.GradientTape() as t1:
                t1.watch(x)
                y = tf.tanh(x)
            d1 = t1.gradient(y, x)
        d2 = t2.gradient(d1, x)
    d3 = t3.gradient(d2, x)
    t = np.tanh(0.3)
    assert float(d3) == pytest.approx(-2 * (1 - t * t) ** 2 + 4 * t * t * (1 - t * t), rel=1e-9)


def test_stop_recording():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = x * 3.0
        with tape.stop_recording():
            z = x * x
        out = y + z
    assert float(tape.gradient(out, x)) == 3.0


def test_stop_gradient():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = x * tf.stop_gradient(x)
    assert float(tape.gradient(y, x)) == 2.0


# -- results: structure, unconnected, dtypes -------------------------------------------------
def test_unconnected_gradients_none_and_zero():
    x, u = tf.Variable([1.0, 2.0]), tf.Variable([[3.0]])
    with tf.GradientTape(persistent=True) as tape:
        y = tf.reduce_sum(x * 2.0)
    assert tape.gradient(y, u) is None
    gz = tape.gradient(y, u, unconnected_gradients="zero")
    assert gz.shape == (1, 1) and gz.dtype == np.float32 and float(gz[0, 0]) == 0.0
    with pytest.raises(ValueError):
        tape.gradient(y, u, unconnected_gradients="bogus")


def test_gradient_of_integer_source_is_none():
    i = tf.constant(3)
    with tf.GradientTape() as tape:
        tape.watch(i)
        y = tf.cast(i, tf.float32) * 2.0
    assert tape.gradient(y, i) is None


def test_nested_source_structures():
    a, b, c = tf.Variable(1.0), tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = a * b * c
    g = tape.gradient(y, {"x": [a, (b,)], "y": c})
    assert set(g) == {"x", "y"} and isinstance(g["x"], list) and isinstance(g["x"][1], tuple)
    assert float(g["x"][0]) == 6.0 and float(g["x"][1][0]) == 3.0 and float(g["y"]) == 2.0


def test_list_of_targets_sums_them():
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y1, y2 = x * x, x * 3.0
    assert float(tape.gradient([y1, y2], x)) == 7.0


def test_output_gradients():
    x = tf.Variable([1.0, 2.0, 3.0])
    with tf.GradientTape() as tape:
        y = x * x
    g = tape.gradient(y, x, output_gradients=tf.constant([1.0, 0.0, -1.0]))
    np.testing.assert_allclose(g.numpy(), [2.0, 0.0, -6.0])


def test_gradient_keeps_variable_dtype():
    x = tf.Variable(np.array([1.0, 2.0], np.float64))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.cast(x, tf.float32) ** 2)
    g = tape.gradient(y, x)
    assert g.dtype == np.float64
    np.testing.assert_allclose(g.numpy(), [2.0, 4.0])


def test_same_tensor_used_twice_accumulates():
    x = tf.Variable(3.0)
    with tf.GradientTape() as tape:
        y = x * x * x
    assert float(tape.gradient(y, x)) == pytest.approx(27.0)


# -- jacobians -----------------------------------------------------------------------------
def test_jacobian_matches_numeric():
    w = np.random.default_rng(0).standard_normal((3, 2))
    x = tf.constant(np.array([0.5, -1.0, 2.0]))

    def f(v):
        return np.tanh(np.asarray(v) @ w)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.tanh(tf.matmul(tf.reshape(x, (1, 3)), tf.constant(w)))[0]
    jac = tape.jacobian(y, x)
    assert jac.shape == (2, 3)
    np.testing.assert_allclose(jac.numpy(), numeric_jacobian(f, x.numpy()), rtol=1e-6, atol=1e-8)


def test_batch_jacobian_matches_numeric():
    x = tf.constant(np.random.default_rng(1).standard_normal((4, 3)))
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.nn.softmax(x * 2.0)
    bj = tape.batch_jacobian(y, x)
    assert bj.shape == (4, 3, 3)
    for b in range(4):
        def f(v):
            e = np.exp(2 * v - np.max(2 * v))
            return e / e.sum()
        np.testing.assert_allclose(bj.numpy()[b], numeric_jacobian(f, x.numpy()[b]), rtol=1e-6, atol=1e-8)


# -- custom_gradient -----------------------------------------------------------------------
def test_custom_gradient():
    @tf.custom_gradient
    def log1pexp(x):
        e = tf.exp(x)

        def grad(upstream):
            return upstream * (1 - 1 / (1 + e))
        return tf.math.log(1 + e), grad

    x = tf.constant(100.0, dtype=tf.float64)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = log1pexp(x)
    assert float(tape.gradient(y, x)) == 1.0


def test_custom_gradient_two_inputs_and_reuse_with_new_upstream():
    @tf.custom_gradient
    def mul(a, b):
        return a * b, lambda g: (g * b * 10.0, g * a)

    a, b = tf.Variable(2.0), tf.Variable(3.0)
    with tf.GradientTape(persistent=True) as tape:
        y = mul(a, b)
    ga, gb = tape.gradient(y, [a, b])
    assert float(ga) == 30.0 and float(gb) == 2.0
    for k in range(1, 4):  # a new upstream tensor each call must not hit a stale cached answer
        ga, gb = tape.gradient(y, [a, b], output_gradients=tf.constant(float(k)))
        assert float(ga) == 30.0 * k and float(gb) == 2.0 * k


# -- dtype rules and errors ----------------------------------------------------------------
def test_python_scalars_do_not_upcast_float32():
    x = tf.constant([1.0, 2.0])
    for y in (x * 2.5, 2.5 * x, x + 1, 1 - x, x / 3, x ** 2, tf.maximum(x, 0.5), x * np.float64(2.0)):
        assert y.dtype == np.float32


def test_dtype_mixing_error_names_the_op():
    with pytest.raises(TypeError, match="add.*float32.*float64"):
        tf.constant([1.0]) + tf.constant([1.0], dtype=tf.float64)
    with pytest.raises(TypeError, match="multiply"):
        tf.multiply(tf.constant([1, 2]), tf.constant([1.0, 2.0]))
    with pytest.raises(TypeError):
        tf.constant([1, 2]) * 0.5  # a float would be truncated into an int tensor


def test_matmul_shape_error_names_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(2, 3\)"):
        tf.matmul(tf.ones((2, 3)), tf.ones((2, 3)))
    with pytest.raises(ValueError, match="rank"):
        tf.matmul(tf.ones((3,)), tf.ones((3, 2)))


def test_constant_shape_and_dtype_rules():
    assert tf.constant(1).dtype == np.int32
    assert tf.constant(1.0).dtype == np.float32
    assert tf.constant([1, 2]).dtype == np.int32
    assert tf.constant([1.0, 2]).dtype == np.float32
    assert tf.constant(True).dtype == np.bool_
    assert tf.constant(np.float64(1.0)).dtype == np.float64
    assert tf.constant(np.zeros(2, np.float16)).dtype == np.float16
    assert tf.constant([1, 2], dtype=tf.float32).dtype == np.float32
    assert tf.constant(0.0, shape=(2, 3)).shape == (2, 3)
    assert tf.constant([1, 2, 3, 4], shape=(2, 2)).numpy().tolist() == [[1, 2], [3, 4]]
    with pytest.raises(ValueError):
        tf.constant([1, 2, 3], shape=(2, 2))
    a = np.ones(3, np.float32)
    c = tf.constant(a)
    a[0] = 5.0
    assert float(c[0]) == 1.0  # tf.constant copies a NumPy array


# -- Tensor protocol -----------------------------------------------------------------------
def test_tensor_conversions_indexing_and_iteration():
    t = tf.constant([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    assert isinstance(t.numpy(), np.ndarray) and t.numpy().shape == (2, 3)
    assert np.asarray(t).dtype == np.float32 and np.array(t, dtype=np.float64).dtype == np.float64
    assert float(tf.constant(2.5)) == 2.5 and int(tf.constant(3)) == 3
    assert isinstance(tf.constant(2.5).numpy(), np.floating)
    assert t[1, 2].numpy() == 6.0 and t[:, 1].numpy().tolist() == [2.0, 5.0]
    assert t[..., ::-1].numpy().tolist() == [[3.0, 2.0, 1.0], [6.0, 5.0, 4.0]]
    assert t[tf.constant(1)].numpy().tolist() == [4.0, 5.0, 6.0]
    rows = [r.numpy().tolist() for r in t]
    assert rows == [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]] and len(t) == 2
    assert t.shape == (2, 3) and t.shape.as_list() == [2, 3] and t.shape.rank == 2 and t.ndim == 2
    r = repr(t)
    assert "shape=(2, 3)" in r and "float32" in r and "numpy=" in r
    assert "tf.Tensor" in str(t)
    with pytest.raises(TypeError):
        iter(tf.constant(1.0)).__next__()
    with pytest.raises(IndexError):
        t[5]
    with pytest.raises(ValueError):
        bool(t)


def test_indexing_is_differentiable():
    x = tf.Variable([[1.0, 2.0], [3.0, 4.0]])
    with tf.GradientTape() as tape:
        y = x[0, 1] * 2.0 + tf.reduce_sum(x[:, 0] ** 2)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[2.0, 2.0], [6.0, 0.0]])


# -- Variable ------------------------------------------------------------------------------
def test_variable_assign_family():
    v = tf.Variable([1.0, 2.0], name="w")
    buf = v._value
    assert v.assign([3.0, 4.0]) is v
    v.assign_add([1.0, 1.0])
    v.assign_sub(tf.constant([0.5, 0.5]))
    np.testing.assert_allclose(v.numpy(), [3.5, 4.5])
    assert v._value is buf  # in place: optimizers allocate nothing
    assert v.dtype == np.float32 and v.name == "w"
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        v.assign([1.0, 2.0, 3.0])
    n = v.numpy()
    n[0] = 100.0
    assert float(v[0]) == 3.5  # numpy() of a Variable is a copy
    assert tf.Variable(1).dtype == np.int32 and tf.Variable(1.0).dtype == np.float32


# -- numerics ------------------------------------------------------------------------------
def test_one_hot_out_of_range_rows_are_zero():
    out = tf.one_hot([1, 7, -1], 3)
    np.testing.assert_array_equal(out.numpy(), [[0, 1, 0], [0, 0, 0], [0, 0, 0]])
    assert tf.one_hot([0], 2, on_value=5, off_value=-1).dtype == np.int32
    assert tf.one_hot([0], 2, axis=0).shape == (2, 1)


@pytest.mark.parametrize("logits", [[1e30, -1e30, 0.0], [-1e30, -1e30, -1e30], [0.0, -np.inf, 1.0],
                                    [-np.inf, 3.0, -np.inf]])
def test_softmax_and_log_softmax_stable(logits):
    x = tf.constant(np.array(logits, np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        p = tf.nn.softmax(x)
        lp = tf.nn.log_softmax(x)
        w = tf.constant([1.0, 2.0, 3.0])
        a = tf.reduce_sum(p * w)
        b = tf.reduce_sum(tf.where(tf.math.is_finite(lp), lp, tf.zeros_like(lp)))
    assert np.all(np.isfinite(p.numpy())) and float(tf.reduce_sum(p)) == pytest.approx(1.0)
    assert not np.any(np.isnan(lp.numpy()))
    np.testing.assert_allclose(np.exp(lp.numpy()), p.numpy(), atol=1e-6)
    assert np.all(np.isfinite(tape.gradient(a, x).numpy()))
    assert np.all(np.isfinite(tape.gradient(b, x).numpy()))


def test_cross_entropy_stable_for_huge_logits():
    lg = tf.constant([[1e30, -1e30, 0.0]])
    with tf.GradientTape() as tape:
        tape.watch(lg)
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits([1], lg)
    assert np.isfinite(loss.numpy()).all()
    assert np.isfinite(tape.gradient(loss, lg).numpy()).all()


def test_integer_reduce_mean_truncates_toward_zero():
    assert int(tf.reduce_mean(tf.constant([-1, -2]))) == -1
    assert int(tf.reduce_mean(tf.constant([1, 2]))) == 1
    assert tf.reduce_mean(tf.constant([1, 2])).dtype == np.int32


def test_random_seeding_is_repeatable():
    tf.random.set_seed(123)
    a = tf.random.normal((3,)).numpy()
    b = tf.random.uniform((2,), seed=7).numpy()
    tf.random.set_seed(123)
    np.testing.assert_array_equal(tf.random.normal((3,)).numpy(), a)
    np.testing.assert_array_equal(tf.random.uniform((2,), seed=7).numpy(), b)
    assert not np.array_equal(tf.random.normal((3,)).numpy(), a)  # the stream moves on
    assert tf.random.normal((2,)).dtype == np.float32


def test_clip_by_global_norm():
    a, b = tf.constant([3.0, 0.0]), tf.constant([[0.0, 4.0]])
    (ca, cb), norm = tf.clip_by_global_norm([a, None, b][::2], 1.0)
    assert float(norm) == pytest.approx(5.0)
    np.testing.assert_allclose(ca.numpy(), [0.6, 0.0], rtol=1e-6)
    np.testing.assert_allclose(cb.numpy(), [[0.0, 0.8]], rtol=1e-6)
    out, norm = tf.clip_by_global_norm([a, None], 10.0)
    assert out[1] is None
    np.testing.assert_allclose(out[0].numpy(), a.numpy())
    out, _ = tf.clip_by_global_norm([tf.constant([np.inf, 1.0])], 1.0)
    assert np.all(np.isnan(out[0].numpy()))


def test_clip_by_global_norm_is_differentiable():
    x = tf.Variable([3.0, 4.0])
    with tf.GradientTape() as tape:
        (c,), _ = tf.clip_by_global_norm([x], 1.0)
        y = tf.reduce_sum(c)
    # d/dx sum(x / |x|) = 1/|x| - sum(x) x / |x|^3
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [0.2 - 7 * 3 / 125, 0.2 - 7 * 4 / 125], rtol=1e-5)


def test_reducing_a_scalar_variable_returns_a_snapshot():
    v = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        s = tf.reduce_sum(v)
        m = tf.reduce_max(v) * 3.0
    assert not isinstance(s, tf.Variable)
    assert float(tape.gradient([s, m], v)) == 4.0
    v.assign(5.0)
    assert float(s) == 2.0


def test_transpose_default_perm_and_unstack_use_python_ints():
    x = tf.Variable(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.transpose(x) * tf.constant([[1.0, 2.0]]))
        parts = tf.unstack(x, axis=1)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[1, 1, 1], [2, 2, 2]])
    assert [p.numpy().tolist() for p in parts] == [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]]


def test_gradients_and_datasets_leave_no_reference_cycle_holding_tensors():
    """Arrays held by a reference cycle live until the garbage collector runs (a self-calling closure in
    tape.gradient kept every recomputed layer's gradients alive through the backward pass)."""
    import gc

    import tapeflow as tf
    dense = tf.keras.layers.Dense(8, activation="relu")
    x = tf.constant(np.ones((4, 6), "float32"))
    ds = tf.data.Dataset.from_tensor_slices({"a": np.ones((8, 3), "float32"), "b": np.zeros(8)}).batch(4)

    def work():
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(tf.recompute_grad(dense)(x)) + tf.reduce_sum(dense(x))
        grads = tape.gradient(y, {"w": dense.trainable_variables})
        batches = [tf.nest.pack_sequence_as(b, tf.nest.flatten(b)) for b in ds]
        return grads, batches
    work()  # first calls load modules and build the layer
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        work()
        gc.collect()
        cyclic = [type(o).__name__ for o in gc.garbage if isinstance(o, (tf.Tensor, np.ndarray))]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()
    assert cyclic == []
