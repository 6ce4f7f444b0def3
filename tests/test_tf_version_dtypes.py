"""tf.version, tf.dtypes and the TF 2 aliases of the Keras namespaces (tf.initializers, tf.losses, tf.metrics,
tf.optimizers), against TensorFlow 2's names and tf.dtypes.complex results
(fixtures/tf_lookup_sets_audio.json)."""
import numpy as np
import pytest

import tapeflow as tf
from tests._tf_records import DATA, ERRORS, assert_same

# TF names with no NumPy counterpart (quantized, resource/variant handles, sub-byte floats): left out, documented
UNSUPPORTED = {"QUANTIZED_DTYPES", "qint16", "qint32", "qint8", "quint16", "quint8", "resource", "variant",
               "experimental", "bfloat16"}


def test_version_strings():
    assert tf.version.VERSION == tf.__version__
    assert tf.version.GIT_VERSION == "v" + tf.__version__
    assert "NumPy" in tf.version.COMPILER_VERSION and np.__version__ in tf.version.COMPILER_VERSION


def test_dtypes_has_tf_names():
    missing = set(DATA["dtypes"]["names"]) - UNSUPPORTED - set(dir(tf.dtypes))
    assert not missing, f"tf.dtypes lacks {sorted(missing)}"
    assert tf.dtypes.float32 is tf.float32 and tf.dtypes.string is tf.string and tf.dtypes.bool is tf.bool
    assert tf.dtypes.double == np.float64 and tf.dtypes.half == np.float16 and tf.dtypes.uint64 == np.uint64
    assert tf.dtypes.as_dtype("float32") == tf.float32 and tf.dtypes.DType is tf.DType
    assert tf.dtypes.cast([1.7], tf.dtypes.int32).numpy().tolist() == [1]
    assert tf.dtypes.saturate_cast([300.0, -5.0], tf.dtypes.uint8).numpy().tolist() == [255, 0]


@pytest.mark.parametrize("case", DATA["dtypes"]["complex"], ids=lambda c: f"{c['dtype']}-{np.shape(c['real'])}")
def test_complex_matches_tf(case):
    def call():
        return tf.dtypes.complex(tf.constant(case["real"], case["dtype"]), tf.constant(case["imag"], case["dtype"]))
    if "error" in case:
        with pytest.raises(ERRORS[case["error"]]):
            call()
        return
    z = call()
    assert z.dtype.name == case["out"]["dtype"]
    assert_same(np.real(z.numpy()), case["out"]["re"], "real")
    assert_same(np.imag(z.numpy()), case["out"]["im"], "imag")


def test_keras_namespace_aliases():
    from tapeflow import keras
    assert tf.initializers is keras.initializers and tf.losses is keras.losses
    assert tf.metrics is keras.metrics and tf.optimizers is keras.optimizers
    assert isinstance(tf.optimizers.Adam(1e-3), keras.optimizers.Optimizer)
