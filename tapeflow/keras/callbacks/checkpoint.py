"""``ModelCheckpoint``: save the model (or its weights) during training, every epoch or every N batches."""
from __future__ import annotations

import os
import warnings

from .base import Callback
from .monitor import improved, monitor_value, resolve_mode, scalar


class ModelCheckpoint(Callback):
    """Save the model after each epoch (``save_freq="epoch"``) or every ``save_freq`` batches.

    ``filepath`` may hold ``{epoch:02d}``, ``{batch}`` and log names such as ``{val_loss:.2f}``. With
    ``save_best_only`` the file is written only when ``monitor`` improves (``mode`` auto/min/max,
    starting from ``initial_value_threshold`` when given). ``save_weights_only`` writes
    ``*.weights.h5``; otherwise the whole model (``.keras`` or ``.h5``). Each write is atomic, so a crash
    during a save leaves the previous checkpoint intact.

    >>> import os, tempfile, numpy as np, tapeflow as tf
    >>> m = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    >>> m.compile(optimizer="sgd", loss="mse")
    >>> d = tempfile.mkdtemp()
    >>> cb = tf.keras.callbacks.ModelCheckpoint(os.path.join(d, "m-{epoch:02d}.keras"))
    >>> _ = m.fit(np.zeros((4, 2)), np.zeros((4, 1)), epochs=2, verbose=0, callbacks=[cb])
    >>> sorted(os.listdir(d))
    ['m-01.keras', 'm-02.keras']
    """

    _chief_only = True  # multi-worker runs: only rank 0 prints / writes

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", initial_value_threshold=None):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = save_best_only
        self.save_weights_only = save_weights_only
        self.save_freq = save_freq
        if save_freq != "epoch" and not (isinstance(save_freq, int) and save_freq > 0):
            raise ValueError(f"ModelCheckpoint: unrecognized save_freq {save_freq!r}; expected 'epoch' or a "
                             "positive integer number of batches")
        if save_weights_only and not self.filepath.endswith(".weights.h5"):
            raise ValueError("ModelCheckpoint: when save_weights_only=True the filepath must end in `.weights.h5`; "
                             f"received {self.filepath!r}")
        if not save_weights_only and not self.filepath.endswith((".keras", ".h5", ".hdf5")):
            raise ValueError("ModelCheckpoint: the filepath must end in `.keras` (or `.h5` for the legacy format); "
                             f"received {self.filepath!r}")
        self.mode = resolve_mode(mode, monitor, "ModelCheckpoint")
        self.initial_value_threshold = initial_value_threshold
        self.best = initial_value_threshold if initial_value_threshold is not None else \
            (float("inf") if self.mode == "min" else float("-inf"))
        self._current_epoch = 0
        self._batches_seen = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._current_epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_seen += 1
        if self._batches_seen % self.save_freq == 0:
            self._save(self._current_epoch, batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs)

    def _file_path(self, epoch, batch, logs) -> str:
        values = {k: (scalar(v) if scalar(v) is not None else v) for k, v in (logs or {}).items()}
        try:
            if batch is None or "batch" in values:
                return self.filepath.format(epoch=epoch + 1, **values)
            return self.filepath.format(epoch=epoch + 1, batch=batch + 1, **values)
        except KeyError as e:
            raise KeyError(f"ModelCheckpoint: failed to format filepath {self.filepath!r}: key {e} is not in the "
                           f"logs {sorted(values)}") from None

    def _save(self, epoch, batch, logs) -> None:
        path = self._file_path(epoch, batch, logs)
        folder = os.path.dirname(path)
        if folder:
            os.makedirs(folder, exist_ok=True)
        if self.save_best_only:
            current = monitor_value(logs, self.monitor, "ModelCheckpoint", warn=False)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available, skipping.", stacklevel=2)
                return
            if not improved(self.mode, current, self.best):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)
