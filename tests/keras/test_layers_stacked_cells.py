"""StackedRNNCells / RNN([cells]): outputs and states printed by Keras 3.15.1 for the same weights."""
import numpy as np
import pytest

from tapeflow import keras
from tests.keras._layer_grad import check_layer_gradients


def _stacked_rnn():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 4, 5)).astype(np.float32)
    rnn = keras.layers.RNN([keras.layers.LSTMCell(3), keras.layers.SimpleRNNCell(2), keras.layers.GRUCell(2)],
                           return_sequences=True, return_state=True)
    rnn(x)
    rnn.set_weights([rng.normal(size=w.shape).astype(np.float32) * 0.5 for w in rnn.weights])
    return rnn, x


def test_matches_keras():
    rnn, x = _stacked_rnn()
    assert isinstance(rnn.cell, keras.layers.StackedRNNCells) and rnn.cell.state_size == [[3, 3], 2, 2]
    assert [w.path for w in rnn.weights][::3] == ["rnn/stacked_rnn_cells/lstm_cell/kernel",
                                                  "rnn/stacked_rnn_cells/simple_rnn_cell/kernel",
                                                  "rnn/stacked_rnn_cells/gru_cell/kernel"]
    out, lstm_states, rnn_states, gru_states = rnn(x)
    np.testing.assert_allclose(out.numpy()[0], [[-0.55716, 0.100707], [-0.54922, 0.091748], [-0.553865, 0.08637],
                                                [-0.52377, 0.08419]], atol=2e-6)
    np.testing.assert_allclose(lstm_states[0].numpy(), [[-0.119962, -0.016841, 0.04603],
                                                        [0.058983, 0.044164, 0.013429]], atol=2e-6)
    np.testing.assert_allclose(lstm_states[1].numpy(), [[-0.290334, -0.19914, 0.077113],
                                                        [0.107523, 0.545581, 0.036933]], atol=2e-6)
    np.testing.assert_allclose(rnn_states[0].numpy(), [[-0.580414, -0.656386], [-0.614801, -0.623359]], atol=2e-6)
    np.testing.assert_allclose(gru_states[0].numpy(), [[-0.52377, 0.08419], [-0.532294, 0.098357]], atol=2e-6)


def test_initial_states_go_flat_in_cell_order():
    rnn, x = _stacked_rnn()
    zeros = [np.zeros((2, n), np.float32) for n in (3, 3, 2, 2)]
    np.testing.assert_allclose(rnn(x, initial_state=zeros)[0].numpy(), rnn(x)[0].numpy())
    moved = rnn(x, initial_state=[np.ones((2, n), np.float32) for n in (3, 3, 2, 2)])[0].numpy()
    assert not np.allclose(moved, rnn(x)[0].numpy())
    with pytest.raises(ValueError, match="expects 4 initial state"):
        rnn(x, initial_state=zeros[:2])


def test_gradients():
    rnn = keras.layers.RNN([keras.layers.LSTMCell(2, dtype="float64"), keras.layers.GRUCell(3, dtype="float64")],
                           dtype="float64")
    check_layer_gradients(rnn, np.random.default_rng(1).normal(size=(2, 3, 4)))


def test_dropout_trains_and_the_model_round_trips(tmp_path):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(64, 6, 3)).astype(np.float32)
    y = x.sum(axis=(1, 2))[:, None] / 4                    # learnable: a sum over the sequence
    model = keras.Sequential([keras.Input((6, 3)),
                              keras.layers.RNN([keras.layers.LSTMCell(8, dropout=0.2, recurrent_dropout=0.2),
                                                keras.layers.GRUCell(4, dropout=0.1)]),
                              keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    hist = model.fit(x, y, epochs=8, batch_size=16, verbose=0).history["loss"]
    assert hist[-1] < 0.7 * hist[0]
    cell_config = model.layers[0].get_config()["cell"]
    assert cell_config["class_name"] == "StackedRNNCells"
    assert [c["class_name"] for c in cell_config["config"]["cells"]] == ["LSTMCell", "GRUCell"]
    path = str(tmp_path / "stacked.keras")
    model.save(path)
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0), model.predict(x, verbose=0),
                               rtol=1e-6)


def test_bad_cells_are_named():
    with pytest.raises(ValueError, match="StackedRNNCells: every cell needs call"):
        keras.layers.StackedRNNCells([keras.layers.LSTMCell(2), "lstm"])
