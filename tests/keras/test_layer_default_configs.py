"""Every layer class's ``get_config()`` with default arguments against the real Keras 3.15.1's
(``tests/fixtures/make_keras3_layer_default_configs.py``; name and dtype aside): a key Keras lacks can make
Keras refuse tapeflow's file (SpatialDropout1D took no ``trainable``), a key tapeflow lacks loses an argument
on save (an LSTM's ``activity_regularizer``). The differences still known are listed, each with its reason."""
import json
import os

import pytest

import tapeflow as tf

keras = tf.keras
PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "fixtures",
                    "keras3_layer_default_configs.json")
with open(PATH, encoding="utf-8") as _f:
    REF = json.load(_f)

KNOWN = {  # class: {key: why tapeflow differs}
    "Dense": {"activity_regularizer": "written as null (Keras writes it only when set); Keras loads both"},
    "Layer": {"activity_regularizer": "the bare base Layer's config is not saved by itself",
              "autocast": "the bare base Layer's config is not saved by itself"},
    "RandomCrop": {"seed": "None stays None (Keras draws a seed at construction)"},
    "RandomGrayscale": {"seed": "written (Keras's config omits it; its __init__ takes it)"},
    "SimpleRNN": {"seed": "written (Keras's config omits it; its __init__ takes it)"},
}
MISSING = {"ContrastLimitedAdaptiveHistogramEqualization"}  # not in tapeflow yet


def _cases():
    return sorted(n for n, (_, want) in REF.items() if not isinstance(want, str) and n not in MISSING)


@pytest.mark.parametrize("name", _cases())
def test_default_config_equals_kerass(name):
    kwargs, want = REF[name]
    got = getattr(keras.layers, name)(**kwargs).get_config()
    got.pop("name", None)
    got.pop("dtype", None)
    got = json.loads(json.dumps(got, default=lambda o: list(o) if isinstance(o, tuple) else str(o)))
    known = KNOWN.get(name, {})
    diff = {k for k in set(got) | set(want) if got.get(k, "<missing>") != want.get(k, "<missing>")}
    assert diff == set(known), {k: (want.get(k, "<missing>"), got.get(k, "<missing>")) for k in diff}
