"""tf.train.Checkpoint / CheckpointManager for custom training loops: resume (in this process and in another
one) is bitwise equal to an uninterrupted run, deferred optimizer slots, manager bookkeeping, status
assertions, the reader functions, and errors that name what is wrong."""
import os
import subprocess
import sys
import zipfile

import numpy as np
import pytest

import tapeflow as tf

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COMMON = """
import numpy as np
import tapeflow as tf

def data(steps):
    rng = np.random.default_rng(0)
    xs = rng.standard_normal((steps, 16, 4)).astype(np.float32)
    ys = (xs.sum(-1, keepdims=True) * 0.5 + 0.1).astype(np.float32)
    return xs, ys

def make(seed):
    tf.random.set_seed(seed)
    model = tf.keras.Sequential([tf.keras.Input((4,)), tf.keras.layers.Dense(8, activation="relu"),
                                 tf.keras.layers.Dense(1)])
    return model, tf.keras.optimizers.Adam(0.01)

def step(model, opt, x, y):
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean((model(tf.constant(x)) - tf.constant(y)) ** 2)
    grads = tape.gradient(loss, model.trainable_variables)
    opt.apply_gradients(zip(grads, model.trainable_variables))

def state(model, opt):
    return [w.numpy() for w in model.weights], [v.numpy() for v in opt.variables]
"""
exec(COMMON)  # the same helpers here and in the subprocess  # noqa: S102
TOTAL, FIRST = 8, 4


def _assert_same(a, b):
    assert len(a[0]) == len(b[0]) and len(a[1]) == len(b[1])
    for x, y in zip(a[0] + a[1], b[0] + b[1]):
        assert x.dtype == y.dtype and x.shape == y.shape
        np.testing.assert_array_equal(x, y)


