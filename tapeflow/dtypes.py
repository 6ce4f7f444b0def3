"""``tf.dtypes``: the dtype constants (the same objects as ``tf.float32`` etc.: NumPy dtypes, so
``tf.dtypes.float32 == "float32" == np.float32``), ``DType`` / ``as_dtype``, ``cast``, ``saturate_cast`` and
``complex`` (all re-exported from where tapeflow defines them: ``backend``, ``framework``, ``tf_extra``).

TensorFlow's quantized (``qint8``...), ``resource`` and ``variant`` dtypes and ``tf.dtypes.experimental``'s
sub-byte / float8 types have no NumPy counterpart and are not provided; ``bfloat16`` loads on first use and needs
the optional ``ml_dtypes`` package.

>>> import tapeflow as tf
>>> tf.dtypes.float32 is tf.float32, tf.dtypes.as_dtype("int64").name, tf.dtypes.double.name
(True, 'int64', 'float64')
>>> tf.dtypes.complex([1.0, 2.0], [3.0, 4.0]).numpy().tolist()
[(1+3j), (2+4j)]
"""
from __future__ import annotations

from .backend import bool_ as bool  # noqa: F401,A004 - TF's name
from .backend import float16, float32, float64, int8, int16, int32, int64, string, uint8  # noqa: F401
from .framework import DType, as_dtype, saturate_cast  # noqa: F401
from .ops.array_ops import cast  # noqa: F401
from .tf_extra import complex, complex64, complex128, double, half, uint16, uint32, uint64  # noqa: F401,A004

__all__ = ["DType", "as_dtype", "cast", "complex", "saturate_cast", "bool", "complex64", "complex128", "double",
           "float16", "float32", "float64", "half", "int8", "int16", "int32", "int64", "string", "uint8", "uint16",
           "uint32", "uint64"]


def __getattr__(name):
    if name == "bfloat16":
        from . import tf_extra
        return tf_extra.bfloat16
    raise AttributeError(f"module 'tapeflow.dtypes' has no attribute {name!r}")
