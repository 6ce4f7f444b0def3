"""Schedules beyond Keras: closed forms, torch.optim.lr_scheduler step for step, momentum cycling, warmup,
serialization."""
import math

import numpy as np
import pytest

import tapeflow as tf
from tapeflow.keras import optimizers as O
from tapeflow.keras.optimizers import schedules as S


def _torch_lrs(torch, make_sched, steps, opt_factory=None):
    p = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = (opt_factory or (lambda ps: torch.optim.SGD(ps, lr=1.0, momentum=0.9)))([p])
    sched = make_sched(opt)
    lrs, moms = [], []
    for _ in range(steps):
        g = opt.param_groups[0]
        lrs.append(g["lr"])
        moms.append(g["betas"][0] if "betas" in g else g.get("momentum"))
        opt.step()
        sched.step()
    return np.array(lrs), moms


# -- CyclicalLearningRate vs torch CyclicLR -------------------------------------------------------------------
@pytest.mark.parametrize("mode,gamma,down", [("triangular", 1.0, None), ("triangular2", 1.0, None),
                                             ("exp_range", 0.97, None), ("triangular", 1.0, 3),
                                             ("triangular2", 1.0, 7)])
def test_cyclical_matches_torch(torch, mode, gamma, down):
    ours = S.CyclicalLearningRate(np.float64(0.01), 0.1, step_size=5, step_size_down=down, mode=mode, gamma=gamma,
                                  cycle_momentum=True, base_momentum=0.8, max_momentum=0.9)
    lrs, moms = _torch_lrs(torch, lambda o: torch.optim.lr_scheduler.CyclicLR(
        o, 0.01, 0.1, step_size_up=5, step_size_down=down, mode=mode, gamma=gamma, cycle_momentum=True,
        base_momentum=0.8, max_momentum=0.9), 40)
    np.testing.assert_allclose([float(ours(s)) for s in range(40)], lrs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose([ours.momentum(s) for s in range(40)], moms, rtol=1e-12)


def test_cyclical_closed_form_and_float32_default():
    lr = S.CyclicalLearningRate(0.1, 1.0, step_size=4)
    assert lr(0).dtype == np.float32 and S.CyclicalLearningRate(np.float64(0.1), 1.0)(0).dtype == np.float64
    for s in range(20):
        x = abs(s / 4 - 2 * math.floor(1 + s / 8) + 1)     # Smith's closed form for the triangle
        assert float(lr(s)) == pytest.approx(0.1 + 0.9 * max(0.0, 1 - x), rel=1e-6)
    with pytest.raises(ValueError, match="mode"):
        S.CyclicalLearningRate(0.1, 1.0, mode="sine")


# -- OneCycle vs torch OneCycleLR -------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs", [
    dict(), dict(anneal_strategy="linear"), dict(three_phase=True), dict(pct_start=0.5, div_factor=10.0,
                                                                         final_div_factor=100.0),
    dict(three_phase=True, anneal_strategy="linear", pct_start=0.25, base_momentum=0.8, max_momentum=0.99)])
def test_one_cycle_matches_torch(torch, kwargs):
    total = 57
    ours = S.OneCycle(np.float64(0.4), total_steps=total, **kwargs)
    lrs, moms = _torch_lrs(torch, lambda o: torch.optim.lr_scheduler.OneCycleLR(o, 0.4, total_steps=total, **kwargs),
                           total)
    np.testing.assert_allclose([float(ours(s)) for s in range(total)], lrs, rtol=1e-12, atol=1e-16)
    np.testing.assert_allclose([ours.momentum(s) for s in range(total)], moms, rtol=1e-12)
    assert float(ours(total + 10)) == pytest.approx(lrs[-1], rel=1e-12)   # past the end: final rate (torch raises)


