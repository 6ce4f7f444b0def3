"""TensorFlow 2's remaining top-level names (``tapeflow/tf_extra.py``, ``tapeflow/tf_initializers.py``,
``tapeflow/ops/tf_extra_ops.py``) against real TensorFlow 2.

``fixtures/tf_top_level_extra.json`` (written by ``fixtures/make_tf_top_level_extra.py``) holds TF's outputs
(values, dtypes, shapes) or the class of the error TF raised, for several argument combinations per op (40 random
``strided_slice`` mask specs among them), and TF's gradients of ``sum(out * ramp)`` for the differentiable ones.
Each record is replayed through ``tapeflow`` with the same arguments. Differentiable ops are also checked against
float64 central differences.

Checked differently, and why:

* ``eig``: eigenvalues in TF's (= LAPACK's) order; eigenvectors only up to a unit complex factor per column
  (LAPACK and Eigen normalize the phase differently), plus ``A v = v diag(e)``.
* ``parallel_stack``: TF runs it only inside ``tf.function``; the fixture records it there.
* random initializers: dtypes, shapes, configs, errors and seeded repeatability (not TF's Philox stream).
"""
import importlib.util
import json
import logging
import os
import subprocess
import sys
import time

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.debug import check_gradients

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "tf_top_level_extra.json")
with open(FIXTURE) as _f:
    DATA = json.load(_f)
CASES = {c["name"]: c for c in DATA["cases"]}
MISC = DATA["misc"]


def ramp(shape):
    n = int(np.prod(shape))
    return np.cos(np.arange(n) * 0.37 + 0.1).reshape(shape)


def dec(v):
    """A fixture argument as tapeflow takes it."""
    if isinstance(v, dict):
        if "a" in v:
            return tf.constant(expected(v))
        if "re" in v or "s" in v:
            return tf.constant(expected(v))
        if "sparse" in v:
            i, vals, shape = (dec(x) for x in v["sparse"])
            return tf.SparseTensor(i, vals, shape)
        if "tshape" in v:
            return tf.TensorShape(v["tshape"])
        if set(v) == {"dtype"} and isinstance(v["dtype"], str):
            return getattr(tf, v["dtype"])
        return {k: dec(x) for k, x in v.items()}
    if isinstance(v, list):
        return [dec(x) for x in v]
    return v


def expected(v):
    """A fixture output as NumPy (sequences as lists)."""
    if isinstance(v, dict) and "seq" in v:
        return [expected(x) for x in v["seq"]]
    if isinstance(v, dict) and "tshape" in v:
        return tf.TensorShape(v["tshape"])
    if "re" in v:
        out = (np.array(v["re"]) + 1j * np.array(v["im"])).astype(v["dtype"])
    elif "s" in v:
        out = np.array([s.encode() for s in np.ravel(v["s"])] if v["s"] else [], dtype=object)
    else:
        out = np.array(v["a"], dtype=v["dtype"])
    return out.reshape(v["shape"])


def resolve(path):
    obj = tf
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


def flat(out):
    if isinstance(out, (list, tuple)) and not isinstance(out, tf.TensorShape):
        return [o for x in out for o in flat(x)]
    return [out]


def tol(name, dtype):
    if name.startswith("sqrtm"):
        return (2e-5, 1e-5) if dtype == np.float32 else (1e-9, 1e-10)
    return (2e-6, 1e-6) if dtype in (np.float32, np.complex64) else (1e-12, 1e-13)


def assert_same(name, got, want):
    if isinstance(want, tf.TensorShape):
        assert isinstance(got, tf.TensorShape) and list(got) == list(want), (name, got, want)
        return
    if isinstance(want, list):
        assert isinstance(got, (list, tuple)) and len(got) == len(want), (name, got)
        for g, w in zip(got, want):
            assert_same(name, g, w)
        return
    g = got.numpy()
    assert g.shape == want.shape, f"{name}: shape {g.shape} != TF's {want.shape}"
    if want.dtype == object:
        assert g.dtype == object and g.tolist() == want.tolist(), (name, g, want)
        return
    assert g.dtype == want.dtype, f"{name}: dtype {g.dtype} != TF's {want.dtype}"
    if want.dtype.kind in "fc":
        rtol, atol = tol(name, want.dtype)
        np.testing.assert_allclose(g, want, rtol=rtol, atol=atol, equal_nan=True, err_msg=name)
    else:
        np.testing.assert_array_equal(g, want, err_msg=name)


