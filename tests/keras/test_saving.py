"""Saving and loading: round trips, Keras 3 interop (committed fixtures), and refusal of unsafe or broken files."""
import io
import json
import os
import signal
import subprocess
import sys
import time
import zipfile

import numpy as np
import pytest

from _oracle import require_module  # noqa: E402

h5py = require_module("h5py")
import tapeflow as tf  # noqa: E402
from tapeflow.keras.saving import ModelFileError  # noqa: E402

L = tf.keras.layers
FIX = os.path.join(os.path.dirname(os.path.dirname(__file__)), "fixtures", "keras3")
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def seq_model(compile=True):
    m = tf.keras.Sequential([tf.keras.Input((5,)), L.Dense(8, activation="relu"), L.Dropout(0.25),
                             L.Dense(6, activation="tanh"), L.Activation("sigmoid"), L.Dense(3)], name="seq")
    if compile:
        m.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="mse", metrics=["mae"])
    return m


def func_model():
    inp = tf.keras.Input((4, 3), name="x")
    f = L.Flatten()(inp)
    a = L.Dense(5, activation="gelu", name="a")(f)
    b = L.Dense(5, activation="elu", name="b")(f)
    r = L.Reshape((2, 5))(L.Concatenate()([a, b]))
    m = tf.keras.Model(inp, L.Dense(2, name="out")(L.Flatten()(r)), name="func")
    m.compile(optimizer=tf.keras.optimizers.Adam(0.01), loss="mse")
    return m


def trained(model, x, y):
    model.fit(x, y, epochs=2, batch_size=3, verbose=0)
    return model


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(6, 5)).astype("float32"), rng.normal(size=(6, 3)).astype("float32")


def _same_weights(a, b):
    wa, wb = a.get_weights(), b.get_weights()
    return len(wa) == len(wb) and all(np.array_equal(x, y) for x, y in zip(wa, wb))


# -- round trips ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["m.keras", "m.h5"])
def test_round_trip_whole_model_restores_weights_compile_and_optimizer(tmp_path, data, name):
    x, y = data
    m = trained(seq_model(), x, y)
    path = tmp_path / name
    m.save(path)
    m2 = tf.keras.models.load_model(path)
    assert np.array_equal(m.predict(x, verbose=0), m2.predict(x, verbose=0))
    assert type(m2.optimizer).__name__ == "Adam" and np.isclose(float(m2.optimizer.learning_rate), 0.01)
    assert [np.array_equal(a, b) for a, b in zip(m.optimizer.get_weights(), m2.optimizer.get_weights())] == \
        [True] * len(m.optimizer.get_weights())
    tf.random.set_seed(5)
    m.train_on_batch(x, y)
    tf.random.set_seed(5)
    m2.train_on_batch(x, y)  # resumed optimizer state: the next step is the same step
    assert _same_weights(m, m2)
    assert set(m2.evaluate(x, y, verbose=0, return_dict=True)) == {"loss", "mae"}
    assert not [f for f in os.listdir(tmp_path) if f.endswith(".tmp")]


def test_round_trip_functional_and_weights_only(tmp_path):
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(6, 4, 3)).astype("float32"), rng.normal(size=(6, 2)).astype("float32")
    m = trained(func_model(), x, y)
    m.save(tmp_path / "f.keras")
    m2 = tf.keras.saving.load_model(tmp_path / "f.keras", compile=False)
    assert np.array_equal(m.predict(x, verbose=0), m2.predict(x, verbose=0)) and not m2._is_compiled
    m.save_weights(tmp_path / "f.weights.h5")
    m3 = func_model()
    m3.load_weights(tmp_path / "f.weights.h5")
    assert _same_weights(m, m3)
    m4 = func_model()
    m4.load_weights(tmp_path / "f.keras")  # weights straight out of a .keras archive
    assert _same_weights(m, m4)


