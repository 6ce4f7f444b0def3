"""tf.distribute: MirroredStrategy's API over in-process replicas."""
import numpy as np
import pytest

import tapeflow as tf

keras = tf.keras


def data(n=32, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 4)).astype(np.float32)
    return x, (x @ np.array([[1.0], [-2.0], [0.5], [0.0]], np.float32))


def test_default_strategy_and_scope():
    assert not tf.distribute.has_strategy()
    assert tf.distribute.get_strategy().num_replicas_in_sync == 1
    strategy = tf.distribute.MirroredStrategy()
    assert strategy.num_replicas_in_sync == 1
    with strategy.scope():
        assert tf.distribute.get_strategy() is strategy and tf.distribute.has_strategy()
        model = keras.Sequential([keras.layers.Dense(1, input_shape=(4,))])
        model.compile(optimizer="adam", loss="mse")
    assert tf.distribute.get_strategy() is not strategy
    x, y = data()
    h = model.fit(x, y, batch_size=8 * strategy.num_replicas_in_sync, epochs=2, verbose=0)
    assert len(h.history["loss"]) == 2


def test_mixing_strategies_is_refused():
    a, b = tf.distribute.MirroredStrategy(), tf.distribute.OneDeviceStrategy("/cpu:0")
    with a.scope():
        with pytest.raises(ValueError, match="Mixing"):
            with b.scope():
                pass


def test_n_cpu_devices_split_batches_and_reduce():
    strategy = tf.distribute.MirroredStrategy(devices=["/cpu:0", "/cpu:1", "/cpu:2"])
    assert strategy.num_replicas_in_sync == 3
    x, y = data(n=12)
    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(6)
    batches = list(strategy.experimental_distribute_dataset(ds))
    assert len(batches) == 2
    xb, yb = batches[0]
    assert isinstance(xb, tf.distribute.PerReplica) and [v.shape[0] for v in xb.values] == [2, 2, 2]
    np.testing.assert_array_equal(np.concatenate([v.numpy() for v in xb.values]), x[:6])

    def replica_fn(inputs):
        xs, _ = inputs
        ctx = tf.distribute.get_replica_context()
        return tf.reduce_sum(xs), tf.constant(float(ctx.replica_id_in_sync_group))
    sums, ids = strategy.run(replica_fn, args=(batches[0],))
    assert [float(v) for v in strategy.experimental_local_results(ids)] == [0.0, 1.0, 2.0]
    assert float(strategy.reduce(tf.distribute.ReduceOp.SUM, sums, axis=None)) == pytest.approx(float(x[:6].sum()),
                                                                                                  rel=1e-5)
    assert float(strategy.reduce("MEAN", sums, axis=None)) == pytest.approx(float(x[:6].sum()) / 3, rel=1e-5)
    mean_rows = strategy.reduce(tf.distribute.ReduceOp.MEAN, xb, axis=0)
    np.testing.assert_allclose(mean_rows.numpy(), x[:6].mean(0), rtol=1e-5)
    assert strategy.gather(xb, axis=0).shape.as_list() == [6, 4]
    with pytest.raises(ValueError, match="ReduceOp"):
        strategy.reduce("MAX", sums, axis=None)


def _custom_loop(devices):
    strategy = tf.distribute.MirroredStrategy(devices=devices)
    global_batch = 8
    with strategy.scope():
        tf.random.set_seed(0)
        model = keras.Sequential([keras.layers.Dense(3, activation="tanh", input_shape=(4,)), keras.layers.Dense(1)])
        optimizer = keras.optimizers.SGD(0.1)
    x, y = data(n=16)
    ds = strategy.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices((x, y)).batch(global_batch))

    def step(inputs):
        xs, ys = inputs
        with tf.GradientTape() as tape:
            per_example = tf.reduce_sum(tf.square(model(xs, training=True) - ys), axis=1)
            loss = tf.distribute.compute_average_loss(per_example, global_batch_size=global_batch)
        grads = tape.gradient(loss, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))
        return loss

    losses = []
    for batch in ds:
        per_replica = strategy.run(step, args=(batch,))
        losses.append(float(strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)))
    return model.get_weights(), losses, int(optimizer.iterations)


def test_replica_gradients_are_summed_and_applied_once():
    w1, l1, it1 = _custom_loop(["/cpu:0"])
    w2, l2, it2 = _custom_loop(["/cpu:0", "/cpu:1"])
    assert it1 == it2 == 2  # one update per global batch, not one per replica
    np.testing.assert_allclose(l1, l2, rtol=1e-5)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_compute_average_loss_defaults_to_global_batch():
    strategy = tf.distribute.MirroredStrategy(devices=["/cpu:0", "/cpu:1"])
    per = tf.distribute.PerReplica((tf.constant([1.0, 3.0]), tf.constant([5.0, 7.0])))
    out = strategy.run(lambda v: tf.distribute.compute_average_loss(v), args=(per,))
    assert float(strategy.reduce("SUM", out, axis=None)) == pytest.approx(4.0)  # 16 / (2 * 2)


def test_distribute_reachable_from_tf_namespace():
    assert tf.distribute.MirroredStrategy is not None
    assert tf.distribute.ReduceOp.SUM.value == "SUM"
    with pytest.raises(ValueError, match="duplicate"):
        tf.distribute.MirroredStrategy(devices=["/cpu:0", "/CPU:0"])