def run_case(rec, watch=()):
    args, kwargs = dec(rec["args"]), {k: dec(x) for k, x in rec["kwargs"].items()}
    with tf.GradientTape(persistent=True) as tape:
        for i in watch:
            tape.watch(args[i])
        out = resolve(rec["fn"])(*args, **kwargs)
        terms = [tf.reduce_sum(o * tf.constant(ramp(o.shape), dtype=o.dtype.name)) for o in flat(out)
                 if isinstance(o, tf.Tensor) and o.dtype.kind == "f"]
        loss = tf.add_n(terms) if terms else None
    return args, out, tape, loss


ERROR_CASES = sorted(n for n, c in CASES.items() if "error" in c)
VALUE_CASES = sorted(n for n, c in CASES.items() if "error" not in c and not n.startswith("eig"))
GRAD_CASES = sorted(n for n, c in CASES.items() if "grads" in c)


@pytest.mark.parametrize("name", VALUE_CASES)
def test_values_dtypes_shapes_equal_tf(name):
    rec = CASES[name]
    _, out, _, _ = run_case(rec)
    assert_same(name, out, expected(rec["out"]))


@pytest.mark.parametrize("name", ERROR_CASES)
def test_errors_match_tf(name):
    rec = CASES[name]
    want = {"InvalidArgumentError": tf.errors.InvalidArgumentError, "ValueError": ValueError,
            "TypeError": TypeError}[rec["error"]]
    with pytest.raises(want) as info:
        run_case(rec)
    assert len(str(info.value)) > 20, "the error must say what is wrong"


@pytest.mark.parametrize("name", GRAD_CASES)
def test_gradients_equal_tf(name):
    rec = CASES[name]
    positions = [int(k) for k in rec["grads"]]
    args, out, tape, loss = run_case(rec, watch=positions)
    for i in positions:
        want = rec["grads"][str(i)]
        got = tape.gradient(loss, args[i])
        if want is None:
            assert got is None, f"{name}: TF has no gradient for input {i}, tapeflow gave one"
            continue
        assert got is not None, f"{name}: no gradient for input {i}"
        w = expected(want)
        rtol, atol = tol(name, w.dtype)
        np.testing.assert_allclose(got.numpy(), w, rtol=rtol * 5, atol=atol * 5, err_msg=f"{name} input {i}")


@pytest.mark.parametrize("name", [n for n in GRAD_CASES if any(CASES[n]["grads"].values())
                                  and not (n.startswith("tsn_") and "tie" in n)])  # ties: compared with TF's above
def test_gradients_match_central_differences(name):
    rec = CASES[name]
    args, kwargs = dec(rec["args"]), {k: dec(x) for k, x in rec["kwargs"].items()}
    fn = resolve(rec["fn"])
    positions = [int(k) for k, g in rec["grads"].items() if g is not None]

    def f(*xs):
        full = list(args)
        for i, x in zip(positions, xs):
            full[i] = x
        outs = flat(fn(*full, **kwargs))
        return tf.concat([tf.reshape(o, [-1]) for o in outs], 0)

    check_gradients(f, *[args[i].numpy().astype(np.float64) for i in positions], rtol=1e-5, atol=1e-6)


def _phase_aligned(v_got, v_want):
    c = np.sum(np.conj(v_got) * v_want, axis=-2, keepdims=True)
    return v_got * (c / np.abs(c))


@pytest.mark.parametrize("name", sorted(n for n in CASES if n.startswith("eig")))
def test_eig_equal_tf(name):
    rec = CASES[name]
    a = dec(rec["args"])[0]
    out = resolve(rec["fn"])(a)
    want = expected(rec["out"])
    if name.startswith("eigvals"):
        assert_same(name, out, want)
        return
    (e, v), (we, wv) = out, want
    assert_same(name, e, we)
    assert v.dtype == wv.dtype and v.shape == wv.shape
    rtol, atol = tol(name, wv.dtype)
    np.testing.assert_allclose(_phase_aligned(v.numpy(), wv), wv, rtol=rtol * 10, atol=atol * 100)
    av = a.numpy().astype(v.dtype) @ v.numpy()
    np.testing.assert_allclose(av, v.numpy() * e.numpy()[..., None, :], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(v.numpy(), axis=-2), 1.0, rtol=1e-5)


# -- names, dtypes, aliases -------------------------------------------------------------------------------------
def test_trig_names_are_tf_math_aliases():
    for n in ("acos", "acosh", "asin", "asinh", "atan", "atan2", "atanh", "cosh", "sinh", "tan"):
        assert getattr(tf, n) is getattr(tf.math, n)
    assert all(MISC["aliases"].values())


