"""STFTSpectrogram / MelSpectrogram: Keras 3.15 reference outputs and kernels (tests/fixtures/keras3_audio.npz,
written by tests/fixtures/make_keras3_audio.py), shapes, configs, errors, gradients, training and .keras round
trip."""
import json
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers as L

from _layer_grad import check_layer_gradients

FIX = np.load(os.path.join(os.path.dirname(__file__), "..", "fixtures", "keras3_audio.npz"))
CASES = sorted({k.split("/")[0] for k in FIX.files if "/" in k})
STFT_CASES = [c for c in CASES if c.startswith("s_")]
MEL_CASES = [c for c in CASES if c.startswith("m_")]


@pytest.fixture(autouse=True)
def _fresh_names():
    keras.backend.clear_session()
    yield


def _kw(case):
    return json.loads(str(FIX[f"{case}/kwargs"]))


def test_fixture_covers_the_configurations():
    assert len(STFT_CASES) == 8 and len(MEL_CASES) == 4
    stft = [_kw(c) for c in STFT_CASES]
    assert {kw.get("mode", "log") for kw in stft} == {"log", "magnitude", "psd", "real", "imag", "angle", "stft"}
    for key, value in [("padding", "same"), ("window", "hamming"), ("window", None), ("scaling", None),
                       ("scaling", "spectrum"), ("periodic", True), ("expand_dims", True),
                       ("data_format", "channels_first")]:
        assert any(kw.get(key, "absent") == value for kw in stft), (key, value)
    mel = [_kw(c) for c in MEL_CASES]
    for key, value in [("power_to_db", False), ("window", None), ("window", "hamming"), ("mag_exp", 1.0),
                       ("top_db", 20.0)]:
        assert any(kw.get(key, "absent") == value for kw in mel), (key, value)