def test_one_cycle_drives_adam_like_torch(torch):
    """OneCycle as learning_rate= cycles Adam's beta_1; the trajectory matches torch Adam + OneCycleLR."""
    total = 30
    rs = np.random.default_rng(0)
    a, b, w0 = rs.uniform(0.5, 2, (3, 4)), rs.normal(size=(3, 4)), rs.normal(size=(3, 4))
    w = tf.Variable(w0.copy())
    opt = O.Adam(learning_rate=S.OneCycle(np.float64(0.25), total), epsilon=1e-12)
    p = torch.nn.Parameter(torch.tensor(w0.copy()))
    topt = torch.optim.Adam([p], lr=0.25, eps=1e-12)
    tsched = torch.optim.lr_scheduler.OneCycleLR(topt, 0.25, total_steps=total)
    for step in range(total):
        opt.apply_gradients([(tf.constant(a * w.numpy() + b), w)])
        p.grad = torch.tensor(a * p.detach().numpy() + b)
        topt.step()
        assert opt.beta_1 == pytest.approx(topt.param_groups[0]["betas"][0], rel=1e-12)
        tsched.step()
        np.testing.assert_allclose(w.numpy(), p.detach().numpy(), rtol=1e-9, atol=1e-10, err_msg=f"step {step}")


def test_one_cycle_momentum_cycling_on_sgd_and_without_momentum():
    sched = S.OneCycle(0.1, total_steps=10)
    opt = O.SGD(learning_rate=sched, momentum=0.9)
    w = tf.Variable(np.ones(2))
    for s in range(10):
        opt.apply_gradients([(tf.constant(np.ones(2)), w)])
        assert opt.momentum == pytest.approx(sched.momentum(s))
    plain = O.SGD(learning_rate=S.OneCycle(0.1, total_steps=10))     # no momentum: nothing to cycle
    plain.apply_gradients([(tf.constant(np.ones(2)), tf.Variable(np.ones(2)))])
    assert plain.momentum == 0.0
    off = O.SGD(learning_rate=S.OneCycle(0.1, total_steps=10, cycle_momentum=False), momentum=0.5)
    off.apply_gradients([(tf.constant(np.ones(2)), tf.Variable(np.ones(2)))])
    assert off.momentum == 0.5
    with pytest.raises(ValueError, match="total_steps"):
        S.OneCycle(0.1, total_steps=0)


# -- CosineDecayRestarts (Keras) vs torch CosineAnnealingWarmRestarts where they coincide ------------------------
@pytest.mark.parametrize("t0,t_mult,eta_min", [(10, 1, 0.0), (5, 2, 0.001), (3, 3, 0.01)])
def test_keras_cosine_restarts_matches_torch_warm_restarts(torch, t0, t_mult, eta_min):
    base = 0.1
    ours = S.CosineDecayRestarts(np.float64(base), t0, t_mul=float(t_mult), m_mul=1.0, alpha=eta_min / base)
    lrs, _ = _torch_lrs(torch, lambda o: torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(
        o, T_0=t0, T_mult=t_mult, eta_min=eta_min), 60, lambda ps: torch.optim.SGD(ps, lr=base))
    np.testing.assert_allclose([float(ours(s)) for s in range(60)], lrs, rtol=1e-9, atol=1e-12)


# -- StepDecay --------------------------------------------------------------------------------------------------
def test_step_decay_matches_torch_and_closed_form(torch):
    ours = S.StepDecay(np.float64(0.3), step_size=7, gamma=0.5)
    lrs, _ = _torch_lrs(torch, lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7, gamma=0.5), 40,
                        lambda ps: torch.optim.SGD(ps, lr=0.3))
    np.testing.assert_allclose([float(ours(s)) for s in range(40)], lrs, rtol=1e-12)
    floor = S.StepDecay(1.0, step_size=1, gamma=0.1, min_learning_rate=1e-3)
    assert float(floor(10)) == pytest.approx(1e-3)
    assert float(S.StepDecay(1.0, 3)(tf.Variable(np.int64(6)))) == pytest.approx(0.01)


