"""tf.signal against TensorFlow 2's values (``fixtures/tf_signal.npz``, written by ``fixtures/make_tf_signal.py``);
the real-valued ops' gradients checked."""
import os

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.debug import check_gradients

F = np.load(os.path.join(os.path.dirname(__file__), "fixtures", "tf_signal.npz"))
X = F["x"]

CASES = {
    "frame": lambda: tf.signal.frame(X, 64, 40), "frame_pad": lambda: tf.signal.frame(X, 64, 40, True, 1.5),
    "frame_axis0": lambda: tf.signal.frame(X.T, 50, 30, axis=0),
    "ola": lambda: tf.signal.overlap_and_add(F["frame"], 40), "hann": lambda: tf.signal.hann_window(10),
    "hann_sym": lambda: tf.signal.hann_window(10, periodic=False), "hamming": lambda: tf.signal.hamming_window(7),
    "stft_re": lambda: np.real(tf.signal.stft(X, 64, 32).numpy()),
    "stft_im": lambda: np.imag(tf.signal.stft(X, 64, 32).numpy()),
    "stft2_re": lambda: np.real(tf.signal.stft(X, 50, 20, fft_length=80, pad_end=True).numpy()),
    "stft2_im": lambda: np.imag(tf.signal.stft(X, 50, 20, fft_length=80, pad_end=True).numpy()),
    "istft": lambda: tf.signal.inverse_stft(tf.signal.stft(X, 64, 32), 64, 32,
                                            window_fn=tf.signal.inverse_stft_window_fn(32)),
    "mel": lambda: tf.signal.linear_to_mel_weight_matrix(16, 33, 16000, 80.0, 7600.0),
    "mfcc": lambda: tf.signal.mfccs_from_log_mel_spectrograms(F["log_mel"]),
    "dct2": lambda: tf.signal.dct(X[:, :16], type=2), "dct2_ortho": lambda: tf.signal.dct(X[:, :16], norm="ortho"),
    "idct3": lambda: tf.signal.idct(X[:, :16], type=3),
}


@pytest.mark.parametrize("key", sorted(CASES))
def test_matches_tensorflow(key):
    got = CASES[key]()
    np.testing.assert_allclose(np.asarray(getattr(got, "numpy", lambda: got)()), F[key], rtol=2e-5, atol=2e-5)


def test_spectrogram_pipeline_and_gradients():
    spec = tf.abs(tf.signal.stft(X, 64, 32))
    assert spec.shape.as_list() == [2, 8, 33] and spec.dtype == tf.float32
    check_gradients(lambda s: tf.signal.frame(s, 4, 3, pad_end=True), np.random.default_rng(0).normal(size=(2, 11)))
    check_gradients(lambda f: tf.signal.overlap_and_add(f, 2), np.random.default_rng(1).normal(size=(3, 4, 5)))
    check_gradients(tf.signal.mfccs_from_log_mel_spectrograms, np.random.default_rng(2).normal(size=(3, 6)))


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="linear_to_mel_weight_matrix: need 0 <= lower_edge_hertz"):
        tf.signal.linear_to_mel_weight_matrix(10, 33, 8000, 5000.0, 7000.0)
    with pytest.raises(ValueError, match="dct: type must be 1, 2, 3 or 4"):
        tf.signal.dct(X, type=5)