def test_dtypes_equal_tf():
    for name, np_name in MISC["dtypes"].items():
        if name == "bfloat16" and importlib.util.find_spec("ml_dtypes") is None:
            with pytest.raises(Exception, match="ml_dtypes"):   # the optional package named in the error
                getattr(tf, name)
            continue
        assert getattr(tf, name) == np.dtype(getattr(tf, name)) and getattr(tf, name).name == np_name
    assert tf.double is tf.float64 or tf.double == tf.float64
    assert tf.cast(tf.constant([1.5]), tf.complex64).dtype == tf.complex64


def test_import_tapeflow_stays_light():
    code = "import sys, tapeflow; assert 'tapeflow.tf_extra' not in sys.modules; import tapeflow as tf; " \
           "tf.unique; assert 'tapeflow.tf_extra' in sys.modules; assert 'tapeflow.keras' not in sys.modules"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    subprocess.run([sys.executable, "-c", code], check=True, cwd=root)


# -- complex numbers --------------------------------------------------------------------------------------------
def test_complex_outputs_are_constants_and_real_input_passes_through():
    x = tf.constant([1.0, -2.0])
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        z = tf.complex(x, x)
        r, c = tf.math.real(x), tf.math.conj(x)
    assert r is x and c is x                        # TF returns a real input itself
    assert tape.gradient(tf.math.real(z), x) is None  # complex tensors are not differentiated (documented)
    with pytest.raises(TypeError, match="float32 or both float64"):
        tf.complex(tf.constant([1, 2]), tf.constant([1, 2]))
    with pytest.raises(TypeError, match="numeric"):
        tf.math.conj(tf.constant([True]))


# -- special records ----------------------------------------------------------------------------------------------
def test_grad_pass_through_equals_tf():
    x = tf.constant(1.3)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.grad_pass_through(tf.round)(x * 2.0)
    assert float(y) == MISC["grad_pass_through"]["y"]
    assert float(tape.gradient(y, x)) == MISC["grad_pass_through"]["grad"]
    v, z = tf.Variable(2.0), tf.constant(5.0)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(z)
        w = tf.grad_pass_through(lambda a: a * v * v)(z)
    want = MISC["grad_pass_through_var"]
    assert float(w) == want["y"] and float(tape.gradient(w, z)) == want["dz"]
    assert tape.gradient(w, v) is None and want["dv"] is None


def test_hessians_raise_as_tf_eagerly():
    with pytest.raises(RuntimeError) as info:
        tf.hessians(tf.constant(1.0), tf.constant(1.0))
    assert str(info.value) == MISC["hessians_error"]


def test_runtime_helpers():
    t = tf.timestamp()
    assert t.dtype.name == MISC["timestamp_dtype"] and abs(float(t) - time.time()) < 5
    assert tf.get_logger() is logging.getLogger(MISC["logger"])
    assert [[m.name, m.value] for m in tf.VariableAggregation] == MISC["VariableAggregation"]
    assert [[m.name, m.value] for m in tf.VariableSynchronization] == MISC["VariableSynchronization"]
    v = tf.Variable(1.0, aggregation=tf.VariableAggregation.MEAN, synchronization=tf.VariableSynchronization.AUTO)
    assert v.aggregation is tf.VariableAggregation.MEAN
    got = tf.tuple([tf.constant(1.0), tf.constant([2, 3])])
    assert [t.numpy().tolist() for t in got] == MISC["tuple"]


def test_parallel_stack_values_and_gradient():
    a, b = tf.constant([1.0, 4.0]), tf.constant([2.0, 5.0])
    with tf.GradientTape() as tape:
        tape.watch(a)
        s = tf.reduce_sum(tf.parallel_stack([a, b]) * 2.0)
    np.testing.assert_array_equal(tape.gradient(s, a).numpy(), [2.0, 2.0])
    with pytest.raises(ValueError, match="one shape and dtype"):
        tf.parallel_stack([a, tf.constant([1.0])])