def test_subclassed_model_weights_and_registered_class(tmp_path):
    @tf.keras.saving.register_keras_serializable(package="test_saving")
    class MLP(tf.keras.Model):
        def __init__(self, units=4, **kwargs):
            super().__init__(**kwargs)
            self.units = units
            self.hidden = L.Dense(units, activation="relu")
            self.blocks = [L.Dense(units), L.Dense(units)]
            self.head = L.Dense(2)

        def call(self, x, training=None):
            for b in self.blocks:
                x = b(x)
            return self.head(self.hidden(x))

        def get_config(self):
            return {"units": self.units, "name": self.name}

    x = np.random.default_rng(2).normal(size=(3, 4)).astype("float32")
    m = MLP()
    m(x)
    m.save_weights(tmp_path / "s.weights.h5")
    with h5py.File(tmp_path / "s.weights.h5") as f:  # Keras 3 paths: attribute names, lists by class name
        names = set()
        f.visit(names.add)
    assert {"blocks/dense/vars/0", "blocks/dense_1/vars/0", "head/vars/0", "hidden/vars/0", "vars"} == \
        {n for n in names if n.endswith("/0") or n == "vars"}
    m2 = MLP()
    m2(x)
    m2.load_weights(tmp_path / "s.weights.h5")
    assert np.array_equal(m.predict(x, verbose=0), m2.predict(x, verbose=0))
    m.save(tmp_path / "s.keras")
    m3 = tf.keras.models.load_model(tmp_path / "s.keras")
    assert np.array_equal(m.predict(x, verbose=0), m3.predict(x, verbose=0))


def test_save_weights_requires_keras3_suffix_and_unbuilt_model_is_refused(tmp_path):
    m = seq_model()
    with pytest.raises(ValueError, match=r"\.weights\.h5"):
        m.save_weights(tmp_path / "w.h5")
    with pytest.raises(ValueError, match=r"\.keras"):
        m.save(tmp_path / "model.pkl")
    with pytest.raises(FileExistsError):
        m.save(tmp_path / "a.keras")
        m.save(tmp_path / "a.keras", overwrite=False)


# -- Keras 3 interop -------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def kout():
    return np.load(os.path.join(FIX, "keras_outputs.npz"))


@pytest.fixture(scope="module")
def kread():
    return np.load(os.path.join(FIX, "keras_reads_tapeflow.npz"))


def _no_dropout(model):
    for layer in model.layers:
        if isinstance(layer, L.Dropout):
            layer.rate = 0.0


