"""3-D convolution / pooling ops and layers: PyTorch oracle (values and gradients), Keras 3.15.1 literals."""
import numpy as np
import pytest

import tapeflow as tf
from tapeflow import keras
from tapeflow.keras import layers

rng = np.random.default_rng(3)


@pytest.fixture(autouse=True)
def _fresh():
    keras.backend.clear_session()
    tf.random.set_seed(0)
    yield


def rand(*shape):
    return rng.standard_normal(shape)


def _same(n, k, s, d=1):
    """TF's SAME (before, after) padding of one axis (may be asymmetric)."""
    ke = (k - 1) * d + 1
    total = max((-(-n // s) - 1) * s + ke - n, 0)
    return total // 2, total - total // 2


def _torch_pad(torch, x_ncdhw, pads, value=0.0):
    flat = [v for pair in reversed(pads) for v in pair]  # F.pad lists the last axis first
    return torch.nn.functional.pad(x_ncdhw, flat, value=value)


def _tape(fn, x, *params):
    """Value and d<fn(x, ...), r>/d(x, params) with a fixed random cotangent r (as _torch below)."""
    ts = [tf.constant(a) for a in (x,) + params]
    with tf.GradientTape() as tape:
        for t in ts:
            tape.watch(t)
        y = fn(*ts)
        r = np.random.default_rng(5).standard_normal(tuple(y.shape))
        loss = tf.reduce_sum(y * tf.constant(r))
    return y.numpy(), [g.numpy() for g in tape.gradient(loss, ts)]


def _torch(torch, fn, x, *params):
    ts = [torch.tensor(a, requires_grad=True) for a in (x,) + params]
    y = fn(*ts)
    r = np.random.default_rng(5).standard_normal(tuple(y.shape))
    (y * torch.tensor(r)).sum().backward()
    return y.detach().numpy(), [t.grad.numpy() for t in ts]


def _close(ours, theirs, tol=1e-10):
    (y, gs), (ty, tgs) = ours, theirs
    np.testing.assert_allclose(y, ty, rtol=tol, atol=tol)
    for g, tg in zip(gs, tgs):
        np.testing.assert_allclose(g, tg, rtol=tol, atol=tol)


# -- PyTorch oracle: tf.nn ops, float64 --------------------------------------------------------
# TF layouts: x NDHWC, conv3d filters (kd, kh, kw, in, out); torch: NCDHW, weight (out, in/groups, kd, kh, kw).
@pytest.mark.parametrize("xs,k,cout,s,d,padding", [
    ((2, 5, 6, 7, 3), (3, 2, 3), 4, (1, 1, 1), (1, 1, 1), "VALID"),
    ((2, 5, 6, 7, 3), (2, 2, 4), 4, (2, 2, 2), (1, 1, 1), "SAME"),       # even kernel, stride 2: asymmetric pads
    ((1, 7, 6, 8, 2), (3, 3, 2), 3, (1, 1, 1), (2, 2, 2), "SAME"),       # dilation 2
    ((1, 6, 5, 7, 2), (2, 3, 3), 2, (2, 1, 3), (1, 1, 1), "VALID"),      # mixed strides
    ((1, 4, 5, 5, 4), (2, 2, 2), 6, (1, 2, 1), (1, 1, 1), "SAME"),       # groups = 4 // 2
])
def test_conv3d_matches_torch(torch, xs, k, cout, s, d, padding):
    F = torch.nn.functional
    cin = xs[-1]
    cg = 2 if cout == 6 else cin
    x, w = rand(*xs), rand(*k, cg, cout)
    pads = [_same(xs[1 + i], k[i], s[i], d[i]) if padding == "SAME" else (0, 0) for i in range(3)]
    ours = _tape(lambda a, b: tf.nn.conv3d(a, b, [1, *s, 1], padding, dilations=[1, *d, 1]), x, w)
    theirs = _torch(torch, lambda a, b: F.conv3d(_torch_pad(torch, a.permute(0, 4, 1, 2, 3), pads),
                                                 b.permute(4, 3, 0, 1, 2), stride=s, dilation=d,
                                                 groups=cin // cg).permute(0, 2, 3, 4, 1), x, w)
    _close(ours, theirs)


def test_conv3d_ncdhw_matches_torch(torch):
    F = torch.nn.functional
    x, w = rand(2, 3, 4, 5, 6), rand(2, 3, 2, 3, 4)
    pads = [_same(4, 2, 2), _same(5, 3, 1), _same(6, 2, 2)]
    ours = _tape(lambda a, b: tf.nn.conv3d(a, b, [1, 1, 2, 1, 2], "SAME", data_format="NCDHW"), x, w)
    theirs = _torch(torch, lambda a, b: F.conv3d(_torch_pad(torch, a, pads), b.permute(4, 3, 0, 1, 2),
                                                 stride=(2, 1, 2)), x, w)
    _close(ours, theirs)


# conv3d_transpose filters (kd, kh, kw, out, in); torch conv_transpose3d weight (in, out, kd, kh, kw). TF's output
# of size o with pads (pb, pa) is torch's full output (with output_padding covering the unreached tail) cropped
# by pb at the start.
@pytest.mark.parametrize("xs,k,oshape,s,d,padding", [
    ((2, 3, 2, 3, 3), (3, 2, 3), (2, 6, 4, 6, 2), (2, 2, 2), (1, 1, 1), "SAME"),
    ((1, 2, 3, 2, 2), (2, 2, 2), (1, 4, 7, 4, 3), (2, 3, 2), (1, 1, 1), "SAME"),   # even kernel
    ((1, 3, 3, 2, 2), (3, 2, 2), (1, 5, 5, 4, 2), (1, 1, 1), (1, 2, 2), "VALID"),   # dilation 2
    ((1, 2, 2, 2, 1), (3, 3, 3), (1, 6, 6, 6, 2), (2, 2, 2), (1, 1, 1), "VALID"),   # output_padding 1
])
def test_conv3d_transpose_matches_torch(torch, xs, k, oshape, s, d, padding):
    F = torch.nn.functional
    x, w = rand(*xs), rand(*k, oshape[-1], xs[-1])
    pads = [_same(oshape[1 + i], k[i], s[i], d[i]) if padding == "SAME" else (0, 0) for i in range(3)]
    full = [(xs[1 + i] - 1) * s[i] + (k[i] - 1) * d[i] + 1 for i in range(3)]
    extra = [oshape[1 + i] + sum(pads[i]) - full[i] for i in range(3)]

    def fn(a, b):
        y = F.conv_transpose3d(a.permute(0, 4, 1, 2, 3), b.permute(4, 3, 0, 1, 2), stride=s, dilation=d,
                               output_padding=tuple(extra))
        y = y[:, :, pads[0][0]:pads[0][0] + oshape[1], pads[1][0]:pads[1][0] + oshape[2],
              pads[2][0]:pads[2][0] + oshape[3]]
        return y.permute(0, 2, 3, 4, 1)
    ours = _tape(lambda a, b: tf.nn.conv3d_transpose(a, b, list(oshape), [1, *s, 1], padding,
                                                     dilations=[1, *d, 1]), x, w)
    _close(ours, _torch(torch, fn, x, w))


def _distinct(*shape):
    n = int(np.prod(shape))
    return (rng.permutation(n) * 0.01 - n * 0.005).reshape(shape)


@pytest.mark.parametrize("xs,k,s,padding", [
    ((2, 4, 6, 5, 3), (2, 2, 2), (2, 2, 2), "VALID"),
    ((1, 5, 6, 7, 2), (3, 2, 3), (2, 2, 2), "SAME"),     # asymmetric SAME pads
    ((1, 5, 4, 6, 2), (2, 3, 2), (1, 1, 2), "SAME"),     # even window, stride 1
    ((1, 5, 7, 5, 2), (3, 3, 3), (2, 3, 1), "VALID"),
])
def test_pool3d_matches_torch(torch, xs, k, s, padding):
    F = torch.nn.functional
    x = _distinct(*xs)  # no ties: torch and TF may route a tied maximum's gradient differently
    pads = [_same(xs[1 + i], k[i], s[i]) if padding == "SAME" else (0, 0) for i in range(3)]

    def tmax(a):
        return F.max_pool3d(_torch_pad(torch, a.permute(0, 4, 1, 2, 3), pads, -np.inf), k, s).permute(0, 2, 3, 4, 1)

    def tavg(a):  # TF/Keras SAME: divide by the count of non-pad entries of each window
        a = a.permute(0, 4, 1, 2, 3)
        total = F.avg_pool3d(_torch_pad(torch, a, pads), k, s) * np.prod(k)
        count = F.avg_pool3d(_torch_pad(torch, torch.ones_like(a), pads), k, s) * np.prod(k)
        return (total / count).permute(0, 2, 3, 4, 1)
    _close(_tape(lambda a: tf.nn.max_pool3d(a, [1, *k, 1], [1, *s, 1], padding), x), _torch(torch, tmax, x), 1e-12)
    _close(_tape(lambda a: tf.nn.avg_pool3d(a, k, s, padding), x), _torch(torch, tavg, x), 1e-12)
    # channels_first gives the same numbers transposed
    xt = np.ascontiguousarray(x.transpose(0, 4, 1, 2, 3))
    for op in (tf.nn.max_pool3d, tf.nn.avg_pool3d):
        np.testing.assert_allclose(op(xt, k, s, padding, data_format="NCDHW").numpy(),
                                   op(x, k, s, padding).numpy().transpose(0, 4, 1, 2, 3), rtol=1e-12)


def test_layers_match_torch_with_weights(torch):
    F = torch.nn.functional
    x = rand(2, 4, 5, 6, 3)
    conv = layers.Conv3D(4, (2, 3, 2), strides=2, padding="same", activation="relu", dtype="float64")
    conv(x)
    k, b = rand(2, 3, 2, 3, 4), rand(4)
    conv.set_weights([k, b])
    pads = [_same(4, 2, 2), _same(5, 3, 2), _same(6, 2, 2)]
    theirs = _torch(torch, lambda a, w, bias: torch.relu(F.conv3d(_torch_pad(torch, a.permute(0, 4, 1, 2, 3), pads),
                                                                  w.permute(4, 3, 0, 1, 2), bias, stride=2))
                    .permute(0, 2, 3, 4, 1), x, k, b)
    _close(_layer_grads(conv, x), theirs)
    ct = layers.Conv3DTranspose(2, 3, strides=(1, 2, 2), dtype="float64")
    ct(x)
    k, b = rand(3, 3, 3, 2, 3), rand(2)
    ct.set_weights([k, b])
    theirs = _torch(torch, lambda a, w, bias: F.conv_transpose3d(a.permute(0, 4, 1, 2, 3), w.permute(4, 3, 0, 1, 2),
                                                                 bias, stride=(1, 2, 2)).permute(0, 2, 3, 4, 1),
                    x, k, b)
    _close(_layer_grads(ct, x), theirs)


def _layer_grads(layer, x):
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt)
        r = np.random.default_rng(5).standard_normal(tuple(y.shape))
        loss = tf.reduce_sum(y * tf.constant(r))
    return y.numpy(), [g.numpy() for g in tape.gradient(loss, [xt] + layer.trainable_weights)]


# -- Keras 3.15.1: outputs with fixed weights and inputs ---------------------------------------
# Printed by Keras 3.15.1 (TF backend, float32) with the inputs/weights of _kx/_kw below and bias
# [0.1, -0.2, 0.3, -0.4][:filters]. 'y' is the whole output when it has <= 64 entries, else y.ravel()[::5].
KERAS = {
    'conv_same_s': {'wshapes': [(2, 3, 2, 2, 2), (2,)], 'shape': (1, 3, 2, 4, 2), 'y': [-1.1032, -0.499, 1.1132,
        -1.7548, -1.7704, -0.6306, 0.2438, -0.4426, 1.5408, -1.4032, -1.6224, -0.7472, 1.1304, -1.2642, -0.6952,
        -0.5122, -1.9868, -1.0588, 1.0796, -1.8556, -1.396, 0.4586, 1.3142, 1.2442, 1.5216, -1.3792, -1.6416,
        -0.7232, 0.7372, -1.2232, -0.684, -0.2204, -0.9536, -0.6564, 0.5928, -1.0416, -0.6148, 0.3412, 0.9138,
        0.8829, 0.8066, -0.783, -0.7662, -0.4462, 0.415, -0.7044, -0.2864, -0.2322], 'sum': -16.7627},
    'conv_valid_dil': {'wshapes': [(2, 2, 2, 2, 3), (3,)], 'shape': (1, 2, 2, 3, 3), 'y': [-0.2332, 0.2418, 1.1868,
        0.2768, -0.89, 0.5252, -0.2842, -1.2228, 0.6626, 0.7868, 0.5328, 0.0888, 0.3788, 0.353, 0.3792, 0.3278,
        0.5302, 1.0266, 0.2768, 0.0968, -0.3832, 0.7018, 0.75, 0.7402, -0.4372, -0.1608, 0.2996, -0.2842, -1.1932,
        0.6778, 0.6508, 0.361, -0.6468, 0.6168, 0.1642, -0.7644], 'sum': 6.133},
    'conv_cf': {'wshapes': [(2, 2, 3, 2, 2), (2,)], 'shape': (1, 2, 3, 3, 4), 'y': [0.1428, -0.5836, -0.5812,
        1.0756, 0.6292, 0.6042, -0.2558, 0.2876, -0.8334, -0.662, 0.9172, 0.1392, 0.1932, -0.2782, -0.0414], 'sum':
        -1.427},
    'conv_groups': {'wshapes': [(2, 2, 2, 2, 4), (4,)], 'shape': (1, 2, 2, 2, 4), 'y': [0.351, 0.0264, 0.5172,
        -1.3602, -0.283, 0.4818, 0.6, -0.579, 0.863, 0.3726, -0.2544, 0.7454, -0.757, -0.549, 0.4064, 0.2346,
        -0.289, 0.453, 0.8204, 0.4006, 0.403, -0.4176, 0.2572, 0.5358, -0.593, -0.0168, 1.2388, -0.4348, -0.037,
        -0.6324, 0.6756, -0.6906], 'sum': 2.489},
    'tconv_same': {'wshapes': [(3, 2, 2, 2, 2), (2,)], 'shape': (1, 4, 4, 6, 2), 'y': [0.6161, -0.1387, 0.6781,
        -0.4655, -0.0423, -0.1717, -0.0803, -0.0913, 0.6005, 0.0221, 0.3701, -0.0887, 0.5915, -0.1337, 0.6787,
        -0.2097, 0.1457, -0.1755, -0.0545, -0.1039, 0.6908, -0.2876, 0.5368, -0.3356, -0.1548, -0.459, 0.602,
        0.3812, -0.1086, 0.2293, 0.3405, -0.0447, 0.5331, -0.1185, -0.0881, -0.1657, -0.1223, -0.1603, 0.6773],
        'sum': -10.0616},
    'tconv_valid': {'wshapes': [(2, 2, 2, 3, 1), (3,)], 'shape': (1, 3, 6, 3, 3), 'y': [0.5, 0.6772, -0.208,
        -0.1021, 0.3024, -0.0698, 0.0036, 0.2473, 0.2611, -0.0496, 0.0284, -0.3564, 0.2676, 0.4728, -0.3048, -0.188,
        -0.0394, -0.2086, 0.3908, 0.267, 0.1826, 0.0844, 0.1544, -0.2108, 0.1502, 0.3351, -0.0145, 0.2564, 0.2304,
        -0.345, 0.1455, 0.45, -0.2208], 'sum': 10.3776},
    'tconv_op': {'wshapes': [(3, 3, 3, 2, 1), (2,)], 'shape': (1, 6, 6, 6, 2), 'y': [0.5, 0.2761, 0.1, -0.576,
        0.272, -0.4158, -0.136, -0.2, 0.0558, -0.2527, 0.0688, -0.3085, 0.1, -0.2, 0.1, -0.144, 0.0312, 0.0, 0.1086,
        -0.2, 0.5858, -0.0146, 0.1012, -0.1349, 0.112, -0.1817, 0.1, -0.2, 0.1, -0.6316, -0.1062, -0.2, -0.3278,
        -0.2658, 0.4324, -0.1566, 0.14, 0.0068, 0.1, -0.1158, 0.2318, -0.2, 0.1, -0.2, -0.0122, -0.4535, 0.0864,
        -0.3365, -0.1312, -0.3794, 0.1, -0.2588, 0.1396, -0.2084, 0.1234, -0.2, 0.1, -0.2, 0.4672, 0.0145, 0.3448,
        -0.3047, 0.1, 0.0488, -0.208, -0.3652, 0.0748, -0.2, -0.0702, -0.2369, 0.1, -0.2, 0.1, -0.2, 0.1, -0.2, 0.1,
        -0.2, 0.1, -0.2, 0.1, -0.2, 0.1, -0.2, 0.1, -0.2, 0.1], 'sum': -23.6862},
    'avg_same': {'shape': (1, 2, 3, 4, 1), 'y': [-0.2125, -0.055, 0.1025, 0.075, 0.095, -0.10167, -0.015, 0.17,
        0.19, -0.0775, -0.1325, -0.16, 0.475, -0.005, -0.485, -0.3, 0.145, 0.23167, 0.035, -0.06333, -0.185, 0.185,
        0.555, 0.74], 'sum': 1.2067},
    'avg_valid_cf': {'shape': (1, 2, 2, 1, 2), 'y': [0.0075, -0.1025, -0.0375, 0.065, -0.0825, 0.2325, 0.085,
        0.1875], 'sum': 0.355},
    'max_same': {'shape': (1, 3, 2, 3, 2), 'y': [0.7, 0.77, 0.68, 0.85, 0.76, 0.83, 0.84, 0.71, 0.84, 0.71, 0.86,
        0.69, 0.7, 0.77, 0.72, 0.85, 0.72, 0.79, 0.8, 0.87, 0.78, 0.71, 0.86, 0.73, 0.64, 0.57, 0.72, 0.79, 0.72,
        0.79, 0.8, 0.87, 0.58, 0.65, 0.36, 0.73], 'sum': 26.76},
    'up': {'shape': (1, 2, 4, 6, 1), 'y': [-0.8, -0.8, -0.8, -0.43, -0.43, -0.43, -0.8, -0.8, -0.8, -0.43, -0.43,
        -0.43, -0.06, -0.06, -0.06, 0.31, 0.31, 0.31, -0.06, -0.06, -0.06, 0.31, 0.31, 0.31, 0.68, 0.68, 0.68,
        -0.65, -0.65, -0.65, 0.68, 0.68, 0.68, -0.65, -0.65, -0.65, -0.28, -0.28, -0.28, 0.09, 0.09, 0.09, -0.28,
        -0.28, -0.28, 0.09, 0.09, 0.09], 'sum': -6.84},
    'up_cf': {'shape': (1, 1, 4, 4, 4), 'y': [-0.8, -0.8, -0.43, -0.43, -0.8, -0.8, -0.43, -0.43, -0.06, -0.06,
        0.31, 0.31, -0.06, -0.06, 0.31, 0.31, -0.8, -0.8, -0.43, -0.43, -0.8, -0.8, -0.43, -0.43, -0.06, -0.06,
        0.31, 0.31, -0.06, -0.06, 0.31, 0.31, 0.68, 0.68, -0.65, -0.65, 0.68, 0.68, -0.65, -0.65, -0.28, -0.28,
        0.09, 0.09, -0.28, -0.28, 0.09, 0.09, 0.68, 0.68, -0.65, -0.65, 0.68, 0.68, -0.65, -0.65, -0.28, -0.28,
        0.09, 0.09, -0.28, -0.28, 0.09, 0.09], 'sum': -9.12},
    'crop': {'shape': (1, 2, 2, 2, 1), 'y': [0.61, -0.72, 0.39, 0.76, -0.05, 0.32, -0.27, 0.1], 'sum': 1.14},
    'crop_cf': {'shape': (1, 1, 1, 2, 3), 'y': [0.32, 0.69, -0.64, 0.47, 0.84, -0.49], 'sum': 1.19},
    'pad': {'shape': (1, 3, 3, 4, 1), 'y': [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -0.8,
        -0.43, 0.0, 0.0, -0.06, 0.31, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.68, -0.65, 0.0, 0.0, -0.28, 0.09, 0.0, 0.0,
        0.0, 0.0, 0.0], 'sum': -1.14},
    'pad_cf': {'shape': (1, 1, 4, 2, 6), 'y': [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0,
        -0.8, -0.43, 0.0, 0.0, 0.0, 0.0, -0.06, 0.31, 0.0, 0.0, 0.0, 0.0, 0.68, -0.65, 0.0, 0.0, 0.0, 0.0, -0.28,
        0.09, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 'sum': -1.14},
    'gap_keep': {'shape': (2, 1, 1, 1, 2), 'y': [0.01167, -0.04333, -0.03333, 0.05333], 'sum': -0.0117},
    'gmp_cf': {'shape': (2, 2), 'y': [0.83, 0.76, 0.84, 0.77], 'sum': 3.2},
}


def _kx(shape):
    n = int(np.prod(shape))
    return ((np.arange(n) * 0.37) % 1.7 - 0.8).reshape(shape).astype("float32")


def _kw(shape):
    n = int(np.prod(shape))
    return ((np.arange(n) * 0.23) % 1.1 - 0.5).reshape(shape).astype("float32")


def _check(key, y):
    e = KERAS[key]
    y = np.asarray(y)
    assert y.shape == e["shape"]
    np.testing.assert_allclose(y.ravel() if y.size <= 64 else y.ravel()[::5], e["y"], atol=2e-4)
    np.testing.assert_allclose(y.sum(), e["sum"], atol=2e-3)


@pytest.mark.parametrize("key,make,xs", [
    ("conv_same_s", lambda: layers.Conv3D(2, (2, 3, 2), strides=(1, 2, 1), padding="same"), (1, 3, 4, 4, 2)),
    ("conv_valid_dil", lambda: layers.Conv3D(3, 2, dilation_rate=2), (1, 4, 4, 5, 2)),
    ("conv_cf", lambda: layers.Conv3D(2, (2, 2, 3), padding="same", data_format="channels_first"), (1, 2, 3, 3, 4)),
    ("conv_groups", lambda: layers.Conv3D(4, 2, groups=2), (1, 3, 3, 3, 4)),
    ("tconv_same", lambda: layers.Conv3DTranspose(2, (3, 2, 2), strides=2, padding="same"), (1, 2, 2, 3, 2)),
    ("tconv_valid", lambda: layers.Conv3DTranspose(3, 2, strides=(1, 2, 1)), (1, 2, 3, 2, 1)),
    ("tconv_op", lambda: layers.Conv3DTranspose(2, 3, strides=2, padding="valid", output_padding=1), (1, 2, 2, 2, 1)),
])
def test_conv_layers_match_keras(key, make, xs):
    layer = make()
    layer.build(xs)
    shapes = [tuple(w.shape) for w in layer.get_weights()]
    assert shapes == KERAS[key]["wshapes"]
    layer.set_weights([_kw(shapes[0]), np.array([0.1, -0.2, 0.3, -0.4][:shapes[1][0]], "float32")])
    _check(key, layer(_kx(xs)))


@pytest.mark.parametrize("key,make,xs", [
    ("avg_same", lambda: layers.AveragePooling3D((2, 3, 2), strides=(2, 2, 1), padding="same"), (1, 3, 5, 4, 1)),
    ("avg_valid_cf", lambda: layers.AvgPool3D(2, data_format="channels_first"), (1, 2, 4, 3, 4)),
    ("max_same", lambda: layers.MaxPool3D((2, 2, 3), strides=(1, 2, 2), padding="same"), (1, 3, 4, 5, 2)),
    ("up", lambda: layers.UpSampling3D((1, 2, 3)), (1, 2, 2, 2, 1)),
    ("up_cf", lambda: layers.UpSampling3D(2, data_format="channels_first"), (1, 1, 2, 2, 2)),
    ("crop", lambda: layers.Cropping3D(((1, 0), (0, 1), (1, 1))), (1, 3, 3, 4, 1)),
    ("crop_cf", lambda: layers.Cropping3D(1, data_format="channels_first"), (1, 1, 3, 4, 5)),
    ("pad", lambda: layers.ZeroPadding3D(((1, 0), (0, 1), (1, 1))), (1, 2, 2, 2, 1)),
    ("pad_cf", lambda: layers.ZeroPadding3D((1, 0, 2), data_format="channels_first"), (1, 1, 2, 2, 2)),
    ("gap_keep", lambda: layers.GlobalAvgPool3D(keepdims=True), (2, 2, 2, 3, 2)),
    ("gmp_cf", lambda: layers.GlobalMaxPool3D(data_format="channels_first"), (2, 2, 2, 3, 2)),
])
def test_weightless_layers_match_keras(key, make, xs):
    layer = make()
    y = layer(_kx(xs))
    _check(key, y)
    assert tuple(layer.compute_output_shape(xs)) == KERAS[key]["shape"]


@pytest.mark.parametrize("layer,shape,expected", [  # printed by Keras 3.15.1 compute_output_shape
    (lambda: layers.Conv3D(8, 3, strides=2, padding="same"), (None, 9, 8, 7, 3), (None, 5, 4, 4, 8)),
    (lambda: layers.Conv3DTranspose(4, (3, 2, 2), strides=(2, 1, 3)), (None, 3, 4, 5, 2), (None, 7, 5, 15, 4)),
    (lambda: layers.Conv3DTranspose(4, 3, strides=2, padding="same", output_padding=1), (None, 3, 4, 5, 2),
     (None, 6, 8, 10, 4)),
    (lambda: layers.MaxPooling3D(3, padding="same"), (None, 7, 8, 9, 2), (None, 3, 3, 3, 2)),
    (lambda: layers.AveragePooling3D((2, 1, 3)), (None, 5, 5, 7, 2), (None, 2, 5, 2, 2)),
])
def test_output_shapes_match_keras(layer, shape, expected):
    assert tuple(layer().compute_output_shape(shape)) == expected


def test_configs_defaults_and_aliases_match_keras():
    # Conv3D(4, (3, 2, 1), strides=2, padding="same", groups=2, use_bias=False).get_config() keys in Keras 3.15.1
    keys = {"activation", "activity_regularizer", "bias_constraint", "bias_initializer", "bias_regularizer",
            "data_format", "dilation_rate", "dtype", "filters", "groups", "kernel_constraint", "kernel_initializer",
            "kernel_regularizer", "kernel_size", "name", "padding", "strides", "trainable", "use_bias"}
    cfg = layers.Conv3D(4, (3, 2, 1), strides=2, padding="same", groups=2, use_bias=False).get_config()
    assert set(cfg) == keys
    assert (cfg["kernel_size"], cfg["strides"], cfg["dilation_rate"], cfg["groups"]) == ((3, 2, 1), (2, 2, 2),
                                                                                        (1, 1, 1), 2)
    cfg = layers.Conv3DTranspose(4, 3, output_padding=(1, 0, 1), strides=2).get_config()
    assert set(cfg) == keys - {"groups"} | {"output_padding"} and cfg["output_padding"] == (1, 0, 1)
    assert layers.MaxPooling3D().get_config()["strides"] == (2, 2, 2)
    assert layers.UpSampling3D().get_config()["size"] == (2, 2, 2) and "interpolation" not in \
        layers.UpSampling3D().get_config()
    assert layers.ZeroPadding3D().get_config()["padding"] == ((1, 1), (1, 1), (1, 1))
    assert layers.Cropping3D().get_config()["cropping"] == ((1, 1), (1, 1), (1, 1))
    assert layers.GlobalAveragePooling3D().get_config()["keepdims"] is False
    with pytest.raises(TypeError):
        layers.AveragePooling3D()  # pool_size has no default in Keras 3.15.1
    assert layers.Convolution3D is layers.Conv3D and layers.Convolution3DTranspose is layers.Conv3DTranspose
    assert layers.MaxPool3D is layers.MaxPooling3D and layers.AvgPool3D is layers.AveragePooling3D
    assert layers.GlobalMaxPool3D is layers.GlobalMaxPooling3D
    assert layers.GlobalAvgPool3D is layers.GlobalAveragePooling3D
    for name in ("Conv3D", "Conv3DTranspose", "MaxPooling3D", "Cropping3D"):
        layer = getattr(layers, name)(**({"filters": 2, "kernel_size": 2} if "Conv" in name else {}))
        again = layers.deserialize(layers.serialize(layer))
        assert type(again) is type(layer) and again.get_config() == layer.get_config()


def test_conv3d_transpose_channels_first_is_channels_last_transposed():
    # (Keras's TF backend cannot run Conv3DTranspose channels_first on a CPU, so this is checked against ourselves)
    x = rand(2, 2, 3, 2, 3)
    a = layers.Conv3DTranspose(4, (2, 3, 2), strides=(2, 1, 2), padding="same", dtype="float64")
    b = layers.Conv3DTranspose(4, (2, 3, 2), strides=(2, 1, 2), padding="same", data_format="channels_first",
                               dtype="float64")
    ya = a(x)
    b(np.ascontiguousarray(x.transpose(0, 4, 1, 2, 3)))
    b.set_weights(a.get_weights())
    yb = b(np.ascontiguousarray(x.transpose(0, 4, 1, 2, 3)))
    np.testing.assert_allclose(yb.numpy(), ya.numpy().transpose(0, 4, 1, 2, 3), rtol=1e-12, atol=1e-12)


def test_bad_input_errors_name_the_argument():
    with pytest.raises(ValueError, match="conv3d: expected a rank-5 input"):
        tf.nn.conv3d(tf.ones((1, 4, 4, 1)), tf.ones((2, 2, 2, 1, 1)), 1, "VALID")
    with pytest.raises(ValueError, match="multiple of filters.shape"):
        tf.nn.conv3d(tf.ones((1, 4, 4, 4, 3)), tf.ones((2, 2, 2, 2, 2)), 1, "VALID")
    with pytest.raises(ValueError, match="data_format"):
        tf.nn.conv3d(tf.ones((1, 4, 4, 4, 3)), tf.ones((2, 2, 2, 3, 2)), 1, "VALID", data_format="NHWC")
    with pytest.raises(ValueError, match="output_shape"):
        tf.nn.conv3d_transpose(tf.ones((1, 2, 2, 2, 1)), tf.ones((2, 2, 2, 1, 1)), [1, 9, 4, 4, 1], 2)
    with pytest.raises(ValueError, match="max_pool3d: pool size"):
        tf.nn.max_pool3d(tf.ones((1, 2, 2, 2, 1)), 3, 1, "VALID")
    with pytest.raises(ValueError, match="Conv3D: kernel_size"):
        layers.Conv3D(2, (2, 2))
    with pytest.raises(ValueError, match="groups"):
        layers.Conv3D(4, 2, groups=2)(tf.ones((1, 3, 3, 3, 3)))
    with pytest.raises(ValueError, match="Conv3DTranspose: each output_padding"):
        layers.Conv3DTranspose(2, 3, strides=2, output_padding=2)


def test_conv3d_model_fit_loss_drops():
    x = rng.standard_normal((32, 4, 6, 6, 2)).astype("float32")
    y = (x[..., 0].mean(axis=(1, 2, 3)) > 0).astype("float32")[:, None]
    model = keras.Sequential([keras.Input((4, 6, 6, 2)), layers.Conv3D(4, 3, padding="same", activation="relu"),
                              layers.MaxPooling3D(2), layers.GlobalAveragePooling3D(),
                              layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.02), loss="binary_crossentropy")
    hist = model.fit(x, y, epochs=8, batch_size=8, verbose=0).history["loss"]
    assert hist[-1] < hist[0] * 0.9, hist


def test_keras_archive_round_trip(tmp_path):
    model = keras.Sequential([keras.Input((4, 6, 6, 2)), layers.Conv3D(3, 2, padding="same", name="c"),
                              layers.MaxPooling3D(2, name="p"), layers.Conv3DTranspose(2, 2, strides=2, name="t"),
                              layers.Cropping3D(((0, 0), (1, 1), (1, 1)), name="crop")])
    x = rng.standard_normal((2, 4, 6, 6, 2)).astype("float32")
    before = model.predict(x, verbose=0)
    model.save(tmp_path / "m3d.keras")
    again = keras.models.load_model(tmp_path / "m3d.keras")
    assert [type(l).__name__ for l in again.layers] == ["Conv3D", "MaxPooling3D", "Conv3DTranspose", "Cropping3D"]
    assert [tuple(w.shape) for w in again.get_weights()] == [(2, 2, 2, 2, 3), (3,), (2, 2, 2, 2, 3), (2,)]
    np.testing.assert_allclose(again.predict(x, verbose=0), before, rtol=1e-6, atol=1e-6)
