"""Logging-style callbacks: ``CSVLogger``, ``TerminateOnNaN``, ``LambdaCallback`` and ``RemoteMonitor``."""
from __future__ import annotations

import csv
import os

import numpy as np

from .base import _HOOKS, Callback
from .monitor import scalar


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file (``epoch`` first, then the sorted log keys).

    >>> import os, tempfile, numpy as np, tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    >>> m.compile(optimizer="sgd", loss="mse")
    >>> p = os.path.join(tempfile.mkdtemp(), "log.csv")
    >>> _ = m.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[tf.keras.callbacks.CSVLogger(p)])
    >>> open(p).read().splitlines()[0]
    'epoch,loss'
    """

    _chief_only = True  # multi-worker runs: only rank 0 prints / writes

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = append
        self.writer = None
        self.keys = None
        self.append_header = True
        self.csv_file = None

    def on_train_begin(self, logs=None):
        if self.append:
            if os.path.exists(self.filename):
                with open(self.filename) as f:
                    self.append_header = not bool(len(f.readline()))
            mode = "a"
        else:
            mode = "w"
        folder = os.path.dirname(self.filename)
        if folder:
            os.makedirs(folder, exist_ok=True)
        self.csv_file = open(self.filename, mode, newline="")
        self.writer = None
        self.keys = None

    @staticmethod
    def _value(v):
        if isinstance(v, str):
            return v
        f = scalar(v)
        if f is not None:
            return f
        arr = np.asarray(getattr(v, "_value", v))
        return '"[%s]"' % ", ".join(map(str, arr.reshape(-1).tolist()))

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs.keys())
        if self.writer is None:
            self.writer = csv.DictWriter(self.csv_file, fieldnames=["epoch"] + self.keys, delimiter=self.sep,
                                         lineterminator="\n")
            if self.append_header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update((k, self._value(logs.get(k, "NA"))) for k in self.keys)
        self.writer.writerow(row)
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        if self.csv_file is not None:
            self.csv_file.close()
            self.csv_file = None
        self.writer = None


class TerminateOnNaN(Callback):
    """Stop training as soon as a batch's loss is NaN or infinite.

    >>> import tapeflow as tf
    >>> cb = tf.keras.callbacks.TerminateOnNaN()
    """

    def on_train_batch_end(self, batch, logs=None):
        loss = scalar((logs or {}).get("loss"))
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


class LambdaCallback(Callback):
    """A callback from plain functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``.

    Accepts any ``on_*`` hook name (``on_batch_begin``/``on_batch_end`` mean the training batches).

    >>> import numpy as np, tapeflow as tf
    >>> seen = []
    >>> cb = tf.keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: seen.append(epoch))
    >>> m = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    >>> m.compile(optimizer="sgd", loss="mse")
    >>> _ = m.fit(np.ones((4, 2)), np.ones((4, 1)), epochs=2, verbose=0, callbacks=[cb])
    >>> seen
    [0, 1]
    """

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_train_begin=None, on_train_end=None,
                 on_train_batch_begin=None, on_train_batch_end=None, **kwargs):
        super().__init__()
        fns = {"on_epoch_begin": on_epoch_begin, "on_epoch_end": on_epoch_end, "on_train_begin": on_train_begin,
               "on_train_end": on_train_end, "on_train_batch_begin": on_train_batch_begin,
               "on_train_batch_end": on_train_batch_end}
        for k, v in kwargs.items():
            if k in ("on_batch_begin", "on_batch_end"):
                k = k.replace("on_", "on_train_")
            if k not in _HOOKS:
                raise TypeError(f"LambdaCallback: unknown hook {k!r}; expected one of {', '.join(_HOOKS)}")
            fns[k] = v
        for k, fn in fns.items():
            if fn is not None:
                if not callable(fn):
                    raise TypeError(f"LambdaCallback: {k} must be callable, got {fn!r}")
                setattr(self, k, _adapt(fn, k))


def _adapt(fn, hook):
    """Call ``fn`` with the arguments Keras passes: ``(logs)`` for begin/end of train/test/predict,
    ``(epoch_or_batch, logs)`` otherwise."""
    takes_index = "epoch" in hook or "batch" in hook

    def call(*args):
        if takes_index:
            index = args[0]
            logs = args[1] if len(args) > 1 else None
            return fn(index, logs)
        return fn(args[0] if args else None)
    return call


class RemoteMonitor(Callback):
    """POST each epoch's logs to a server, as ``keras.callbacks.RemoteMonitor``.

    At each epoch end it sends ``{"epoch": epoch, **logs}`` (numbers as floats) to ``root + path``:
    as a JSON body when ``send_as_json``, else form-encoded with the JSON text in the ``field``
    form field. A server that cannot be reached gives a warning, never an error: training goes on.
    Uses only the standard library (``urllib``).

    >>> import tapeflow as tf
    >>> cb = tf.keras.callbacks.RemoteMonitor(root="http://localhost:9000", send_as_json=True)
    >>> cb.url
    'http://localhost:9000/publish/epoch/end/'
    """

    _chief_only = True  # multi-worker runs: only rank 0 posts

    def __init__(self, root="http://localhost:9000", path="/publish/epoch/end/", field="data", headers=None,
                 send_as_json=False, timeout=10.0):
        super().__init__()
        if not isinstance(root, str) or not root.startswith(("http://", "https://")):
            raise ValueError(f"RemoteMonitor: root must be an http:// or https:// URL, got {root!r}")
        self.root, self.path, self.field = root, path, field
        self.headers = dict(headers or {})
        self.send_as_json = bool(send_as_json)
        self.timeout = float(timeout)

    @property
    def url(self) -> str:
        return self.root.rstrip("/") + "/" + self.path.lstrip("/")

    def on_epoch_end(self, epoch, logs=None):
        import json
        import urllib.error
        import urllib.parse
        import urllib.request
        import warnings
        send = {"epoch": epoch}
        for k, v in (logs or {}).items():
            send[k] = scalar(v) if not isinstance(v, str) else v
        headers = dict(self.headers)
        if self.send_as_json:
            body = json.dumps(send).encode()
            headers.setdefault("Content-Type", "application/json")
        else:
            body = urllib.parse.urlencode({self.field: json.dumps(send)}).encode()
            headers.setdefault("Content-Type", "application/x-www-form-urlencoded")
        request = urllib.request.Request(self.url, data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                response.read()
        except (urllib.error.URLError, OSError, ValueError) as e:
            warnings.warn(f"RemoteMonitor: could not reach the server at {self.url} ({e}); the epoch {epoch} logs "
                          "were not sent", RuntimeWarning, stacklevel=2)
