"""``tf.summary``: TensorBoard logging from custom training loops, as TensorFlow 2 writes it.

``writer = tf.summary.create_file_writer(logdir)`` then, inside ``with writer.as_default():``,
``tf.summary.scalar(name, value, step=step)`` (also ``histogram``, ``image``, ``text``, ``audio``) appends to an
event file TensorBoard reads. Tags follow the enclosing ``tf.name_scope``s; a missing ``step`` comes from
``tf.summary.experimental.set_step``; ``tf.summary.record_if(cond)`` switches recording. Files are written by
``tensorboardX`` (``pip install 'tapeflow[tensorboard]'``), imported when the first writer is created.

>>> import os, tempfile, tapeflow as tf
>>> logdir = tempfile.mkdtemp()
>>> writer = tf.summary.create_file_writer(logdir)
>>> with writer.as_default():
...     for step in range(3):
...         _ = tf.summary.scalar("loss", 1.0 / (step + 1), step=step)
>>> writer.close()
>>> any(name.startswith("events.out.tfevents") for name in os.listdir(logdir))
True
"""
from __future__ import annotations

import contextlib
import os
import types

import numpy as np

from .autodiff.tensor import Tensor

_DEFAULT = []          # the writers made default by as_default / set_as_default, innermost last
_STEP = [None]
_RECORD = [True]


def _value(x):
    return np.asarray(x._value if isinstance(x, Tensor) else x)


