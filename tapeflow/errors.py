"""``tf.errors``: TensorFlow's exception classes and error codes.

tapeflow raises ``InvalidArgumentError`` from the ``tf.debugging`` assertions and ``OutOfRangeError`` when an
iterator is exhausted; the classes subclass the Python exceptions they correspond to (``InvalidArgumentError``
is a ``ValueError``, ``NotFoundError`` a ``FileNotFoundError``...), so both kinds of ``except`` catch them.

>>> import tapeflow as tf
>>> try:
...     tf.debugging.assert_positive(tf.constant([1.0, -2.0]))
... except tf.errors.InvalidArgumentError as e:
...     print(e.error_code == tf.errors.INVALID_ARGUMENT)
True
"""
from __future__ import annotations

OK, CANCELLED, UNKNOWN, INVALID_ARGUMENT, DEADLINE_EXCEEDED, NOT_FOUND, ALREADY_EXISTS = 0, 1, 2, 3, 4, 5, 6
PERMISSION_DENIED, RESOURCE_EXHAUSTED, FAILED_PRECONDITION, ABORTED, OUT_OF_RANGE = 7, 8, 9, 10, 11
UNIMPLEMENTED, INTERNAL, UNAVAILABLE, DATA_LOSS, UNAUTHENTICATED = 12, 13, 14, 15, 16


class OpError(Exception):
    """The base of TensorFlow's runtime errors: ``message``, ``error_code``, ``op`` and ``node_def``."""

    error_code = UNKNOWN

    def __init__(self, node_def=None, op=None, message="", *args):
        super().__init__(message)
        self.node_def, self.op, self.message = node_def, op, message


def _error(name: str, code: int, *bases):
    cls = type(name, (OpError,) + bases, {"error_code": code, "__doc__": f"``tf.errors.{name}`` (code {code})."})
    cls.__module__ = __name__
    return cls


CancelledError = _error("CancelledError", CANCELLED)
UnknownError = _error("UnknownError", UNKNOWN)
InvalidArgumentError = _error("InvalidArgumentError", INVALID_ARGUMENT, ValueError)
DeadlineExceededError = _error("DeadlineExceededError", DEADLINE_EXCEEDED, TimeoutError)
NotFoundError = _error("NotFoundError", NOT_FOUND, FileNotFoundError)
AlreadyExistsError = _error("AlreadyExistsError", ALREADY_EXISTS, FileExistsError)
PermissionDeniedError = _error("PermissionDeniedError", PERMISSION_DENIED, PermissionError)
ResourceExhaustedError = _error("ResourceExhaustedError", RESOURCE_EXHAUSTED, MemoryError)
FailedPreconditionError = _error("FailedPreconditionError", FAILED_PRECONDITION, RuntimeError)
AbortedError = _error("AbortedError", ABORTED, RuntimeError)
OutOfRangeError = _error("OutOfRangeError", OUT_OF_RANGE, IndexError)
UnimplementedError = _error("UnimplementedError", UNIMPLEMENTED, NotImplementedError)
InternalError = _error("InternalError", INTERNAL, RuntimeError)
UnavailableError = _error("UnavailableError", UNAVAILABLE, RuntimeError)
DataLossError = _error("DataLossError", DATA_LOSS, IOError)
UnauthenticatedError = _error("UnauthenticatedError", UNAUTHENTICATED, PermissionError)


class OperatorNotAllowedInGraphError(TypeError):
    """Raised by TensorFlow in graph mode; never by tapeflow, which runs eagerly."""
