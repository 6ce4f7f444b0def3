"""fit()'s traced step (tapeflow/keras/traced_step.py): bitwise equal to the eager step, and eager
whenever replaying could be wrong."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import traced_step

L = tf.keras.layers
RS = np.random.RandomState(0)
X = RS.rand(100, 6).astype(np.float32)
LABELS = RS.randint(0, 4, 100)
YREG = RS.rand(100, 3).astype(np.float32)


def mlp():
    return tf.keras.Sequential([L.Dense(8, activation="relu", input_shape=(6,)), L.Dense(4, activation="softmax")])


def run(build, compile_kw, fit_kw, jit, epochs=3, seed=0):
    tf.random.set_seed(seed)
    model = build()
    model.compile(jit_compile=jit, **compile_kw)
    hist = model.fit(epochs=epochs, verbose=0, shuffle=True, **fit_kw)
    return model, [w.copy() for w in model.get_weights()], hist.history


def assert_same(build, compile_kw, fit_kw, epochs=3, expect_replay=True):
    eager, w_e, h_e = run(build, compile_kw, fit_kw, False, epochs)
    traced, w_t, h_t = run(build, compile_kw, fit_kw, "auto", epochs)
    assert eager._trace_status.startswith("eager: compile(jit_compile=False)")
    assert len(w_e) == len(w_t)
    for a, b in zip(w_e, w_t):
        assert a.dtype == b.dtype and np.array_equal(a, b)  # bitwise, not approximately
    assert h_e == h_t
    if expect_replay:
        assert traced._trace_counts["replayed"] > 0, traced._trace_status
    return traced


def test_mlp_softmax_sparse_ce_bitwise_and_replays():
    m = assert_same(mlp, dict(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"]),
                    dict(x=X, y=LABELS, batch_size=16))
    # 7 batches per epoch (the last one partial): two recordings per input shape, then replays
    assert m._trace_counts == {"recorded": 4, "replayed": 17, "eager": 0}
    assert m._trace_status == "replaying"


def full_program(model):
    (entry,) = model._trace_cache.values()
    return entry.full


def test_loss_joins_the_program_when_labels_vary_and_the_loss_is_built_in():
    m = assert_same(mlp, dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
                    dict(x=X, y=LABELS, batch_size=25))
    assert full_program(m) is not None and full_program(m).n_loss_parts == 0


def test_custom_loss_or_constant_labels_keep_the_loss_eager():
    def my_loss(y_true, y_pred):
        return tf.reduce_mean(tf.square(y_true - y_pred), axis=-1)
    m = assert_same(mlp, dict(optimizer="sgd", loss=my_loss), dict(x=X, y=YREG[:, :1].repeat(4, 1), batch_size=25))
    assert m._trace_status == "replaying" and full_program(m) is None
    pm1 = np.where(np.tile(YREG, 2)[:, :4] > 0.5, 1.0, 0.0).astype(np.float32)
    m = assert_same(mlp, dict(optimizer="sgd", loss="hinge"), dict(x=X, y=pm1, batch_size=25))
    assert m._trace_status == "replaying" and full_program(m) is None
    same = np.zeros(100, np.int64)  # every batch has the same labels: the recordings cannot tell labels from constants
    m = assert_same(mlp, dict(optimizer="sgd", loss="sparse_categorical_crossentropy"), dict(x=X, y=same, batch_size=25))
    assert m._trace_status == "replaying" and full_program(m) is None


def test_mse_regression_with_l2_regularizers():
    def build():
        return tf.keras.Sequential([
            L.Dense(8, activation="tanh", input_shape=(6,), kernel_regularizer=tf.keras.regularizers.L2(0.01)),
            L.Dense(3, bias_regularizer=tf.keras.regularizers.L1(0.01))])
    assert_same(build, dict(optimizer="sgd", loss="mse", metrics=["mae"]), dict(x=X, y=YREG, batch_size=20))


def test_multi_output_functional():
    def build():
        inp = tf.keras.Input((6,))
        h = L.Dense(8, activation="relu")(inp)
        a = L.Dense(4, activation="softmax", name="cls")(h)
        b = L.Dense(3, name="reg")(L.Concatenate()([h, inp]))
        return tf.keras.Model(inp, [a, b])
    assert_same(build, dict(optimizer="rmsprop", loss=["sparse_categorical_crossentropy", "mse"],
                            loss_weights=[1.0, 0.5], metrics=[["accuracy"], ["mae"]]),
                dict(x=X, y=[LABELS, YREG], batch_size=25))


def test_sample_weight_and_class_weight():
    sw = RS.rand(100).astype(np.float32)
    assert_same(mlp, dict(optimizer="adam", loss="sparse_categorical_crossentropy", weighted_metrics=["accuracy"]),
                dict(x=X, y=LABELS, sample_weight=sw, batch_size=20))
    assert_same(mlp, dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
                dict(x=X, y=LABELS, class_weight={0: 1.0, 1: 2.0, 2: 0.5, 3: 1.0}, batch_size=20))


def test_frozen_layer_and_categorical_ce_from_logits():
    def build():
        m = tf.keras.Sequential([L.Dense(8, activation="relu", input_shape=(6,)), L.Dense(4)])
        m.layers[0].trainable = False
        return m
    onehot = np.eye(4, dtype=np.float32)[LABELS]
    assert_same(build, dict(optimizer="adam", loss=tf.keras.losses.CategoricalCrossentropy(from_logits=True)),
                dict(x=X, y=onehot, batch_size=20))


def test_retrace_after_trainable_changes_between_fits():
    def go(jit):
        tf.random.set_seed(3)
        m = mlp()
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=jit)
        m.fit(X, LABELS, batch_size=20, epochs=3, verbose=0)
        m.layers[0].trainable = False
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=jit)
        m.fit(X, LABELS, batch_size=20, epochs=3, verbose=0)
        return m
    e, t = go(False), go("auto")
    assert all(np.array_equal(a, b) for a, b in zip(e.get_weights(), t.get_weights()))
    assert t._trace_counts["replayed"] > 0 and t._trace_status == "replaying"


def test_changing_a_layer_attribute_between_fits_retraces():
    def go(jit):
        tf.random.set_seed(4)
        m = mlp()
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=jit)
        m.fit(X, LABELS, batch_size=20, epochs=2, verbose=0)
        m.layers[0].activation = tf.keras.activations.get("tanh")  # no recompile: the next step must use tanh
        m.fit(X, LABELS, batch_size=20, epochs=2, verbose=0)
        return m
    e, t = go(False), go("auto")
    assert all(np.array_equal(a, b) for a, b in zip(e.get_weights(), t.get_weights()))
    assert t._trace_counts["recorded"] == 4 and t._trace_counts["replayed"] > 0  # traced twice per fit, once each


def test_trainable_flag_flipped_by_callback_retraces():
    class Freeze(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch == 1:
                self.model.layers[0].trainable = False

    def go(jit):
        tf.random.set_seed(4)
        m = mlp()
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=jit)
        m.fit(X, LABELS, batch_size=20, epochs=4, verbose=0, callbacks=[Freeze()])
        return m
    e, t = go(False), go("auto")
    assert all(np.array_equal(a, b) for a, b in zip(e.get_weights(), t.get_weights()))
    assert t._trace_counts["recorded"] == 4  # two per trainable-variable set


def test_gradient_norms_callback_still_gets_gradients():
    class Grab(tf.keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.norms = []

        def on_train_begin(self, logs=None):
            self.model._trainer_record_grads = True

        def on_train_batch_end(self, batch, logs=None):
            grads = self.model._trainer_last_grads[0]
            self.norms.append([float(np.linalg.norm(g.numpy())) for g in grads])

    out = []
    for jit in (False, "auto"):
        tf.random.set_seed(0)
        m = mlp()
        m.compile(optimizer="adam", loss="sparse_categorical_crossentropy", jit_compile=jit)
        cb = Grab()
        m.fit(X, LABELS, batch_size=20, epochs=2, verbose=0, callbacks=[cb])
        out.append(cb.norms)
    assert out[0] == out[1] and len(out[0]) == 10


@pytest.mark.parametrize("layer", [lambda: L.Dropout(0.3), lambda: L.Dropout(0.5, seed=7),
                                   lambda: L.Dropout(0.2, noise_shape=(None, 1))])
def test_dropout_replays_bitwise_with_a_fresh_mask_each_step(layer):
    def build():
        return tf.keras.Sequential([L.Dense(8, activation="relu", input_shape=(6,)), layer(),
                                    L.Dense(4, activation="softmax")])
    m = assert_same(build, dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
                    dict(x=X, y=LABELS, batch_size=20), epochs=3)
    assert m._trace_status == "replaying"
    masks = []
    prog = next(iter(m._trace_cache.values())).program
    for _ in range(2):
        prog.forward([X[:20]])
        masks.append(next(v for (p, *_), v in zip(prog.instrs, prog._vals[-len(prog.instrs):])
                          if p.name == "dropout_keep").copy())
    assert not np.array_equal(masks[0], masks[1])  # each replay draws anew


@pytest.mark.parametrize("layer, reason", [
    (lambda: L.BatchNormalization(), "BatchNormalization"),
    (lambda: L.GaussianNoise(0.1), "GaussianNoise"),
])
def test_layers_that_cannot_replay_run_eagerly(layer, reason):
    def build():
        return tf.keras.Sequential([L.Dense(8, input_shape=(6,)), layer(), L.Dense(4, activation="softmax")])
    m = assert_same(build, dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
                    dict(x=X, y=LABELS, batch_size=20), epochs=2, expect_replay=False)
    assert m._trace_counts["replayed"] == 0
    assert m._trace_status.startswith("eager:") and reason in m._trace_status


def test_batchnorm_assignments_detected_even_if_listed(monkeypatch):
    monkeypatch.setattr(traced_step, "_TRACEABLE_LAYERS", traced_step._traceable_layer_types() | {L.BatchNormalization})

    def build():
        return tf.keras.Sequential([L.Dense(8, input_shape=(6,)), L.BatchNormalization(), L.Dense(4)])
    m = assert_same(build, dict(optimizer="sgd", loss="mse"), dict(x=X, y=YREG[:, :1].repeat(4, 1), batch_size=20),
                    epochs=2, expect_replay=False)
    assert "assigns to variable" in m._trace_status and "moving" in m._trace_status



SEQ = RS.rand(100, 5, 6).astype(np.float32)


@pytest.mark.parametrize("rnn", [
    lambda: L.LSTM(7), lambda: L.GRU(7, return_sequences=True), lambda: L.SimpleRNN(7, go_backwards=True),
    lambda: L.LSTM(7, activation="relu", return_sequences=True),  # the cell-by-cell path
])
def test_recurrent_layers_replay_bitwise(rnn):
    def build():
        return tf.keras.Sequential([tf.keras.Input((5, 6)), rnn(), L.Flatten(), L.Dense(4, activation="softmax")])
    m = assert_same(build, dict(optimizer="adam", loss="sparse_categorical_crossentropy"),
                    dict(x=SEQ, y=LABELS, batch_size=20), epochs=2)
    assert m._trace_status == "replaying"


def test_recurrent_layer_with_custom_gate_activation_runs_eagerly():
    def build():
        return tf.keras.Sequential([tf.keras.Input((5, 6)), L.LSTM(7, recurrent_activation=lambda z: z / 2 + 0.5),
                                    L.Dense(3)])
    m = assert_same(build, dict(optimizer="sgd", loss="mse"), dict(x=SEQ, y=YREG, batch_size=20),
                    epochs=2, expect_replay=False)
    assert "custom recurrent_activation" in m._trace_status

class Scaled(L.Layer):
    """Multiplies by the batch mean, computed in Python: a data-dependent constant."""

    def call(self, x):
        return x * float(np.mean(x.numpy()))


def test_custom_layer_runs_eagerly():
    def build():
        return tf.keras.Sequential([L.Dense(8, input_shape=(6,)), Scaled(), L.Dense(3)])
    m = assert_same(build, dict(optimizer="sgd", loss="mse"), dict(x=X, y=YREG, batch_size=20),
                    epochs=2, expect_replay=False)
    assert "Scaled" in m._trace_status and "not a built-in layer" in m._trace_status


def test_data_dependent_python_value_detected_by_comparing_recordings(monkeypatch):
    monkeypatch.setattr(traced_step, "_TRACEABLE_LAYERS", traced_step._traceable_layer_types() | {Scaled})

    def build():
        return tf.keras.Sequential([L.Dense(8, input_shape=(6,)), Scaled(), L.Dense(3)])
    m = assert_same(build, dict(optimizer="sgd", loss="mse"), dict(x=X, y=YREG, batch_size=20),
                    epochs=2, expect_replay=False)
    assert m._trace_counts["recorded"] == 2 and "differs between the two recorded passes" in m._trace_status


def test_data_dependent_branch_detected_by_comparing_recordings(monkeypatch):
    class Branchy(L.Layer):
        def call(self, x):
            return tf.nn.relu(x) if float(tf.reduce_mean(x)) > 0.5 else tf.tanh(x)
    monkeypatch.setattr(traced_step, "_TRACEABLE_LAYERS", traced_step._traceable_layer_types() | {Branchy})
    x = np.concatenate([np.zeros((20, 6)), np.ones((20, 6))]).astype(np.float32)
    m = tf.keras.Sequential([Branchy(input_shape=(6,)), L.Dense(3)])
    m.compile(optimizer="sgd", loss="mse")
    m.fit(x, YREG[:40], batch_size=20, epochs=3, verbose=0, shuffle=False)
    assert m._trace_counts["replayed"] == 0 and "different primitives" in m._trace_status


class OwnStep(tf.keras.Model):
    def train_step(self, data):
        return super().train_step(data)


@pytest.mark.parametrize("how, reason", [
    ("run_eagerly", "run_eagerly=True"),
    ("jit_false", "jit_compile=False"),
    ("config", "run_functions_eagerly"),
    ("train_step", "overrides train_step"),
])
def test_forced_eager(how, reason):
    if how == "train_step":
        inp = tf.keras.Input((6,))
        m = OwnStep(inp, L.Dense(4, activation="softmax")(inp))
    else:
        m = mlp()
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", run_eagerly=how == "run_eagerly",
              jit_compile=False if how == "jit_false" else "auto")
    if how == "config":
        tf.config.run_functions_eagerly(True)
    try:
        m.fit(X, LABELS, batch_size=20, epochs=2, verbose=0)
    finally:
        tf.config.run_functions_eagerly(False)
    assert reason in m._trace_status and not m.__dict__.get("_trace_counts", {}).get("replayed")


def test_jit_compile_rejects_unknown_values():
    with pytest.raises(ValueError, match="jit_compile"):
        mlp().compile(optimizer="sgd", loss="mse", jit_compile="xla")


def test_bad_label_in_a_replayed_batch_raises_the_eager_error():
    bad = LABELS.copy()
    bad[85] = 7  # the last of 5 batches (batch_size=20, no shuffle): after two recordings and two replays
    errors = []
    for jit in (False, "auto"):
        m = mlp()
        m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy", jit_compile=jit)
        with pytest.raises(ValueError) as e:
            m.fit(X, bad, batch_size=20, epochs=1, verbose=0, shuffle=False)
        errors.append(str(e.value))
        if jit == "auto":
            assert m._trace_counts["replayed"] == 2  # batches 3 and 4 replayed, batch 5 raised inside its replay
    assert errors[0] == errors[1] and "labels must lie in [0, 4)" in errors[0]


def test_outer_tape_or_check_numerics_keeps_steps_eager():
    m = mlp()
    m.compile(optimizer="sgd", loss="sparse_categorical_crossentropy")
    with tf.GradientTape():
        m.fit(X, LABELS, batch_size=20, epochs=1, verbose=0)
    assert m._trace_counts["replayed"] == 0 and "outer GradientTape" in m._trace_status


def test_program_backward_matches_tape_with_tensor_vjp_fallback():
    from tapeflow.autodiff import trace
    w = tf.Variable(RS.rand(6, 3).astype(np.float32))
    b = tf.Variable(RS.rand(3).astype(np.float32))
    x = RS.rand(5, 6).astype(np.float32)
    with tf.GradientTape() as tape:
        with trace.Recorder() as rec:
            h = tf.sin(tf.matmul(tf.convert_to_tensor(x), w) + b)  # broadcast add: sum_to on b's gradient
            out = tf.reduce_sum(h * h)
        masks = {id(n.out): tuple(n.mask) for n in tape._nodes}
    want = tape.gradient(out, [w, b])
    prog = trace.Program.build(rec.ops, [x], [out], masks, [w, b])
    (val,) = prog.forward([x])
    assert np.array_equal(val, out.numpy())
    got = prog.backward([np.ones((), np.float32)], [None, None])
    assert all(np.array_equal(g, t.numpy()) for g, t in zip(got, want))
