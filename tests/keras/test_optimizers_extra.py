"""Optimizers beyond Keras: RAdam and L-BFGS step for step against torch.optim; AdaBelief, LARS and K-FAC
against their papers' equations written out in NumPy; gradient-noise statistics."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow.backend import rng
from tapeflow.keras import optimizers as O

# A small non-convex problem shared by the torch comparisons: f(W1, w2) = mean((tanh(X W1) w2 - y)^2) + 0.01 |W1|^2
_R = np.random.default_rng(0)
_X = _R.normal(size=(16, 3))
_Y = _R.normal(size=(16, 1))
_W1 = _R.normal(size=(3, 4)) * 0.5
_W2 = _R.normal(size=(4, 1)) * 0.5


def _tf_problem():
    w1, w2 = tf.Variable(_W1.copy()), tf.Variable(_W2.copy())
    x, y = tf.constant(_X), tf.constant(_Y)

    def loss():
        r = tf.matmul(tf.tanh(tf.matmul(x, w1)), w2) - y
        return tf.reduce_mean(r * r) + 0.01 * tf.reduce_sum(w1 * w1)
    return [w1, w2], loss


def _torch_problem(torch):
    w1 = torch.nn.Parameter(torch.tensor(_W1.copy()))
    w2 = torch.nn.Parameter(torch.tensor(_W2.copy()))
    x, y = torch.tensor(_X), torch.tensor(_Y)

    def loss():
        r = torch.tanh(x @ w1) @ w2 - y
        return (r * r).mean() + 0.01 * (w1 * w1).sum()
    return [w1, w2], loss


# -- RAdam ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("weight_decay", [None, 0.125])
def test_radam_matches_torch_for_50_steps(torch, weight_decay):
    ours, loss = _tf_problem()
    theirs, tloss = _torch_problem(torch)
    opt = O.RAdam(learning_rate=0.0625, beta_1=0.9, beta_2=0.99, epsilon=1e-8, weight_decay=weight_decay)
    topt = torch.optim.RAdam(theirs, lr=0.0625, betas=(0.9, 0.99), eps=1e-8, weight_decay=weight_decay or 0.0,
                             decoupled_weight_decay=True)
    for step in range(50):  # with beta_2 = 0.99, rho_t <= 5 for the first steps: both branches are covered
        opt.minimize(loss, ours)
        topt.zero_grad()
        tloss().backward()
        topt.step()
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-10, atol=1e-12, err_msg=f"step {step}")


def test_radam_first_steps_are_momentum_steps():
    w = tf.Variable(np.zeros(3))
    opt = O.RAdam(learning_rate=0.125)
    g = np.array([1.0, -2.0, 0.5])
    m = np.zeros(3)
    for t in range(1, 4):  # rho_t <= 5: w -= lr * m_hat
        opt.apply_gradients([(tf.constant(g), w)])
        m = 0.9 * m + 0.1 * g
        if t == 1:
            expected = -0.125 * m / (1 - 0.9)
        else:
            expected = expected - 0.125 * m / (1 - 0.9 ** t)
        np.testing.assert_allclose(w.numpy(), expected, rtol=1e-12)


# -- AdaBelief (Zhuang et al. 2020, Algorithm 2) -------------------------------------------------------------
def _adabelief_reference(w, grads, lr, b1, b2, eps, amsgrad=False):
    m, s, s_max, out = np.zeros_like(w), np.zeros_like(w), np.zeros_like(w), []
    for t, g in enumerate(grads, start=1):
        m = b1 * m + (1 - b1) * g
        s = b2 * s + (1 - b2) * (g - m) ** 2 + eps
        s_max = np.maximum(s_max, s)
        s_use = s_max if amsgrad else s
        w = w - lr * (m / (1 - b1 ** t)) / (np.sqrt(s_use / (1 - b2 ** t)) + eps)
        out.append(w)
    return out


@pytest.mark.parametrize("amsgrad", [False, True])
def test_adabelief_matches_paper_equations(amsgrad):
    grads = [np.array([0.5, -1.0, 2.0]), np.array([0.1, 0.3, -1.0]), np.array([-0.7, 0.2, 0.4]),
             np.array([0.3, -0.3, 0.0])]
    w0 = np.array([1.0, -2.0, 0.5])
    expected = _adabelief_reference(w0, grads, 0.125, 0.8, 0.95, 1e-8, amsgrad)
    w = tf.Variable(w0.copy())
    opt = O.AdaBelief(learning_rate=0.125, beta_1=0.8, beta_2=0.95, epsilon=1e-8, amsgrad=amsgrad)
    for g, e in zip(grads, expected):
        opt.apply_gradients([(tf.constant(g), w)])
        np.testing.assert_allclose(w.numpy(), e, rtol=1e-12)


def test_adabelief_converges():
    ws, loss = _tf_problem()
    opt = O.AdaBelief(learning_rate=0.05)
    first = float(loss())
    for _ in range(300):
        opt.minimize(loss, ws)
    assert float(loss()) < 0.5 * first


# -- LARS (You et al. 2017, Algorithm 1) ----------------------------------------------------------------------
def test_lars_matches_paper_equations_with_exclusions():
    k0, b0 = np.array([[1.0, -2.0], [0.5, 3.0]]), np.array([0.1, -0.2])
    kv, bv = tf.Variable(k0.copy(), name="kernel"), tf.Variable(b0.copy(), name="bias")
    lr, mom, wd, eta = 0.5, 0.9, 0.01, 0.02
    opt = O.LARS(learning_rate=lr, momentum=mom, weight_decay_rate=wd, trust_coefficient=eta,
                 exclude_from_layer_adaptation=["bias"])
    vk, vb, k, b = np.zeros_like(k0), np.zeros_like(b0), k0.copy(), b0.copy()
    for step in range(4):
        gk = np.array([[0.3, -0.1], [0.2, 0.4]]) * (step + 1)
        gb = np.array([1.0, -1.0]) / (step + 1)
        opt.apply_gradients([(tf.constant(gk), kv), (tf.constant(gb), bv)])
        local = eta * np.linalg.norm(k) / (np.linalg.norm(gk) + wd * np.linalg.norm(k))
        vk = mom * vk + lr * local * (gk + wd * k)
        k = k - vk
        vb = mom * vb + lr * gb               # excluded: no trust ratio, no weight decay
        b = b - vb
        np.testing.assert_allclose(kv.numpy(), k, rtol=1e-12)
        np.testing.assert_allclose(bv.numpy(), b, rtol=1e-12)


def test_lars_trust_ratio_edge_cases_and_nesterov():
    opt = O.LARS(trust_coefficient=0.1)
    assert opt.trust_ratio(np.zeros(3), np.ones(3)) == 1.0
    assert opt.trust_ratio(np.ones(3), np.zeros(3)) == 1.0
    w = tf.Variable(np.array([3.0, 4.0]))
    opt = O.LARS(learning_rate=1.0, momentum=0.5, trust_coefficient=0.1, nesterov=True)
    g = np.array([0.0, 10.0])
    opt.apply_gradients([(tf.constant(g), w)])
    step = 1.0 * 0.1 * 5.0 / 10.0 * g                   # lr * local_lr * g
    np.testing.assert_allclose(w.numpy(), [3.0, 4.0] - step - 0.5 * step, rtol=1e-12)


def test_lars_converges():
    ws, loss = _tf_problem()
    opt = O.LARS(learning_rate=2.0, momentum=0.9, trust_coefficient=0.02)
    first = float(loss())
    for _ in range(200):
        opt.minimize(loss, ws)
    assert float(loss()) < 0.5 * first


# -- L-BFGS ---------------------------------------------------------------------------------------------------
_ROSEN0 = np.array([-1.5, 2.0, -1.0, 0.5, 1.2, -0.8])


def _rosenbrock_tf():
    w = tf.Variable(_ROSEN0.copy())

    def loss():
        a, b = w[:-1], w[1:]
        return tf.reduce_sum(100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2)
    return [w], loss


def _rosenbrock_torch(torch):
    w = torch.nn.Parameter(torch.tensor(_ROSEN0.copy()))

    def loss():
        a, b = w[:-1], w[1:]
        return (100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2).sum()
    return [w], loss


@pytest.mark.parametrize("line_search", [None, "strong_wolfe"])
def test_lbfgs_matches_torch_for_50_steps(torch, line_search):
    """6-d Rosenbrock (the ill-conditioned classic; a chaotic problem would amplify round-off instead)."""
    ours, loss = _rosenbrock_tf()
    theirs, tloss = _rosenbrock_torch(torch)
    kw = dict(max_iter=2, max_eval=20, history_size=10, line_search_fn=line_search, tolerance_grad=1e-12,
              tolerance_change=1e-14)
    lr = 1.0 if line_search else 0.25                 # exactly representable: our lr Variable is float32
    opt = O.LBFGS(learning_rate=lr, **kw)
    topt = torch.optim.LBFGS(theirs, lr=lr, **kw)

    def closure():
        topt.zero_grad()
        out = tloss()
        out.backward()
        return out
    for step in range(50):
        ours_loss = opt.minimize(loss, ours)
        theirs_loss = float(topt.step(closure).detach())
        np.testing.assert_allclose(ours_loss, theirs_loss, rtol=1e-9, atol=1e-12, err_msg=f"loss, step {step}")
        np.testing.assert_allclose(ours[0].numpy(), theirs[0].detach().numpy(), rtol=1e-9, atol=1e-9,
                                   err_msg=f"step {step}")
    st, tst = opt.state, topt.state[theirs[0]]
    assert st["n_iter"] == tst["n_iter"] and st["func_evals"] == tst["func_evals"]
    assert int(opt.iterations) == tst["n_iter"]
    if line_search:
        assert float(loss()) < 1e-10                    # reached the minimum at (1, ..., 1)


def test_lbfgs_full_iterations_on_the_mlp_problem_match_torch(torch):
    ours, loss = _tf_problem()
    theirs, tloss = _torch_problem(torch)
    kw = dict(max_iter=10, history_size=10, line_search_fn="strong_wolfe")
    opt, topt = O.LBFGS(**kw), torch.optim.LBFGS(theirs, **kw)

    def closure():
        topt.zero_grad()
        out = tloss()
        out.backward()
        return out
    for step in range(3):
        opt.minimize(loss, ours)
        topt.step(closure)
        for a, b in zip(ours, theirs):
            np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-8, atol=1e-10, err_msg=f"step {step}")


def test_lbfgs_on_a_model_and_a_loss():
    tf.random.set_seed(0)
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(8, activation="tanh"),
                                 tf.keras.layers.Dense(1)])
    x = np.random.default_rng(1).normal(size=(64, 3)).astype("float32")
    y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2]).astype("float32")
    loss_fn = tf.keras.losses.MeanSquaredError()
    opt = O.LBFGS(line_search_fn="strong_wolfe", max_iter=50)
    first = float(loss_fn(y, model(x)))
    for _ in range(4):
        opt.minimize(lambda: loss_fn(y, model(x)), model.trainable_variables)
    assert float(loss_fn(y, model(x))) < 0.05 * first


def test_lbfgs_closure_with_own_gradients_and_errors():
    w = tf.Variable(np.array([3.0, -1.0]))
    target = np.array([1.0, 2.0])

    def closure():  # returns (loss, grads) itself
        d = w.numpy() - target
        return float(d @ d), [2 * d]
    opt = O.LBFGS(line_search_fn="strong_wolfe")
    opt.step(closure, [w])
    np.testing.assert_allclose(w.numpy(), target, atol=1e-6)
    assert opt.step(closure) < 1e-10                   # already optimal: one evaluation, no move
    with pytest.raises(TypeError, match="minimize"):
        opt.apply_gradients([(tf.constant([1.0, 1.0]), w)])
    with pytest.raises(ValueError, match="line_search_fn"):
        O.LBFGS(line_search_fn="armijo")
    with pytest.raises(ValueError, match="does not support"):
        O.LBFGS(clipnorm=1.0)
    cfg = O.serialize(O.LBFGS(history_size=7, line_search_fn="strong_wolfe"))
    again = O.deserialize(cfg)
    assert isinstance(again, O.LBFGS) and again.history_size == 7 and again.line_search_fn == "strong_wolfe"


# -- K-FAC -----------------------------------------------------------------------------------------------------
def _mlp(seed=0, units=(4, 2), activation="tanh"):
    tf.random.set_seed(seed)
    layers = [tf.keras.Input((3,)), tf.keras.layers.Dense(units[0], activation=activation)]
    layers += [tf.keras.layers.Dense(u) for u in units[1:]]
    return tf.keras.Sequential(layers)


def test_kfac_single_example_matches_dense_inverse_formula():
    """With one example, A = a a^T and G = g g^T (the exact Fisher block is A (x) G); the update must be
    (A + lambda I)^-1 grad (G + lambda I)^-1 in Keras layout (the transpose of (G + lI)^-1 grad_W (A + lI)^-1)."""
    tf.random.set_seed(3)
    model = tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Dense(2)])
    model.layers[0].kernel.assign(np.array([[0.5, -1.0], [0.25, 0.75], [-0.5, 0.1]], "float64").astype("float32"))
    x = np.array([[1.0, -2.0, 0.5]], "float32")
    y = np.array([[0.3, -0.4]], "float32")
    lam, lr = 0.1, 0.5
    opt = O.KFAC(model, learning_rate=lr, damping=lam, damping_mode="simple", momentum=0.0)
    kernel0 = model.layers[0].kernel.numpy().astype(np.float64)
    bias0 = model.layers[0].bias.numpy().astype(np.float64)
    opt.train_step(x, y, tf.keras.losses.MeanSquaredError())
    a = np.append(x[0].astype(np.float64), 1.0)                 # input with the bias' ones column
    z = a[:3] @ kernel0 + bias0
    g = 2 * (z - y[0]) / 2                                       # d mean((z - y)^2) / dz, one example
    f = next(iter(opt.factors.values()))
    np.testing.assert_allclose(f["A"], np.outer(a, a), rtol=1e-6)
    np.testing.assert_allclose(f["G"], np.outer(g, g), rtol=1e-5)
    grad_w = np.outer(a, g)                                      # [dK; db], (in + 1, out)
    update = np.linalg.inv(np.outer(a, a) + lam * np.eye(4)) @ grad_w @ np.linalg.inv(np.outer(g, g) + lam * np.eye(2))
    torch_layout = np.linalg.inv(np.outer(g, g) + lam * np.eye(2)) @ grad_w.T @ np.linalg.inv(np.outer(a, a) + lam * np.eye(4))
    np.testing.assert_allclose(update, torch_layout.T, rtol=1e-10)
    np.testing.assert_allclose(model.layers[0].kernel.numpy(), kernel0 - lr * update[:3], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.layers[0].bias.numpy(), bias0 - lr * update[3], rtol=1e-5, atol=1e-6)


def test_kfac_matches_hand_computed_steps_with_running_averages():
    model = _mlp(seed=1)
    d1, d2 = model.layers
    rs = np.random.default_rng(5)
    x = rs.normal(size=(6, 3)).astype("float32")
    y = rs.normal(size=(6, 2)).astype("float32")
    lr, lam, decay = 0.2, 0.05, 0.5
    opt = O.KFAC(model, learning_rate=lr, damping=lam, damping_mode="factored", momentum=0.5, cov_ema_decay=decay,
                 inv_update_interval=2)
    p = [v.numpy().astype(np.float64) for v in (d1.kernel, d1.bias, d2.kernel, d2.bias)]
    vel = [np.zeros_like(q) for q in p]
    facs, invs = None, None
    n = x.shape[0]
    for step in range(3):
        k1, b1, k2, b2 = p
        a0 = np.hstack([x, np.ones((n, 1))])
        h = np.tanh(x @ k1 + b1)
        a1 = np.hstack([h, np.ones((n, 1))])
        z2 = h @ k2 + b2
        dz2 = 2 * (z2 - y) / z2.size
        dz1 = (dz2 @ k2.T) * (1 - h ** 2)
        batch = [(a0.T @ a0 / n, n * dz1.T @ dz1), (a1.T @ a1 / n, n * dz2.T @ dz2)]
        facs = batch if facs is None else [(decay * A + (1 - decay) * Ab, decay * G + (1 - decay) * Gb)
                                           for (A, G), (Ab, Gb) in zip(facs, batch)]
        if step % 2 == 0:                                         # inverses refreshed every 2 steps
            invs = []
            for A, G in facs:
                pi = np.sqrt((np.trace(A) / len(A)) / (np.trace(G) / len(G)))
                invs.append((np.linalg.inv(A + pi * np.sqrt(lam) * np.eye(len(A))),
                             np.linalg.inv(G + np.sqrt(lam) / pi * np.eye(len(G)))))
        pre = [invs[0][0] @ (a0.T @ dz1) @ invs[0][1], invs[1][0] @ (a1.T @ dz2) @ invs[1][1]]
        steps = [pre[0][:-1], pre[0][-1], pre[1][:-1], pre[1][-1]]
        vel = [0.5 * v - lr * s for v, s in zip(vel, steps)]
        p = [q + v for q, v in zip(p, vel)]
        opt.train_step(x, y, tf.keras.losses.MeanSquaredError())
        for ours, ref in zip((d1.kernel, d1.bias, d2.kernel, d2.bias), p):
            np.testing.assert_allclose(ours.numpy(), ref, rtol=2e-4, atol=2e-5, err_msg=f"step {step}")
        for (A, G), f in zip(facs, opt.factors.values()):
            np.testing.assert_allclose(f["A"], A, rtol=1e-5, atol=1e-7)
            np.testing.assert_allclose(f["G"], G, rtol=1e-4, atol=1e-8)


def test_kfac_converges_faster_than_sgd_on_a_regression():
    rs = np.random.default_rng(2)
    x = rs.normal(size=(128, 3)).astype("float32")
    y = np.stack([np.sin(x[:, 0]) + x[:, 1] * x[:, 2], np.cos(x[:, 1])], axis=1).astype("float32")
    loss_fn = tf.keras.losses.MeanSquaredError()
    results = {}
    for name in ("kfac", "sgd"):
        model = _mlp(seed=4, units=(16, 2))
        if name == "kfac":
            opt = O.KFAC(model, learning_rate=0.2, damping=0.03, momentum=0.5, inv_update_interval=5, kl_clip=0.01)
            for _ in range(60):
                opt.train_step(x, y, loss_fn)
        else:
            opt = O.SGD(learning_rate=0.2, momentum=0.5)
            for _ in range(60):
                opt.minimize(lambda: loss_fn(y, model(x)), model.trainable_variables)
        results[name] = float(loss_fn(y, model(x)))
    assert results["kfac"] < 0.6 * results["sgd"], results


def test_kfac_config_and_errors():
    model = _mlp()
    opt = O.KFAC(model, damping=0.01, inv_update_interval=3, learning_rate=O.schedules.StepDecay(0.1, 10))
    cfg = opt.get_config()
    again = O.KFAC.from_config(cfg, model=model)
    assert again.inv_update_interval == 3 and isinstance(again._learning_rate, O.schedules.StepDecay)
    with pytest.raises(ValueError, match="model="):
        O.KFAC.from_config(cfg)
    with pytest.raises(ValueError, match="damping_mode"):
        O.KFAC(model, damping_mode="eigen")
    with pytest.raises(ValueError, match="no trainable Dense"):
        O.KFAC(tf.keras.Sequential([tf.keras.Input((3,)), tf.keras.layers.Activation("relu")])).train_step(
            np.ones((2, 3), "float32"), np.ones((2, 3), "float32"), tf.keras.losses.MeanSquaredError())
    assert "call" not in model.layers[0].__dict__       # the capture hook is removed after the step


# -- gradient noise (Neelakantan et al. 2015) -------------------------------------------------------------------
def test_gradient_noise_statistics_and_schedule():
    n, eta, gamma = 200_000, 0.3, 0.55
    w = tf.Variable(np.zeros(n))
    opt = O.SGD(learning_rate=1.0, gradient_noise_eta=eta, gradient_noise_seed=7)
    zero = np.zeros(n)
    prev = w.numpy()
    for t in range(4):
        expected_std = np.sqrt(eta / (1 + t) ** gamma)
        assert opt.gradient_noise_stddev() == pytest.approx(expected_std)
        g = zero.copy()
        opt.apply_gradients([(tf.constant(g), w)])
        noise = prev - w.numpy()                            # lr = 1, gradient 0: the step is the noise
        prev = w.numpy()
        assert abs(noise.mean()) < 4 * expected_std / np.sqrt(n)
        assert noise.std() == pytest.approx(expected_std, rel=0.01)
        kurt = np.mean((noise / noise.std()) ** 4)
        assert kurt == pytest.approx(3.0, abs=0.1)          # Gaussian
        np.testing.assert_array_equal(g, zero)              # the caller's gradient is untouched


def test_gradient_noise_is_seeded_and_serializable():
    def run(seed_global, op_seed):
        rng.set_seed(seed_global)
        w = tf.Variable(np.ones(5, "float32"))
        opt = O.Adam(learning_rate=0.1, gradient_noise_eta=1.0, gradient_noise_seed=op_seed)
        for _ in range(3):
            opt.apply_gradients([(tf.constant(np.ones(5, "float32")), w)])
        return w.numpy()
    np.testing.assert_array_equal(run(1, None), run(1, None))
    np.testing.assert_array_equal(run(1, 5), run(1, 5))
    assert not np.array_equal(run(1, None), run(2, None))
    cfg = O.Adam(gradient_noise_eta=0.5, gradient_noise_gamma=0.6).get_config()
    again = O.Adam.from_config(cfg)
    assert again.gradient_noise_eta == 0.5 and again.gradient_noise_gamma == 0.6
    assert "gradient_noise_eta" not in O.Adam().get_config()
    with pytest.raises(ValueError, match="gradient_noise_eta"):
        O.SGD(gradient_noise_eta=-1.0)


# -- registry --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name,cls", [("radam", O.RAdam), ("adabelief", O.AdaBelief), ("lars", O.LARS),
                                      ("lbfgs", O.LBFGS)])
def test_get_and_round_trip(name, cls):
    opt = O.get(name)
    assert isinstance(opt, cls)
    again = O.deserialize(O.serialize(opt))
    assert type(again) is cls and again.get_config() == opt.get_config()
    assert tf.keras.optimizers.get(name.upper()).__class__ is cls
