"""Reading tests/fixtures/tf_lookup_sets_audio.json (written by fixtures/make_tf_lookup_sets_audio.py with real
TensorFlow) and comparing tapeflow's results with TF's records."""
import base64
import json
import os

import numpy as np

import tapeflow as tf

FIXTURE = os.path.join(os.path.dirname(__file__), "fixtures", "tf_lookup_sets_audio.json")
with open(FIXTURE) as _f:
    DATA = json.load(_f)

# TF's exception class -> the one tapeflow raises. TF reports a key/value dtype pair it has no kernel for as
# NotFoundError ("Could not find device for node"); tapeflow raises TypeError, naming the supported pairs.
ERRORS = {"InvalidArgumentError": tf.errors.InvalidArgumentError, "TypeError": TypeError, "ValueError": ValueError,
          "FailedPreconditionError": tf.errors.FailedPreconditionError, "NotFoundError": tf.errors.NotFoundError,
          "OutOfRangeError": tf.errors.OutOfRangeError}


def unb64(s: str) -> bytes:
    return base64.b64decode(s)


def dec(v):
    """A recorded value back as NumPy arrays / SparseTensors / lists."""
    if isinstance(v, dict) and "sparse" in v:
        i, vals, shape = (dec(x) for x in v["sparse"])
        return tf.SparseTensor(i, vals, shape)
    if isinstance(v, dict) and "a" in v:
        if "shape" in v:                                    # empty
            return np.zeros(v["shape"], str if v["dtype"] == "string" else v["dtype"])
        return np.array(v["a"], dtype=str if v["dtype"] == "string" else v["dtype"])
    if isinstance(v, list):
        return [dec(x) for x in v]
    return v


def dtype_name(a) -> str:
    a = np.asarray(a)
    return "string" if a.dtype.kind in "USO" else a.dtype.name


def assert_same(got, rec, what=""):
    """tapeflow's ``got`` (Tensor / array / SparseTensor / list) equals TF's record ``rec``: values, shape, dtype."""
    if isinstance(rec, dict) and "sparse" in rec:
        assert isinstance(got, tf.SparseTensor), f"{what}: expected a SparseTensor, got {type(got).__name__}"
        for g, r, part in zip((got.indices, got.values, got.dense_shape), rec["sparse"],
                              ("indices", "values", "dense_shape")):
            assert_same(g, r, f"{what}.{part}")
        return
    if isinstance(rec, dict) and "a" in rec:
        g = np.asarray(got.numpy() if hasattr(got, "numpy") else got)
        want = dec(rec)
        assert dtype_name(g) == rec["dtype"], f"{what}: dtype {dtype_name(g)}, TF {rec['dtype']}"
        assert g.shape == want.shape, f"{what}: shape {g.shape}, TF {want.shape}"
        if want.dtype.kind in "USO":
            g = np.array([x.decode() if isinstance(x, bytes) else str(x) for x in g.reshape(-1).tolist()],
                         dtype=str).reshape(g.shape) if g.size else g
        np.testing.assert_array_equal(g, want, err_msg=what)
        return
    if isinstance(rec, list):
        assert len(got) == len(rec), f"{what}: {len(got)} parts, TF {len(rec)}"
        for i, (g, r) in enumerate(zip(got, rec)):
            assert_same(g, r, f"{what}[{i}]")
        return
    if isinstance(rec, str) and hasattr(got, "numpy"):    # a scalar tf.string, recorded as its text
        got = np.asarray(got.numpy()).item()
        got = got.decode() if isinstance(got, bytes) else got
    assert got == rec, f"{what}: {got!r}, TF {rec!r}"