class SummaryWriter:
    """An event-file writer (``tf.summary.create_file_writer``); ``as_default()`` makes the summary functions
    write to it."""

    def __init__(self, logdir, max_queue=None, flush_millis=None, filename_suffix=None):
        try:
            from tensorboardX import SummaryWriter as _Writer
        except ImportError:
            raise ImportError("tf.summary writes event files with tensorboardX: pip install 'tapeflow[tensorboard]' "
                              "(or pip install tensorboardX)") from None
        os.makedirs(os.fspath(logdir), exist_ok=True)
        self.logdir = os.fspath(logdir)
        kwargs = {"max_queue": int(max_queue)} if max_queue else {}
        if flush_millis:
            kwargs["flush_secs"] = max(1, int(flush_millis) // 1000)
        self._writer = _Writer(self.logdir, filename_suffix=filename_suffix or "", **kwargs)

    @contextlib.contextmanager
    def as_default(self, step=None):
        previous_step = _STEP[0]
        _DEFAULT.append(self)
        if step is not None:
            _STEP[0] = step
        try:
            yield self
        finally:
            _DEFAULT.pop()
            if step is not None:
                _STEP[0] = previous_step
            self.flush()

    def set_as_default(self, step=None) -> None:
        _DEFAULT[:] = [self]
        if step is not None:
            _STEP[0] = step

    def init(self) -> None:
        """Accepted for compatibility: the file is opened on creation."""

    def flush(self) -> None:
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self in _DEFAULT:
            _DEFAULT.remove(self)


class _NoopWriter(SummaryWriter):
    def __init__(self):
        self._writer = None
        self.logdir = None


def create_file_writer(logdir, max_queue=None, flush_millis=None, filename_suffix=None, name=None,
                       experimental_trackable=False, experimental_mesh=None) -> SummaryWriter:
    return SummaryWriter(logdir, max_queue=max_queue, flush_millis=flush_millis, filename_suffix=filename_suffix)


def create_noop_writer() -> SummaryWriter:
    """A writer that writes nothing."""
    return _NoopWriter()


def should_record_summaries() -> bool:
    return bool(_DEFAULT) and _DEFAULT[-1]._writer is not None and _RECORD[0]


@contextlib.contextmanager
def record_if(condition):
    """Record only while ``condition`` (a bool, a boolean tensor or a callable returning one) holds."""
    before = _RECORD[0]
    _RECORD[0] = bool(_value(condition() if callable(condition) else condition))
    try:
        yield
    finally:
        _RECORD[0] = before


def _target(name: str, step):
    """(tensorboardX writer, full tag, step) or None when nothing should be written."""
    if not should_record_summaries():
        return None
    if step is None:
        step = _STEP[0]
    if step is None:
        raise ValueError(f"tf.summary: no step for {name!r}: pass step=, or call tf.summary.experimental.set_step")
    from .framework import get_current_name_scope
    scope = get_current_name_scope()
    return _DEFAULT[-1]._writer, (f"{scope}/{name}" if scope else name), int(_value(step))


def scalar(name, data, step=None, description=None) -> bool:
    """Log a scalar; returns whether it was written."""
    t = _target(name, step)
    if t is None:
        return False
    value = _value(data)
    if value.size != 1:
        raise ValueError(f"tf.summary.scalar: {name!r} must be a scalar, got shape {value.shape}")
    t[0].add_scalar(t[1], float(value.reshape(())), global_step=t[2])
    return True


def histogram(name, data, step=None, buckets=None, description=None) -> bool:
    """Log the distribution of ``data``'s values (``buckets`` equal-width bins, default 30)."""
    t = _target(name, step)
    if t is None:
        return False
    values = _value(data).astype(np.float64).reshape(-1)
    t[0].add_histogram(t[1], values, global_step=t[2], bins=int(buckets) if buckets else 30)
    return True


def image(name, data, step=None, max_outputs=3, description=None) -> bool:
    """Log up to ``max_outputs`` images of a (k, h, w, c) batch (c in 1, 3, 4; floats in [0, 1] or uint8)."""
    t = _target(name, step)
    if t is None:
        return False
    imgs = _value(data)
    if imgs.ndim != 4 or imgs.shape[-1] not in (1, 3, 4):
        raise ValueError(f"tf.summary.image: {name!r} must be (k, h, w, c) with c in 1, 3, 4; got {imgs.shape}")
    if imgs.dtype != np.uint8:
        imgs = (np.clip(imgs.astype(np.float64), 0, 1) * 255).round().astype(np.uint8)
    shown = imgs[:int(max_outputs)]
    for i, img in enumerate(shown):
        tag = t[1] if len(shown) == 1 else f"{t[1]}/image/{i}"
        t[0].add_image(tag, img, global_step=t[2], dataformats="HWC")
    return True


def text(name, data, step=None, description=None) -> bool:
    """Log a string (or strings: one markdown table row each)."""
    t = _target(name, step)
    if t is None:
        return False
    value = _value(data)
    strings = [v.decode() if isinstance(v, bytes) else str(v) for v in value.reshape(-1).tolist()]
    t[0].add_text(t[1], strings[0] if value.ndim == 0 else "\n\n".join(strings), global_step=t[2])
    return True


def audio(name, data, sample_rate, step=None, max_outputs=3, encoding=None, description=None) -> bool:
    """Log up to ``max_outputs`` clips of a (k, samples, channels) float batch in [-1, 1]."""
    t = _target(name, step)
    if t is None:
        return False
    clips = _value(data)
    if clips.ndim != 3:
        raise ValueError(f"tf.summary.audio: {name!r} must be (k, samples, channels), got shape {clips.shape}")
    for i, clip in enumerate(clips[:int(max_outputs)]):
        t[0].add_audio(f"{t[1]}/audio/{i}", clip[:, 0], global_step=t[2], sample_rate=int(_value(sample_rate)))
    return True


def write(tag, tensor, step=None, metadata=None, name=None) -> bool:
    """Log a scalar tensor under ``tag`` (other shapes as a histogram)."""
    value = _value(tensor)
    return scalar(tag, value, step) if value.size == 1 else histogram(tag, value, step)


def flush(writer=None, name=None) -> None:
    for w in ([writer] if writer is not None else _DEFAULT[-1:]):
        w.flush()


def trace_on(graph=True, profiler=False, profiler_outdir=None) -> None:
    """Accepted for compatibility: there is no graph or profiler trace to record."""


def trace_off() -> None:
    """Accepted for compatibility."""


def trace_export(name, step=None, profiler_outdir=None) -> None:
    """Accepted for compatibility."""


def graph(graph_data) -> None:
    """Accepted for compatibility: the Keras TensorBoard callback writes the layer graph."""


def _set_step(step) -> None:
    _STEP[0] = step


def _get_step():
    return _STEP[0]


experimental = types.SimpleNamespace(set_step=_set_step, get_step=_get_step, write_raw_pb=None,
                                     summary_scope=None)