def _step_matches(model, x, y, ref, prefix):
    _no_dropout(model)  # as the generator did in Keras: the step is deterministic
    model.train_on_batch(x, y)
    got = model.get_weights()
    for i, w in enumerate(got):
        np.testing.assert_allclose(w, ref[f"{prefix}{i}"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("fname", ["keras_seq.keras", "keras_seq.h5"])
def test_keras_written_sequential_loads_with_identical_predictions(kout, fname):
    m = tf.keras.models.load_model(os.path.join(FIX, fname))
    np.testing.assert_allclose(m.predict(kout["x_seq"], verbose=0), kout["seq_pred"], rtol=1e-6, atol=1e-6)
    assert type(m.optimizer).__name__ == "Adam"
    # the optimizer state Keras saved (iterations, Adam moments in Keras's interleaved order) is restored:
    _step_matches(m, kout["x_seq"], kout["y_seq"], kout, "seq_after_step_")


def test_keras_written_weights_file_and_functional_model(kout):
    m = seq_model()
    m.load_weights(os.path.join(FIX, "keras_seq.weights.h5"))
    np.testing.assert_allclose(m.predict(kout["x_seq"], verbose=0), kout["seq_pred"], rtol=1e-6, atol=1e-6)
    _step_matches(m, kout["x_seq"], kout["y_seq"], kout, "seq_after_step_")
    f = tf.keras.models.load_model(os.path.join(FIX, "keras_func.keras"))
    np.testing.assert_allclose(f.predict(kout["x_func"], verbose=0), kout["func_pred"], rtol=1e-5, atol=1e-6)
    _step_matches(f, kout["x_func"], kout["y_func"], kout, "func_after_step_")


def test_tapeflow_written_files_give_keras_the_same_numbers(kout, kread):
    """The fixtures tapeflow_*.{keras,h5,weights.h5} were loaded by real Keras 3 in the generator script;
    tapeflow's predictions from the same files equal what Keras computed, as does one more training step."""
    m = tf.keras.models.load_model(os.path.join(FIX, "tapeflow_seq.keras"))
    np.testing.assert_allclose(m.predict(kout["x_seq"], verbose=0), kread["seq_keras_pred"], rtol=1e-6, atol=1e-6)
    _step_matches(m, kout["x_seq"], kout["y_seq"], kread, "seq_keras_after_step_")
    w = seq_model()
    w.load_weights(os.path.join(FIX, "tapeflow_seq.weights.h5"))
    np.testing.assert_allclose(w.predict(kout["x_seq"], verbose=0), kread["seq_weights_keras_pred"], rtol=1e-6,
                               atol=1e-6)
    h = tf.keras.models.load_model(os.path.join(FIX, "tapeflow_seq.h5"))
    np.testing.assert_allclose(h.predict(kout["x_seq"], verbose=0), kread["seq_h5_keras_pred"], rtol=1e-6, atol=1e-6)
    f = tf.keras.models.load_model(os.path.join(FIX, "tapeflow_func.keras"))
    np.testing.assert_allclose(f.predict(kout["x_func"], verbose=0), kread["func_keras_pred"], rtol=1e-5, atol=1e-6)
    _step_matches(f, kout["x_func"], kout["y_func"], kread, "func_keras_after_step_")


def test_keras3_layout_of_weights_file(tmp_path, data):
    m = trained(seq_model(), *data)
    m.save_weights(tmp_path / "w.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5") as mine, h5py.File(os.path.join(FIX, "keras_seq.weights.h5")) as ref:
        a, b = set(), set()
        mine.visit(a.add)
        ref.visit(b.add)
        assert a == b
        assert mine["layers/dense/vars"].attrs["name"] == m.layers[0].name


# -- refusing unsafe / broken files ------------------------------------------------------------
def _rewrite_zip(src, dst, replace):
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = replace.get(info.filename, zin.read(info.filename))
            if data is not None:
                zout.writestr(info.filename, data)
        for name, data in replace.items():
            if name not in zin.namelist() and data is not None:
                zout.writestr(name, data)


class _Marker:
    def __reduce__(self):
        return (os.makedirs, (os.path.join(os.environ["TAPEFLOW_PICKLE_MARKER"]),))


def test_pickle_payloads_are_refused_and_never_run(tmp_path, data, monkeypatch):
    import pickle
    marker = tmp_path / "pickle_ran"
    monkeypatch.setenv("TAPEFLOW_PICKLE_MARKER", str(marker))
    payload = pickle.dumps(_Marker())
    m = trained(seq_model(), *data)
    m.save(tmp_path / "ok.keras")
    _rewrite_zip(tmp_path / "ok.keras", tmp_path / "p1.keras", {"model.weights.h5": payload})
    with pytest.raises(ModelFileError, match=r"p1\.keras.*HDF5"):
        tf.keras.models.load_model(tmp_path / "p1.keras")
    buf = io.BytesIO()
    np.savez(buf, **{"layers/dense/vars/0": np.array([_Marker()], dtype=object)})
    _rewrite_zip(tmp_path / "ok.keras", tmp_path / "p2.keras", {"model.weights.h5": None,
                                                               "model.weights.npz": buf.getvalue()})
    with pytest.raises(ModelFileError, match=r"p2\.keras.*(pickle|safely)"):
        tf.keras.models.load_model(tmp_path / "p2.keras")
    (tmp_path / "p3.h5").write_bytes(payload)
    with pytest.raises(ModelFileError, match=r"p3\.h5.*neither"):
        tf.keras.models.load_model(tmp_path / "p3.h5")
    # an HDF5 dataset of Python objects / strings (opaque payloads) is refused
    m.save_weights(tmp_path / "o.weights.h5")
    with h5py.File(tmp_path / "o.weights.h5", "a") as f:
        del f["layers/dense/vars/0"]
        f.create_dataset("layers/dense/vars/0", data=np.array([payload]), dtype=h5py.string_dtype())
    with pytest.raises(ModelFileError, match=r"o\.weights\.h5.*layers/dense/vars/0.*dtype"):
        seq_model().load_weights(tmp_path / "o.weights.h5")
    assert not marker.exists()


def test_unknown_class_and_lambda_are_refused(tmp_path, data):
    m = trained(seq_model(), *data)
    m.save(tmp_path / "ok.keras")
    with zipfile.ZipFile(tmp_path / "ok.keras") as z:
        cfg = json.loads(z.read("config.json"))
    cfg["config"]["layers"][1]["class_name"] = "os.system"
    _rewrite_zip(tmp_path / "ok.keras", tmp_path / "u.keras", {"config.json": json.dumps(cfg).encode()})
    with pytest.raises(ModelFileError, match=r"u\.keras.*Unknown layer: 'os\.system'"):
        tf.keras.models.load_model(tmp_path / "u.keras")
    # Keras's serialized lambda bytecode: always refused, never unmarshalled
    cfg["config"]["layers"][1] = {"class_name": "Lambda", "config": {"name": "l", "function": {
        "class_name": "__lambda__", "config": {"code": "4wEAAAAAAAAA", "defaults": None, "closure": None}}}}
    _rewrite_zip(tmp_path / "ok.keras", tmp_path / "k.keras", {"config.json": json.dumps(cfg).encode()})
    with pytest.raises(ModelFileError, match=r"k\.keras.*serialized Python code"):
        tf.keras.models.load_model(tmp_path / "k.keras", safe_mode=False)
    # a tapeflow Lambda layer holding a lambda: refused in safe mode; given by the user with safe_mode=False
    fn = lambda t: t * 2.0  # noqa: E731
    lm = tf.keras.Sequential([tf.keras.Input((3,)), L.Dense(2), L.Lambda(fn)])
    lm.save(tmp_path / "lam.keras")
    with pytest.raises(ModelFileError, match=r"lam\.keras.*lambda.*safe mode"):
        tf.keras.models.load_model(tmp_path / "lam.keras")
    back = tf.keras.models.load_model(tmp_path / "lam.keras", safe_mode=False, custom_objects={"<lambda>": fn})
    x = np.ones((2, 3), "float32")
    assert np.array_equal(back.predict(x, verbose=0), lm.predict(x, verbose=0))


def test_oversized_inconsistent_truncated_and_foreign_files(tmp_path, data, monkeypatch):
    m = trained(seq_model(), *data)
    m.save(tmp_path / "ok.keras")
    raw = (tmp_path / "ok.keras").read_bytes()
    # truncated
    (tmp_path / "t.keras").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ModelFileError, match=r"t\.keras.*(truncated|corrupted)"):
        tf.keras.models.load_model(tmp_path / "t.keras")
    # corrupted bytes inside config.json: CRC mismatch
    i = raw.index(b'"class_name"')
    bad = raw[:i] + b'"klass_name"' + raw[i + 12:]
    (tmp_path / "c.keras").write_bytes(bad)
    with pytest.raises(ModelFileError, match=r"c\.keras.*config\.json.*(corrupted|truncated)"):
        tf.keras.models.load_model(tmp_path / "c.keras")
    # a header whose declared size disagrees with the data
    with zipfile.ZipFile(tmp_path / "ok.keras") as z:
        off = z.getinfo("config.json").header_offset
    hdr = bytearray(raw)
    hdr[off + 22:off + 26] = (10 ** 9).to_bytes(4, "little")  # local header: uncompressed size
    cd = raw.rindex(b"config.json") - 46  # central directory entry of config.json
    hdr[cd + 24:cd + 28] = (10 ** 9).to_bytes(4, "little")
    (tmp_path / "h.keras").write_bytes(bytes(hdr))
    with pytest.raises(ModelFileError, match=r"h\.keras.*(config\.json|bytes|corrupted|inconsistent)"):
        tf.keras.models.load_model(tmp_path / "h.keras")
    # oversized config
    from tapeflow.keras.saving import keras_zip
    monkeypatch.setattr(keras_zip, "MAX_JSON_BYTES", 100)
    with pytest.raises(ModelFileError, match=r"ok\.keras.*config\.json.*over the 100.*limit"):
        tf.keras.models.load_model(tmp_path / "ok.keras")
    monkeypatch.undo()
    # foreign files
    (tmp_path / "f.keras").write_text("hello, not a model")
    with pytest.raises(ModelFileError, match=r"f\.keras.*neither"):
        tf.keras.models.load_model(tmp_path / "f.keras")
    with zipfile.ZipFile(tmp_path / "z.keras", "w") as z:
        z.writestr("readme.txt", "x")
    with pytest.raises(ModelFileError, match=r"z\.keras.*no config\.json"):
        tf.keras.models.load_model(tmp_path / "z.keras")
    with pytest.raises(ModelFileError, match=r"missing\.keras.*no such file"):
        tf.keras.models.load_model(tmp_path / "missing.keras")
    (tmp_path / "w.weights.h5").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(ModelFileError, match=r"w\.weights\.h5.*(truncated|corrupted)"):
        seq_model().load_weights(tmp_path / "w.weights.h5")


def test_weight_shape_mismatch_is_refused_before_anything_changes(tmp_path, data):
    m = trained(seq_model(), *data)
    m.save_weights(tmp_path / "w.weights.h5")
    m.save_weights(tmp_path / "good.weights.h5")
    with h5py.File(tmp_path / "w.weights.h5", "a") as f:
        del f["layers/dense_1/vars/0"]
        f.create_dataset("layers/dense_1/vars/0", data=np.zeros((8, 7), "float32"))
    target = seq_model()
    target.build((None, 5))
    before = target.get_weights()
    with pytest.raises(ModelFileError, match=r"w\.weights\.h5.*\(8, 7\).*\(8, 6\)"):
        target.load_weights(tmp_path / "w.weights.h5")
    assert all(np.array_equal(a, b) for a, b in zip(before, target.get_weights()))
    # a different architecture (missing layer) is named too
    other = tf.keras.Sequential([tf.keras.Input((5,)), L.Dense(8), L.Dense(6), L.Dense(3), L.Dense(3)])
    with pytest.raises(ModelFileError, match=r"good\.weights\.h5.*no weights for layer.*layers/dense_3"):
        other.load_weights(tmp_path / "good.weights.h5")
    # and in a .h5 whole-model file whose config disagrees with its arrays
    m.save(tmp_path / "m.h5")
    with h5py.File(tmp_path / "m.h5", "a") as f:
        cfg = json.loads(f.attrs["model_config"])
        cfg["config"]["layers"][1]["config"]["units"] = 9
        f.attrs["model_config"] = json.dumps(cfg)
    with pytest.raises(ModelFileError, match=r"m\.h5.*shape"):
        tf.keras.models.load_model(tmp_path / "m.h5")


def test_external_links_storage_and_virtual_datasets_are_refused(tmp_path, data):
    m = trained(seq_model(), *data)
    m.save_weights(tmp_path / "w.weights.h5")
    np.zeros((5, 8), "float32").tofile(tmp_path / "raw.bin")
    cases = {
        "link": lambda f: f.__setitem__("layers/dense/vars/0", h5py.ExternalLink(str(tmp_path / "x.h5"), "/a")),
        "soft": lambda f: f.__setitem__("layers/dense/vars/0", h5py.SoftLink("/layers/dense/vars/1")),
        "external": lambda f: f.create_dataset("layers/dense/vars/0", shape=(5, 8), dtype="float32",
                                               external=[(str(tmp_path / "raw.bin"), 0, h5py.h5f.UNLIMITED)]),
    }
    for name, make in cases.items():
        p = tmp_path / f"{name}.weights.h5"
        p.write_bytes((tmp_path / "w.weights.h5").read_bytes())
        with h5py.File(p, "a") as f:
            del f["layers/dense/vars/0"]
            make(f)
        with pytest.raises(ModelFileError, match=rf"{name}\.weights\.h5.*layers/dense/vars/0.*(link|external)"):
            seq_model().load_weights(p)
    p = tmp_path / "virtual.weights.h5"
    p.write_bytes((tmp_path / "w.weights.h5").read_bytes())
    with h5py.File(p, "a") as f:
        del f["layers/dense/vars/0"]
        lay = h5py.VirtualLayout(shape=(5, 8), dtype="float32")
        lay[:] = h5py.VirtualSource(str(tmp_path / "other.h5"), "data", shape=(5, 8))
        f.create_virtual_dataset("layers/dense/vars/0", lay)
    with pytest.raises(ModelFileError, match=r"virtual\.weights\.h5.*virtual"):
        seq_model().load_weights(p)


def test_failed_write_leaves_previous_file(tmp_path, data, monkeypatch):
    m = trained(seq_model(), *data)
    m.save(tmp_path / "m.keras")
    before = (tmp_path / "m.keras").read_bytes()
    from tapeflow.keras.saving import keras_zip

    def boom(*a, **k):
        raise OSError("disk full")
    monkeypatch.setattr(keras_zip.zipfile.ZipFile, "writestr", boom)
    with pytest.raises(OSError, match="disk full"):
        m.save(tmp_path / "m.keras")
    assert (tmp_path / "m.keras").read_bytes() == before
    assert os.listdir(tmp_path) == ["m.keras"]


_SAVER = r"""
import sys, numpy as np, tapeflow as tf
path, kind = sys.argv[1], sys.argv[2]
L = tf.keras.layers
m = tf.keras.Sequential([tf.keras.Input((64,)), L.Dense(256), L.Dense(256), L.Dense(8)])
m.compile(optimizer="adam", loss="mse")
m.fit(np.ones((4, 64), "float32"), np.ones((4, 8), "float32"), verbose=0)
cb = tf.keras.callbacks.ModelCheckpoint(path)
cb.set_model(m)
k = 0
while True:
    k += 1
    m.set_weights([np.full(w.shape, k, w.dtype) for w in m.get_weights()])
    if kind == "checkpoint":
        cb.on_epoch_end(0, {"loss": 1.0})
    else:
        m.save_weights(path)
    print(k, flush=True)
"""


@pytest.mark.parametrize("kind,name", [("checkpoint", "ck.keras"), ("checkpoint", "ck.h5"),
                                       ("weights", "w.weights.h5")])
def test_sigkill_during_save_leaves_a_loadable_previous_file(tmp_path, kind, name):
    path = str(tmp_path / name)
    rng = np.random.default_rng(0)
    env = dict(os.environ, PYTHONPATH=REPO)
    proc = subprocess.Popen([sys.executable, "-c", _SAVER, path, kind], stdout=subprocess.PIPE, env=env)
    try:
        proc.stdout.readline()  # one complete save exists
        for _ in range(4):
            time.sleep(float(rng.uniform(0.01, 0.15)))
            os.kill(proc.pid, signal.SIGSTOP)  # freeze at a random point (mid-write or not) and inspect
            check_loadable(path, kind)
            os.kill(proc.pid, signal.SIGCONT)
        time.sleep(float(rng.uniform(0.01, 0.1)))
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    check_loadable(path, kind)


def check_loadable(path, kind):
    if kind == "checkpoint":
        m = tf.keras.models.load_model(path)
    else:
        m = tf.keras.Sequential([tf.keras.Input((64,)), L.Dense(256), L.Dense(256), L.Dense(8)])
        m.load_weights(path)
    values = {float(w.reshape(-1)[0]) for w in m.get_weights()}
    assert len(values) == 1 and all(np.all(w == w.reshape(-1)[0]) for w in m.get_weights())


def test_a_custom_layer_without_kwargs_in_init_gets_told_how_to_fix_it():
    keras = tf.keras

    class NoKwargs(keras.layers.Layer):
        def __init__(self, units=2):
            super().__init__()
            self.units = units

    config = keras.layers.serialize(NoKwargs(3))
    with pytest.raises(TypeError, match=r"give NoKwargs.__init__ a \*\*kwargs"):
        keras.layers.deserialize(config, custom_objects={"NoKwargs": NoKwargs})


def test_a_model_pickles_through_its_keras_archive_and_trains_on_identically():
    import copy
    import pickle
    keras = tf.keras
    inp = keras.Input((4,))
    h = keras.layers.Dense(8, activation="relu")(inp)
    m = keras.Model(inp, keras.ops.mean(h, axis=-1, keepdims=True) + keras.layers.Dense(1)(h))
    m.compile(keras.optimizers.Adam(0.01), "mse", metrics=["mae"])
    x = np.random.default_rng(0).random((32, 4)).astype("float32")
    y = np.random.default_rng(1).random((32, 1)).astype("float32")
    m.fit(x, y, epochs=2, verbose=0)
    again = pickle.loads(pickle.dumps(m))
    assert int(again.optimizer.iterations.numpy()) == int(m.optimizer.iterations.numpy()) == 2
    h1 = m.fit(x, y, epochs=1, verbose=0, shuffle=False).history
    h2 = again.fit(x, y, epochs=1, verbose=0, shuffle=False).history
    assert h1 == h2
    twin = copy.deepcopy(m)  # attribute by attribute: independent variables
    twin.layers[1].kernel.assign(np.zeros((4, 8), "float32"))
    assert np.abs(m.layers[1].kernel.numpy()).sum() > 0


def test_a_recurrent_layers_activity_regularizer_survives_saving(tmp_path):
    keras = tf.keras
    x = np.ones((2, 3, 2), "float32")
    m = keras.Sequential([keras.Input((3, 2)), keras.layers.LSTM(2, activity_regularizer="l2"),
                          keras.layers.Dense(1)])
    m(x)
    path = str(tmp_path / "m.keras")
    m.save(path)
    again = keras.models.load_model(path)
    again(x)
    assert len(m.losses) == len(again.losses) == 1  # the regularizer was not in the LSTM's config
    np.testing.assert_allclose(float(again.losses[0]), float(m.losses[0]), rtol=1e-6)


def test_einsum_dense_keeps_its_activity_regularizer_and_input_layer_configs_are_kerass():
    keras = tf.keras
    layer = keras.layers.EinsumDense("ab,bc->ac", 3, activity_regularizer="l2")
    assert type(keras.layers.EinsumDense.from_config(layer.get_config()).activity_regularizer).__name__ == "L2"
    config = keras.layers.InputLayer(shape=(3,), name="x").get_config()
    assert config == {"batch_shape": [None, 3], "dtype": "float32", "sparse": False, "ragged": False, "name": "x",
                      "optional": False}  # Keras 3.15.1's keys
    with pytest.raises(NotImplementedError, match="ragged=True"):
        keras.Input((3,), ragged=True)
