"""A Keras-style progress bar: ``1875/1875 ━━━━━━━━━━━━━━━━━━━━ 3s 1ms/step - accuracy: 0.82 - loss: 0.51``."""
from __future__ import annotations

import sys
import time

import numpy as np

from ..utils import config_utils
from .base import Callback


def _fmt_value(v) -> str:
    v = float(np.asarray(getattr(v, "_value", v)))
    return f"{v:.4f}" if abs(v) >= 1e-3 or v == 0 else f"{v:.4e}"


def _fmt_time(sec: float) -> str:
    if sec >= 3600:
        return f"{int(sec // 3600)}:{int(sec % 3600 // 60):02d}:{int(sec % 60):02d}"
    if sec >= 60:
        return f"{int(sec // 60)}:{int(sec % 60):02d}"
    return f"{int(round(sec))}s"


class Progbar:
    """Text progress bar; on a non-interactive stream it prints only the final line."""

    def __init__(self, target, width=20, verbose=1, interval=0.05, stream=None, unit_name="step"):
        self.target = target
        self.width = width
        self.verbose = verbose
        self.interval = interval
        self.stream = stream or sys.stdout
        self.unit = unit_name
        self.interactive = hasattr(self.stream, "isatty") and self.stream.isatty()
        self.start = time.perf_counter()
        self._last = 0.0
        self._len = 0

    def update(self, current, values=None, finalize=None):
        if self.verbose == 0:
            return
        to_log = not config_utils.is_interactive_logging_enabled() and self.stream is sys.stdout
        if finalize is None:
            finalize = self.target is not None and current >= self.target
        now = time.perf_counter()
        if not finalize and (to_log or not self.interactive or now - self._last < self.interval):
            return
        self._last = now
        elapsed = now - self.start
        parts = []
        if self.target:
            filled = int(self.width * min(current, self.target) / self.target)
            bar = "\u2501" * filled + " " * (self.width - filled) if finalize else \
                "\u2501" * filled + "\u2578" * (filled < self.width) + " " * max(0, self.width - filled - 1)
            parts.append(f"{current}/{self.target} {bar}")
        else:
            parts.append(f"{current}")
        per = elapsed / max(current, 1)
        if finalize or not self.target:
            per_txt = f"{per * 1e3:.0f}ms/{self.unit}" if per >= 1e-3 else f"{per * 1e6:.0f}us/{self.unit}"
            parts.append(f"{_fmt_time(elapsed)} {per_txt}")
        else:
            parts.append(f"{_fmt_time(per * (self.target - current))}")
        line = " ".join(parts)
        for k, v in (values or {}).items():
            try:
                line += f" - {k}: {_fmt_value(v)}"
            except (TypeError, ValueError):
                continue
        if to_log:
            if finalize:
                config_utils.print_msg(line)
            return
        if self.verbose == 1 and self.interactive:
            pad = max(0, self._len - len(line))
            self.stream.write("\r" + line + " " * pad)
            self._len = len(line)
            if finalize:
                self.stream.write("\n")
        elif finalize:
            self.stream.write(line + "\n")
        self.stream.flush()


class ProgbarLogger(Callback):
    """Prints ``Epoch i/N`` and a progress bar (verbose=1) or one line per epoch (verbose=2)."""

    _chief_only = True  # multi-worker runs: only rank 0 prints / writes

    def __init__(self, count_mode="steps", stateful_metrics=None):
        super().__init__()
        self.verbose = 1
        self.epochs = 1
        self.bar = None
        self._seen = 0
        self._mode = "train"

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)

    def _new_bar(self):
        self.bar = Progbar(self.params.get("steps"), verbose=self.verbose)
        self._seen = 0

    def on_train_begin(self, logs=None):
        self._mode = "train"

    def on_epoch_begin(self, epoch, logs=None):
        if self.verbose:
            config_utils.print_msg(f"Epoch {epoch + 1}/{self.epochs}")
        self._new_bar()

    def on_train_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        if self.verbose == 1:
            self.bar.update(self._seen, logs, finalize=False)

    def on_epoch_end(self, epoch, logs=None):
        if self.verbose and self.bar is not None:
            self.bar.verbose = 1 if self.verbose == 1 else 2
            self.bar.update(self._seen or self.params.get("steps") or 0, logs, finalize=True)

    def on_test_begin(self, logs=None):
        if self._mode != "train" or self.bar is None:
            self._mode = "test"
            self._new_bar()

    def on_test_batch_end(self, batch, logs=None):
        if self._mode == "test":
            self._seen = batch + 1
            if self.verbose == 1:
                self.bar.update(self._seen, logs, finalize=False)

    def on_test_end(self, logs=None):
        if self._mode == "test" and self.verbose:
            self.bar.update(self._seen, logs, finalize=True)

    def on_predict_begin(self, logs=None):
        self._mode = "predict"
        self._new_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._seen = batch + 1
        if self.verbose == 1:
            self.bar.update(self._seen, None, finalize=False)

    def on_predict_end(self, logs=None):
        if self.verbose:
            self.bar.update(self._seen, None, finalize=True)