# -- LinearWarmup -----------------------------------------------------------------------------------------------
def test_linear_warmup_closed_forms():
    inner = S.CosineDecay(np.float64(1.0), decay_steps=20)
    lr = S.LinearWarmup(inner, warmup_steps=5, initial_learning_rate=0.1)
    target = float(inner(5))
    for s in range(5):
        assert float(lr(s)) == pytest.approx(0.1 + (target - 0.1) * s / 5, rel=1e-12)
    for s in (5, 9, 30):
        assert float(lr(s)) == pytest.approx(float(inner(s)), rel=1e-12)
    shifted = S.LinearWarmup(inner, warmup_steps=5, offset=True)
    assert float(shifted(5)) == pytest.approx(1.0) and float(shifted(15)) == pytest.approx(float(inner(10)))
    assert float(shifted(2)) == pytest.approx(0.4)
    const = S.LinearWarmup(0.5, warmup_steps=4)
    assert [float(const(s)) for s in (0, 1, 4, 100)] == pytest.approx([0.0, 0.125, 0.5, 0.5])
    assert float(S.LinearWarmup(0.5, warmup_steps=0)(0)) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="warmup_steps"):
        S.LinearWarmup(0.5, warmup_steps=-1)


def test_linear_warmup_large_batch_recipe_and_forwarded_momentum():
    lr = S.LinearWarmup.for_batch_size(0.1, batch_size=1024, base_batch_size=256, warmup_steps=10,
                                       after=S.StepDecay(0.1, 30, 0.1))
    assert float(lr(0)) == pytest.approx(0.1) and float(lr(5)) == pytest.approx(0.25)
    assert float(lr(10)) == pytest.approx(0.4) and float(lr(31)) == pytest.approx(0.04)
    cyc = S.OneCycle(0.1, total_steps=20)
    opt = O.SGD(learning_rate=S.LinearWarmup(cyc, warmup_steps=3, offset=True), momentum=0.9)
    w = tf.Variable(np.ones(2))
    for s in range(6):
        opt.apply_gradients([(tf.constant(np.ones(2)), w)])
        assert opt.momentum == pytest.approx(cyc.momentum(max(s - 3, 0)))


# -- serialization, optimizers and LearningRateScheduler-style calls ----------------------------------------------
ALL = [S.CyclicalLearningRate(0.01, 0.1, step_size=4, mode="exp_range", gamma=0.99, cycle_momentum=True),
       S.OneCycle(0.3, total_steps=50, three_phase=True, anneal_strategy="linear"),
       S.StepDecay(0.1, 10, gamma=0.3, min_learning_rate=1e-4),
       S.LinearWarmup(S.OneCycle(0.3, total_steps=50), warmup_steps=5, initial_learning_rate=0.01, scale=2.0),
       S.LinearWarmup(0.2, warmup_steps=5)]


@pytest.mark.parametrize("sched", ALL, ids=lambda s: type(s).__name__)
def test_round_trips(sched):
    import json
    cfg = json.loads(json.dumps(S.serialize(sched)))
    again = S.deserialize(cfg)
    assert type(again) is type(sched)
    assert type(sched).from_config(sched.get_config()).get_config() == sched.get_config()
    for s in (0, 3, 7, 26, 49):
        assert float(again(s)) == pytest.approx(float(sched(s)), rel=1e-7)
    opt = O.SGD(learning_rate=sched, momentum=0.9)
    opt2 = O.deserialize(json.loads(json.dumps(O.serialize(opt))))
    assert type(opt2._learning_rate) is type(sched)
    assert float(opt2.learning_rate) == pytest.approx(float(sched(0)))
    assert float(sched(4, 0.123)) == float(sched(4))     # schedule(epoch, lr), as LearningRateScheduler calls it


def test_inside_learning_rate_scheduler_callback():
    callbacks = tf.keras.callbacks
    sched = S.StepDecay(0.1, step_size=1, gamma=0.5)
    model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
    model.compile(optimizer=O.SGD(0.1), loss="mse")
    seen = []

    class Record(callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            seen.append(float(self.model.optimizer.learning_rate))
    model.fit(np.ones((4, 2), "float32"), np.ones((4, 1), "float32"), epochs=3, verbose=0,
              callbacks=[callbacks.LearningRateScheduler(sched), Record()])
    assert seen == pytest.approx([0.1, 0.05, 0.025])
