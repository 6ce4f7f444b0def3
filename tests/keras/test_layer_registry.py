"""The lazily imported layer families: their names in keras/layers/__init__.py match the modules' __all__, and
they resolve by attribute, by from-import and by deserialization."""
import importlib

import tapeflow as tf
from tapeflow.keras import layers as L


def test_lazy_tables_match_the_modules():
    for module, names in L._LAZY_LAYERS.items():
        mod = importlib.import_module(f"tapeflow.keras.layers.{module}")
        assert list(names) == list(mod.__all__), module


def test_lazy_layers_resolve_every_way():
    from tapeflow.keras.layers import Conv3D, MelSpectrogram  # noqa: F401
    assert L.ConvLSTM2D.__name__ == "ConvLSTM2D" and "RandAugment" in L.__all__
    config = tf.keras.layers.serialize(L.AdaptiveAveragePooling2D(3))
    assert type(tf.keras.layers.deserialize(config)).__name__ == "AdaptiveAveragePooling2D"
