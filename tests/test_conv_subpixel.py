"""conv2d's input gradient (a transposed convolution), by every path, equals its definition written as loops:
by output phase (strided), per-tap scatter-add, and one matmul for all taps (few channels)."""
import numpy as np
import pytest

from tapeflow.ops import conv_ops as C

# (input shape, kernel (kh, kw), strides, dilations, pads)
GEOMETRIES = [
    ((2, 14, 14, 3), (3, 3), (2, 2), (1, 1), ((0, 1), (0, 1))),    # SAME, stride 2 (Conv2DTranspose s2)
    ((2, 28, 28, 2), (3, 3), (2, 2), (1, 1), ((0, 1), (0, 1))),
    ((1, 11, 13, 3), (3, 2), (2, 2), (1, 1), ((1, 1), (0, 1))),    # odd sizes, a 2-wide kernel
    ((2, 13, 15, 3), (3, 3), (3, 3), (1, 1), ((2, 2), (1, 1))),    # stride 3
    ((1, 14, 14, 3), (1, 1), (2, 2), (1, 1), ((0, 1), (0, 1))),    # kernel smaller than the stride: zero phases
    ((2, 12, 9, 2), (3, 3), (2, 1), (1, 1), ((1, 1), (1, 1))),     # stride in one axis only
    ((1, 15, 15, 2), (3, 3), (2, 2), (2, 2), ((1, 2), (2, 1))),    # dilated
    ((1, 16, 16, 2), (4, 4), (2, 2), (1, 1), ((1, 1), (1, 1))),    # even kernel
    ((1, 9, 9, 2), (3, 3), (2, 2), (1, 1), ((0, 0), (0, 0))),      # VALID
    ((2, 14, 14, 6), (3, 3), (2, 2), (1, 1), ((0, 1), (0, 1))),    # more channels than _FEW_CHANNELS
    ((2, 9, 8, 6), (3, 3), (1, 1), (1, 1), ((1, 1), (1, 1))),      # stride 1
]


def _definition(g, w, shape, strides, dilations, pads):
    n, h, wd, c = shape
    dxp = np.zeros((n, h + sum(pads[0]), wd + sum(pads[1]), c))
    for ky in range(w.shape[0]):
        for kx in range(w.shape[1]):
            for iy in range(g.shape[1]):
                for ix in range(g.shape[2]):
                    dxp[:, strides[0] * iy + dilations[0] * ky, strides[1] * ix + dilations[1] * kx] += \
                        g[:, iy, ix] @ w[ky, kx].T
    return dxp[:, pads[0][0]:pads[0][0] + h, pads[1][0]:pads[1][0] + wd]


@pytest.mark.parametrize("geometry", GEOMETRIES, ids=[str(i) for i in range(len(GEOMETRIES))])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_phase_sums_equal_scatter_add(geometry, dtype, monkeypatch):
    shape, (kh, kw), strides, dilations, pads = geometry
    rng = np.random.default_rng(0)
    w = rng.normal(size=(kh, kw, shape[3], 5)).astype(dtype)
    hp, wp = shape[1] + sum(pads[0]), shape[2] + sum(pads[1])
    ho = C._out_size(hp, kh, strides[0], dilations[0])
    wo = C._out_size(wp, kw, strides[1], dilations[1])
    g = rng.normal(size=(shape[0], ho, wo, 5)).astype(dtype)
    args = (g, w, shape, strides, dilations, pads, 1)
    want = _definition(g, w, shape, strides, dilations, pads)
    tol = dict(rtol=1e-5, atol=1e-5) if dtype == np.float32 else dict(rtol=1e-12, atol=1e-12)
    for few in (0, 4, 100):                                  # per-tap matmuls / by size / one matmul
        monkeypatch.setattr(C, "_FEW_CHANNELS", few)
        for waste in (0.0, 100.0):                           # scatter-add / by phase where strided
            monkeypatch.setattr(C, "_SUBPIXEL_WASTE", waste)
            got = C._conv_input_fwd(*args)
            assert got.shape == want.shape and got.dtype == dtype
            np.testing.assert_allclose(got, want, **tol)
    if strides != (1, 1):
        assert C._subpixel_plan(shape, w.shape, g.shape, strides, dilations, pads) is not None


def test_small_grids_keep_the_scatter_add():
    # 7x7 -> 14x14 (stride 2, SAME): the 8x8 grid would compute 64 positions per 49 useful ones
    assert C._subpixel_plan((2, 14, 14, 4), (3, 3, 4, 4), (2, 7, 7, 4), (2, 2), (1, 1), ((0, 1), (0, 1))) is None
    assert C._subpixel_plan((2, 28, 28, 4), (3, 3, 4, 4), (2, 14, 14, 4), (2, 2), (1, 1), ((0, 1), (0, 1)))