@pytest.mark.parametrize("case", STFT_CASES)
def test_stft_spectrogram_matches_keras(case):
    layer = L.STFTSpectrogram(**_kw(case))
    x, want = FIX[f"{case}/x"], FIX[f"{case}/y"]
    got = layer(x)
    assert got.dtype == tf.float32 and tuple(got.shape) == want.shape
    assert tuple(layer.compute_output_shape(x.shape)) == want.shape
    kernels = [FIX[f"{case}/w{i}"] for i in range(2) if f"{case}/w{i}" in FIX.files]
    assert [w.path.split("/")[-1] for w in layer.weights] == (
        ["real_kernel", "imag_kernel"][:len(kernels)] if "imag" != _kw(case).get("mode") else ["imag_kernel"])
    for ours, theirs in zip(layer.get_weights(), kernels):  # the STFT initializer
        np.testing.assert_allclose(ours, theirs, atol=2e-6, rtol=0)
    got = got.numpy()
    if _kw(case).get("mode") == "angle":  # +-pi is one point: compare on the circle
        diff = np.angle(np.exp(1j * (got.astype(np.float64) - want)))
        assert np.abs(diff).max() < 1e-3
    else:
        np.testing.assert_allclose(got, want, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("case", MEL_CASES)
def test_mel_spectrogram_matches_keras(case):
    layer = L.MelSpectrogram(**_kw(case))
    x, want = FIX[f"{case}/x"], FIX[f"{case}/y"]
    got = layer(x)
    assert got.dtype == tf.float32 and tuple(got.shape) == want.shape
    assert tuple(layer.compute_output_shape(x.shape)) == want.shape
    scale = max(1.0, np.abs(want).max())
    np.testing.assert_allclose(got.numpy(), want, atol=1e-5 * scale, rtol=1e-4)
    assert layer.weights == []


@pytest.mark.parametrize("cls,key", [(L.STFTSpectrogram, "config_stft"), (L.MelSpectrogram, "config_mel")])
def test_config_matches_keras(cls, key):
    theirs = json.loads(str(FIX[key]))
    mine = cls(name=theirs["name"]).get_config()
    assert set(mine) == set(theirs)
    for k, v in theirs.items():
        if not isinstance(v, dict):
            assert mine[k] == v, k
    rebuilt = cls.from_config(theirs)
    assert rebuilt.get_config() == mine
    custom = L.STFTSpectrogram(mode="stft", frame_length=4, window=np.ones(4), padding="same")
    assert L.STFTSpectrogram.from_config(custom.get_config()).get_config() == custom.get_config()


def test_keras_docstring_shapes_and_symbolic():
    layer = L.STFTSpectrogram(mode="log", frame_length=256, frame_step=128, fft_length=512, padding="same",
                              expand_dims=True)
    assert layer(np.zeros((1, 16000, 3), "float32")).shape.as_list() == [1, 125, 257, 3]
    mel = L.MelSpectrogram(num_mel_bins=80, sampling_rate=8000, sequence_stride=128, fft_length=2048)
    assert mel(np.random.default_rng(0).uniform(size=(2, 16000))).shape.as_list() == [2, 80, 126]
    out = L.STFTSpectrogram(frame_length=16, frame_step=4)(keras.Input((64, 2)))
    assert out.shape.as_list() == [None, 13, 18]
    out = L.MelSpectrogram(fft_length=64, sequence_stride=16, num_mel_bins=5)(keras.Input((160,)))
    assert out.shape.as_list() == [None, 5, 11]


def test_bad_arguments_name_the_layer_and_argument():
    for kw, pat in [(dict(mode="power"), "STFTSpectrogram.*mode"), (dict(scaling="l2"), "scaling"),
                    (dict(padding="causal"), "padding"), (dict(frame_length=8, frame_step=9), "frame_step"),
                    (dict(frame_length=8, fft_length=4), "fft_length"), (dict(window="nope"), "window")]:
        with pytest.raises(ValueError, match=pat):
            L.STFTSpectrogram(**kw)
    with pytest.raises(TypeError, match="float"):
        L.STFTSpectrogram(frame_length=4, name="s")(tf.constant(np.zeros((1, 8, 1), "int32")))
    with pytest.raises(ValueError, match="window.*shape"):
        L.STFTSpectrogram(frame_length=4, window=[1.0, 1.0])(np.zeros((1, 8, 1), "float32"))
    with pytest.raises(ValueError, match="MelSpectrogram.*sequence_length"):
        L.MelSpectrogram(fft_length=32, sequence_length=64)
    with pytest.raises(ValueError, match="MelSpectrogram.*max_freq"):
        L.MelSpectrogram(sampling_rate=8000, max_freq=5000)
    with pytest.raises(ValueError, match="mel.*shape"):
        L.MelSpectrogram(fft_length=32, sequence_stride=8, name="mel")(np.zeros((1, 2, 100), "float32"))


@pytest.mark.parametrize("kw", [dict(mode="log", frame_length=8, frame_step=3, padding="same"),
                                dict(mode="stft", frame_length=6, fft_length=8, data_format="channels_first"),
                                dict(mode="psd", frame_length=8, window="hamming", expand_dims=True)])
def test_stft_gradients_to_input_and_kernels(kw):
    layer = L.STFTSpectrogram(dtype="float64", **kw)
    x = np.random.default_rng(1).normal(size=(2, 2, 24) if "data_format" in kw else (2, 24, 2))
    check_layer_gradients(layer, x, max_entries=20)


def test_mel_gradient_to_input():
    layer = L.MelSpectrogram(fft_length=32, sequence_stride=8, sampling_rate=4000, num_mel_bins=6, top_db=None,
                             dtype="float64")
    x = np.random.default_rng(2).normal(size=(2, 64))
    check_layer_gradients(layer, x, max_entries=20, rtol=1e-4)


def test_trainable_stft_front_end_fits_and_keras_file_round_trip(tmp_path):
    rng = np.random.default_rng(0)
    t = np.arange(64) / 64.0
    freqs = rng.integers(1, 24, size=32)
    x = np.sin(2 * np.pi * freqs[:, None] * t[None, :])[..., None].astype("float32")
    x += 0.1 * rng.normal(size=x.shape).astype("float32")
    y = (freqs / 24.0)[:, None].astype("float32")
    tf.random.set_seed(0)
    model = keras.Sequential([keras.Input((64, 1)), L.STFTSpectrogram(mode="log", frame_length=16, frame_step=8),
                              L.Flatten(), L.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    before = model.layers[0].get_weights()[0].copy()
    hist = model.fit(x, y, epochs=8, batch_size=8, verbose=0).history["loss"]
    assert hist[-1] < 0.5 * hist[0]
    assert not np.allclose(model.layers[0].get_weights()[0], before)  # the kernels train
    path = str(tmp_path / "stft.keras")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.layers[0]).__name__ == "STFTSpectrogram"
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0), atol=1e-5)
    mel_model = keras.Sequential([keras.Input((128,)), L.MelSpectrogram(fft_length=32, sequence_stride=16,
                                                                        num_mel_bins=6), L.Flatten(), L.Dense(2)])
    path = str(tmp_path / "mel.keras")
    mel_model.save(path)
    again = keras.models.load_model(path)
    xs = rng.normal(size=(3, 128)).astype("float32")
    np.testing.assert_allclose(again.predict(xs, verbose=0), mel_model.predict(xs, verbose=0), atol=1e-5)