def test_resume_is_bitwise_equal_to_uninterrupted_run(tmp_path):
    xs, ys = data(TOTAL)  # noqa: F821
    model, opt = make(0)  # noqa: F821
    for i in range(TOTAL):
        step(model, opt, xs[i], ys[i])  # noqa: F821
    reference = state(model, opt)  # noqa: F821

    model, opt = make(0)  # noqa: F821
    ckpt = tf.train.Checkpoint(model=model, optimizer=opt)
    manager = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=3)
    for i in range(FIRST):
        step(model, opt, xs[i], ys[i])  # noqa: F821
        if (i + 1) % 2 == 0:
            manager.save()
    assert manager.latest_checkpoint == os.path.join(str(tmp_path), "ckpt-2")

    # a fresh model and optimizer in this process: slots restored before they exist (deferred)
    model2, opt2 = make(1)  # noqa: F821
    assert not opt2.built
    ckpt2 = tf.train.Checkpoint(model=model2, optimizer=opt2)
    status = ckpt2.restore(tf.train.latest_checkpoint(str(tmp_path)))
    status.assert_existing_objects_matched()
    with pytest.raises(AssertionError, match="optimizer/variables/2"):
        status.assert_consumed()   # the Adam slots wait for the first step
    assert int(opt2.iterations) == FIRST and int(ckpt2.save_counter) == 2
    for i in range(FIRST, TOTAL):
        step(model2, opt2, xs[i], ys[i])  # noqa: F821
    status.assert_consumed()
    _assert_same(state(model2, opt2), reference)  # noqa: F821

    # and in another process
    out = tmp_path / "resumed.npz"
    script = COMMON + f"""
xs, ys = data({TOTAL})
model, opt = make(7)
ckpt = tf.train.Checkpoint(model=model, optimizer=opt)
manager = tf.train.CheckpointManager(ckpt, {str(tmp_path)!r}, max_to_keep=3)
ckpt.restore(manager.latest_checkpoint).assert_existing_objects_matched()
for i in range({FIRST}, {TOTAL}):
    step(model, opt, xs[i], ys[i])
w, o = state(model, opt)
np.savez({str(out)!r}, **{{f"w{{i}}": a for i, a in enumerate(w)}}, **{{f"o{{i}}": a for i, a in enumerate(o)}})
print(manager.save())
"""
    env = dict(os.environ, PYTHONPATH=REPO + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().endswith("ckpt-3")   # the restored save counter continues the numbering
    with np.load(out, allow_pickle=False) as f:
        got = ([f[f"w{i}"] for i in range(len(reference[0]))], [f[f"o{i}"] for i in range(len(reference[1]))])
    _assert_same(got, reference)


def test_manager_keeps_max_to_keep_and_continues_numbering(tmp_path):
    d = str(tmp_path)
    assert tf.train.latest_checkpoint(d) is None
    assert tf.train.latest_checkpoint(os.path.join(d, "missing")) is None
    v = tf.Variable([1.0, 2.0])
    ckpt = tf.train.Checkpoint(v=v)
    manager = tf.train.CheckpointManager(ckpt, d, max_to_keep=2)
    assert manager.latest_checkpoint is None and manager.checkpoints == []
    assert manager.restore_or_initialize() is None
    paths = [manager.save() for _ in range(5)]
    assert [os.path.basename(p) for p in paths] == [f"ckpt-{i}" for i in range(1, 6)]
    assert manager.checkpoints == paths[-2:]
    assert sorted(os.listdir(d)) == ["checkpoint", "ckpt-4", "ckpt-5"]   # older ones deleted, no temp files
    text = (tmp_path / "checkpoint").read_text()
    assert 'model_checkpoint_path: "ckpt-5"' in text
    assert 'all_model_checkpoint_paths: "ckpt-4"' in text and "ckpt-3" not in text
    assert tf.train.latest_checkpoint(d) == paths[-1]
    assert manager.save(checkpoint_number=42).endswith("ckpt-42")

    # a restarted program, without restoring: numbering continues, nothing is overwritten
    w = tf.Variable([0.0, 0.0])
    manager2 = tf.train.CheckpointManager(tf.train.Checkpoint(v=w), d, max_to_keep=2)
    assert manager2.latest_checkpoint.endswith("ckpt-42")
    assert manager2.checkpoints == [paths[-1], os.path.join(d, "ckpt-42")]
    assert manager2.save().endswith("ckpt-43")
    assert sorted(os.listdir(d)) == ["checkpoint", "ckpt-42", "ckpt-43"]

    # restore(None) is a no-op; restore_or_initialize restores the latest
    before = w.numpy().copy()
    status = tf.train.Checkpoint(v=w).restore(None)
    np.testing.assert_array_equal(w.numpy(), before)
    status.expect_partial()
    with pytest.raises(AssertionError):
        status.assert_consumed()
    calls = []
    m3 = tf.train.CheckpointManager(tf.train.Checkpoint(v=w), str(tmp_path / "fresh"), 1,
                                    init_fn=lambda: calls.append(1))
    assert m3.restore_or_initialize() is None and calls == [1]
    _ = v.assign([5.0, 6.0])
    m4 = tf.train.CheckpointManager(tf.train.Checkpoint(v=v), d, max_to_keep=2)
    assert m4.restore_or_initialize().endswith("ckpt-43")
    np.testing.assert_array_equal(v.numpy(), [0.0, 0.0])
    with pytest.raises(ValueError, match="max_to_keep"):
        tf.train.CheckpointManager(ckpt, d, max_to_keep=0)


def test_checkpoint_interval_and_keep_every_n_hours(tmp_path):
    step = tf.Variable(0, dtype="int64")
    ckpt = tf.train.Checkpoint(step=step)
    manager = tf.train.CheckpointManager(ckpt, str(tmp_path), max_to_keep=1, step_counter=step,
                                         checkpoint_interval=3)
    saved = []
    for _ in range(7):
        saved.append(manager.save())
        step.assign_add(1)
    assert [p is not None for p in saved] == [True, False, False, True, False, False, True]
    keep = tf.train.CheckpointManager(tf.train.Checkpoint(step=step), str(tmp_path / "k"), max_to_keep=1,
                                      keep_checkpoint_every_n_hours=0.0)
    first = keep.save(options=tf.train.CheckpointOptions())
    keep.save()
    assert os.path.exists(first) and keep.checkpoints == [os.path.join(str(tmp_path / "k"), "ckpt-2")]


def test_save_write_and_trackables(tmp_path):
    class Inner(tf.Module):
        def __init__(self):
            super().__init__()
            self.b = tf.Variable([1.0, 2.0, 3.0])

    class Outer(tf.Module):
        def __init__(self):
            super().__init__()
            self.inner = Inner()
            self.ws = [tf.Variable(1.0), tf.Variable([[2.0]])]
            self.table = {"a": tf.Variable(3, dtype="int64")}

    layer = tf.keras.layers.Dense(2)
    layer.build((None, 3))
    src = tf.train.Checkpoint(mod=Outer(), items=[tf.Variable(4.0), {"k": tf.Variable([5.0])}],
                              nested=tf.train.Checkpoint(layer=layer))
    src.extra = tf.Variable(6.0)
    path = src.write(str(tmp_path / "exact"))
    assert path == str(tmp_path / "exact") and sorted(os.listdir(tmp_path)) == ["exact"]   # no state file
    names = dict(tf.train.list_variables(path))
    assert names["mod/inner/b/.ATTRIBUTES/VARIABLE_VALUE"] == [3]
    assert names["mod/ws/1/.ATTRIBUTES/VARIABLE_VALUE"] == [1, 1]
    assert names["nested/layer/weights/0/.ATTRIBUTES/VARIABLE_VALUE"] == [3, 2]
    assert {"mod/table/a", "items/0", "items/1/k", "extra", "save_counter"} <= \
        {n.rsplit("/.ATTRIBUTES", 1)[0] for n in names}
    np.testing.assert_array_equal(tf.train.load_variable(path, "mod/inner/b"), [1.0, 2.0, 3.0])
    reader = tf.train.load_checkpoint(path)
    assert reader.get_variable_to_shape_map() == names
    np.testing.assert_array_equal(reader.get_tensor("nested/layer/weights/0/.ATTRIBUTES/VARIABLE_VALUE"),
                                  layer.kernel.numpy())
    with pytest.raises(FileNotFoundError, match="nope"):
        reader.get_tensor("nope")
    with zipfile.ZipFile(path) as zf:   # zip + JSON + .npy: readable without pickle
        assert "checkpoint.json" in zf.namelist() and all(n.endswith(".npy") or n.endswith(".json")
                                                          for n in zf.namelist())

    layer2 = tf.keras.layers.Dense(2)
    layer2.build((None, 3))
    dst = tf.train.Checkpoint(mod=Outer(), items=[tf.Variable(0.0), {"k": tf.Variable([0.0])}],
                              nested=tf.train.Checkpoint(layer=layer2), extra=tf.Variable(0.0))
    _ = dst.mod.inner.b.assign([0.0, 0.0, 0.0])
    dst.read(path).assert_consumed()
    np.testing.assert_array_equal(dst.mod.inner.b.numpy(), [1.0, 2.0, 3.0])
    assert float(dst.items[0].numpy()) == 4.0 and dst.items[1]["k"].numpy().tolist() == [5.0]
    np.testing.assert_array_equal(layer2.kernel.numpy(), layer.kernel.numpy())
    assert float(dst.extra.numpy()) == 6.0

    save_path = src.save(str(tmp_path / "run" / "ckpt"))
    assert save_path.endswith("ckpt-1") and tf.train.latest_checkpoint(str(tmp_path / "run")) == save_path
    assert tf.train.list_variables(str(tmp_path / "run")) == sorted(names.items())   # a directory: latest
    with pytest.raises(ValueError, match="trackable"):
        tf.train.Checkpoint(model="not trackable")


def test_status_assertions_and_errors(tmp_path):
    path = tf.train.Checkpoint(a=tf.Variable([1.0]), b=tf.Variable([2.0])).write(str(tmp_path / "c"))
    only_a = tf.train.Checkpoint(a=tf.Variable([0.0]))
    status = only_a.restore(path)
    status.assert_existing_objects_matched().assert_nontrivial_match()
    with pytest.raises(AssertionError, match="'b'"):
        status.assert_consumed()
    more = tf.train.Checkpoint(a=tf.Variable([0.0]), b=tf.Variable([0.0]), c=tf.Variable([0.0]))
    status = more.restore(path)
    with pytest.raises(AssertionError, match="'c'"):
        status.assert_existing_objects_matched()
    with pytest.raises(AssertionError, match="'c'"):
        status.assert_consumed()
    with pytest.raises(AssertionError, match="nothing except the root"):
        tf.train.Checkpoint(z=tf.Variable([0.0])).restore(path).expect_partial().assert_nontrivial_match()

    a, b = tf.Variable([0.0]), tf.Variable([0.0, 0.0])
    with pytest.raises(ValueError, match=r"'b'.*\(2,\).*\(1,\)"):
        tf.train.Checkpoint(a=a, b=b).restore(path)
    assert a.numpy().tolist() == [0.0]   # nothing assigned when any value does not fit
    with pytest.raises(FileNotFoundError, match="does-not-exist"):
        tf.train.Checkpoint(a=a).restore(str(tmp_path / "does-not-exist"))
    (tmp_path / "junk").write_bytes(b"not a checkpoint")
    with pytest.raises(tf.errors.DataLossError, match="junk"):
        tf.train.Checkpoint(a=a).restore(str(tmp_path / "junk"))


def test_unbuilt_model_raises_and_optimizer_slots_are_deferred(tmp_path):
    model, opt = make(0)  # noqa: F821
    xs, ys = data(2)  # noqa: F821
    step(model, opt, xs[0], ys[0])  # noqa: F821
    path = tf.train.Checkpoint(model=model, optimizer=opt).write(str(tmp_path / "c"))

    unbuilt = tf.keras.Sequential([tf.keras.layers.Dense(8, activation="relu"), tf.keras.layers.Dense(1)])
    with pytest.raises(ValueError, match="not built.*build it first"):
        tf.train.Checkpoint(model=unbuilt).restore(path)
    unbuilt.build((None, 4))
    tf.train.Checkpoint(model=unbuilt).restore(path).expect_partial().assert_existing_objects_matched()
    for w, ref in zip(unbuilt.weights, model.weights):
        np.testing.assert_array_equal(w.numpy(), ref.numpy())

    opt2 = tf.keras.optimizers.Adam(0.01)
    status = tf.train.Checkpoint(optimizer=opt2).restore(path)
    assert opt2._restore_pending is not None and int(opt2.iterations) == 1
    opt2.build(unbuilt.trainable_variables)       # built directly: values still assigned before the first update
    grads = [tf.zeros_like(v) for v in unbuilt.trainable_variables]
    opt2.apply_gradients(zip(grads, unbuilt.trainable_variables))
    status.expect_partial()
    assert opt2._restore_pending is None
    np.testing.assert_allclose(opt2.variables[2].numpy(), opt.variables[2].numpy() * 0.9, rtol=1e-6)

    bad = tf.keras.optimizers.Adam(0.01)
    tf.train.Checkpoint(optimizer=bad).restore(path)
    wrong = [tf.Variable(np.zeros((3, 3), np.float32)) for _ in model.trainable_variables]
    with pytest.raises(ValueError, match=r"optimizer/variables/2.*\(3, 3\).*\(4, 8\)"):
        bad.apply_gradients(zip([tf.zeros_like(v) for v in wrong], wrong))