@pytest.mark.parametrize("key", sorted(k for k, v in MISC["initializers"].items() if isinstance(v, dict)))
def test_initializers_equal_tf(key):
    rec = MISC["initializers"][key]
    make = {"Constant": tf.constant_initializer, "Zeros": tf.zeros_initializer, "Ones": tf.ones_initializer,
            "RandomNormal": tf.random_normal_initializer, "RandomUniform": tf.random_uniform_initializer}
    config = rec["config"]
    init = make[rec["class"]].from_config(config) if config else make[rec["class"]]()
    assert type(init).__name__ == rec["class"]
    assert init.get_config() == config
    for dtype, want_dtype, shape, values in rec["calls"]:
        kw = {} if dtype is None else {"dtype": getattr(tf, "bool" if dtype == "bool" else dtype)}
        if want_dtype.startswith("error:"):
            with pytest.raises({"error:TypeError": TypeError, "error:ValueError": ValueError}[want_dtype]):
                init((2, 2), **kw)
            continue
        out = init((2, 2), **kw)
        assert out.dtype.name == want_dtype and out.shape.as_list() == shape
        if values is not None:
            assert out.numpy().tolist() == values
        elif out.dtype.kind == "f" and rec["class"] == "RandomUniform":
            assert config["minval"] <= out.numpy().min() and out.numpy().max() < config["maxval"]


def test_initializer_errors_and_seeds():
    with pytest.raises(TypeError, match="4 elements"):
        tf.constant_initializer([1, 2, 3])((2, 2))
    assert MISC["initializers"]["constant-bad-size"] == "TypeError"
    with pytest.raises(TypeError, match="partition_shape"):
        tf.zeros_initializer()((2,), partition_info=None)
    assert MISC["initializers"]["bad-kwarg"] == "TypeError"
    seeded = tf.random_normal_initializer(seed=3)
    assert bool(tf.reduce_all(seeded((3,)) == seeded((3,)))) == MISC["seeded_repeats"]
    tf.random.set_seed(0)
    draws = tf.random_normal_initializer(mean=1.0, stddev=0.5)((20000,)).numpy()
    assert abs(draws.mean() - 1.0) < 0.02 and abs(draws.std() - 0.5) < 0.02


# -- errors name the argument -------------------------------------------------------------------------------------
def test_error_messages_name_the_argument():
    with pytest.raises(TypeError, match="Hypothesis must be a SparseTensor.*from_dense"):
        tf.edit_distance(tf.constant([[1, 2]]), tf.SparseTensor([[0, 0]], [1], [1, 1]))
    with pytest.raises(ValueError, match="indexing must be 'xy' or 'ij'"):
        tf.meshgrid([1], [2], indexing="xx")
    with pytest.raises(ValueError, match="side must be 'left' or 'right'"):
        tf.searchsorted([1, 2], [1], side="middle")
    with pytest.raises(TypeError, match="out_idx must be tf.int32 or tf.int64"):
        tf.unique([1, 2], out_idx=tf.float32)
    with pytest.raises(tf.errors.InvalidArgumentError, match="slice index 2 of dimension 0 out of bounds"):
        tf.strided_slice(tf.zeros((2, 3)), [2], [3], [1], shrink_axis_mask=1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="updates must have shape"):
        tf.tensor_scatter_nd_min([1.0, 2.0], [[0]], [1.0, 2.0])
    with pytest.raises(tf.errors.InvalidArgumentError, match="required_space_to_batch_paddings"):
        tf.space_to_batch(tf.zeros((1, 3, 3, 1)), [2, 2], [[0, 0], [0, 0]])
    with pytest.raises(tf.errors.InvalidArgumentError, match="square"):
        tf.linalg.sqrtm(tf.zeros((2, 3)))


# -- extra gradient checks (float64 central differences) ----------------------------------------------------------
def test_more_gradients_against_central_differences():
    rng = np.random.default_rng(3)
    check_gradients(lambda x: tf.matrix_square_root(x), np.eye(3) * 2 + rng.uniform(-0.3, 0.3, (2, 3, 3)))
    check_gradients(lambda x, u: tf.tensor_scatter_nd_max(x, [[1, 0], [0, 2], [1, 0]], u),
                    rng.standard_normal((2, 3)), np.array([5.0, -9.0, 4.0]))
    check_gradients(lambda x, u: tf.tensor_scatter_nd_min(x, [[1], [0]], u),
                    rng.standard_normal((2, 3)), rng.standard_normal((2, 3)))
    check_gradients(lambda x: tf.batch_to_space(tf.space_to_batch_nd(x, [2, 3], [[1, 1], [0, 2]]), [2, 3],
                                                [[1, 1], [0, 2]]), rng.standard_normal((2, 4, 4, 2)))
    check_gradients(lambda x: tf.strided_slice(x, [0, -1], [0, 0], [1, -2], begin_mask=1, end_mask=3),
                    rng.standard_normal((3, 5)))
    check_gradients(lambda a, b: tf.add_n(tf.meshgrid(a, b)), rng.standard_normal(3), rng.standard_normal(4))
