"""``tf.keras.callbacks``."""
from .backup import BackupAndRestore  # noqa: F401
from .base import Callback, CallbackList, History  # noqa: F401
from .checkpoint import ModelCheckpoint  # noqa: F401
from .early_stopping import EarlyStopping  # noqa: F401
from .logging import CSVLogger, LambdaCallback, RemoteMonitor, TerminateOnNaN  # noqa: F401
from .lr import LearningRateScheduler, ReduceLROnPlateau  # noqa: F401
from .progbar import ProgbarLogger  # noqa: F401
from .tensorboard import TensorBoard  # noqa: F401

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "ModelCheckpoint", "EarlyStopping",
           "LearningRateScheduler", "ReduceLROnPlateau", "CSVLogger", "TerminateOnNaN", "LambdaCallback",
           "RemoteMonitor", "BackupAndRestore", "TensorBoard"]
from .diagnostics import ActivationStats, GradientNorms  # noqa: F401,E402
from .ema import SwapEMAWeights  # noqa: F401,E402
__all__ += ["GradientNorms", "ActivationStats", "SwapEMAWeights"]
