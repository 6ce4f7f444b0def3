"""``tf.train.CheckpointManager``: numbered saves of a ``tf.train.Checkpoint``, the oldest deleted, and
TensorFlow's ``checkpoint`` state file kept current (see ``train.py`` for the file format)."""
from __future__ import annotations

import os
import re
import time

import numpy as np

from .autodiff.tensor import Tensor
from .train import Checkpoint, _write_state, get_checkpoint_state

class CheckpointManager:
    """``tf.train.CheckpointManager``: numbered saves of a ``Checkpoint`` in ``directory``, keeping at most
    ``max_to_keep`` (older files are deleted; with ``keep_checkpoint_every_n_hours`` one per period is kept).

    On creation it reads the directory's ``checkpoint`` state file, so a restarted program sees
    ``latest_checkpoint`` and keeps numbering after the last saved number.
    """

    def __init__(self, checkpoint, directory, max_to_keep, keep_checkpoint_every_n_hours=None,
                 checkpoint_name="ckpt", step_counter=None, checkpoint_interval=None, init_fn=None):
        if not isinstance(checkpoint, Checkpoint):
            raise TypeError(f"CheckpointManager: `checkpoint` must be a tf.train.Checkpoint, got "
                            f"{type(checkpoint).__name__}")
        if max_to_keep is not None and max_to_keep <= 0:
            raise ValueError(f"CheckpointManager: `max_to_keep` must be a positive integer or None, got "
                             f"{max_to_keep!r}")
        if checkpoint_interval is not None and step_counter is None:
            raise ValueError("`step_counter` should be passed if `checkpoint_interval` is not None.")
        self._checkpoint = checkpoint
        self._directory = os.fspath(directory)
        self._max_to_keep = max_to_keep
        self._keep_every_s = None if keep_checkpoint_every_n_hours is None else keep_checkpoint_every_n_hours * 3600
        self._prefix = os.path.join(self._directory, checkpoint_name)
        self._step_counter = step_counter
        self._checkpoint_interval = checkpoint_interval
        self._init_fn = init_fn
        self._last_step = None
        self._maybe_delete: dict = {}   # path -> timestamp, oldest first
        self._latest = None
        self._last_preserved = time.time()
        state = get_checkpoint_state(self._directory)
        if state is not None:
            stamps = state.all_model_checkpoint_timestamps
            if len(stamps) != len(state.all_model_checkpoint_paths):
                stamps = [time.time()] * len(state.all_model_checkpoint_paths)
            for p, t in zip(state.all_model_checkpoint_paths, stamps):
                if os.path.isfile(p):
                    self._maybe_delete[p] = float(t)
            if state.last_preserved_timestamp:
                self._last_preserved = state.last_preserved_timestamp
            if os.path.isfile(state.model_checkpoint_path):
                self._latest = state.model_checkpoint_path

    directory = property(lambda self: self._directory)
    checkpoint = property(lambda self: self._checkpoint)
    checkpoint_interval = property(lambda self: self._checkpoint_interval)

    @property
    def latest_checkpoint(self):
        """The path of the newest checkpoint (also one saved by an earlier run), or None."""
        return self._latest

    @property
    def checkpoints(self) -> list:
        """The managed checkpoint paths, oldest first (those kept by ``keep_checkpoint_every_n_hours`` leave it)."""
        return list(self._maybe_delete)

    def _last_number(self) -> int:
        nums = [int(m.group(1)) for p in list(self._maybe_delete) + [self._latest or ""]
                if (m := re.fullmatch(re.escape(self._prefix) + r"-(\d+)", p))]
        return max(nums, default=0)

    def save(self, checkpoint_number=None, check_interval=True, options=None):
        """Save a new checkpoint (``ckpt-N``; N from ``checkpoint_number`` or the save counter) and delete the
        oldest beyond ``max_to_keep``; returns its path, or None when ``checkpoint_interval`` says not yet."""
        if self._checkpoint_interval is not None and check_interval:
            step = int(np.asarray(self._step_counter._value if isinstance(self._step_counter, Tensor)
                                  else self._step_counter))
            if self._last_step is not None and step < self._last_step + self._checkpoint_interval:
                return None
            self._last_step = step
        counter = self._checkpoint.save_counter
        counter.assign_add(1)
        if checkpoint_number is None:
            if int(counter._value) <= self._last_number():   # a restarted run that did not restore: never
                counter.assign(self._last_number() + 1)      # overwrite an earlier checkpoint
            checkpoint_number = int(counter._value)
        elif isinstance(checkpoint_number, Tensor):
            checkpoint_number = int(np.asarray(checkpoint_number._value))
        path = self._checkpoint.write(f"{self._prefix}-{int(checkpoint_number)}", options)
        now = time.time()
        self._maybe_delete.pop(path, None)
        self._maybe_delete[path] = now
        self._latest = path
        self._sweep()
        _write_state(self._directory, path, list(self._maybe_delete), list(self._maybe_delete.values()),
                     self._last_preserved)
        return path

    def _sweep(self) -> None:
        if self._max_to_keep is None:
            return
        while len(self._maybe_delete) > self._max_to_keep:
            path = next(iter(self._maybe_delete))
            stamp = self._maybe_delete.pop(path)
            if self._keep_every_s is not None and stamp - self._keep_every_s >= self._last_preserved:
                self._last_preserved = stamp
                continue
            if os.path.isfile(path):
                os.remove(path)

    def restore_or_initialize(self):
        """Restore the latest checkpoint and return its path; without one, call ``init_fn`` and return None."""
        if self._latest is not None:
            self._checkpoint.restore(self._latest)
            return self._latest
        if self._init_fn is not None:
            self._init_fn()
        return None

    def sync(self) -> None:
        """A no-op: saving is synchronous."""
