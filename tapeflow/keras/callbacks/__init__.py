"""``tf.keras.callbacks``."""
from .base import Callback, CallbackList, History  # noqa: F401
from .progbar import ProgbarLogger  # noqa: F401
