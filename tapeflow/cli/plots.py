"""PNG plots for runs and experiments (matplotlib, the optional extra ``pip install tapeflow[plots]``).

Every function takes plain NumPy/dict data and a path, and returns the path written, or ``None`` when
matplotlib is missing (``available()`` says which; ``SKIP_MESSAGE`` tells the user how to get plots).
matplotlib is imported only when a plot is drawn, with the non-interactive Agg backend.
"""
from __future__ import annotations

import numpy as np

SKIP_MESSAGE = "plots skipped: matplotlib is not installed (pip install 'tapeflow[plots]' or pip install matplotlib)"


def available() -> bool:
    """Whether matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _plt():
    import matplotlib
    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt
    return plt


def _save(fig, path):
    from ..keras.saving.safety import atomic_write
    fig.tight_layout()
    with atomic_write(path) as tmp:
        fig.savefig(tmp, dpi=100, format="png")
    _plt().close(fig)
    return path


def training_curves(history: dict, path: str, title: str = "training vs validation") -> str | None:
    """Loss and accuracy per epoch, training vs validation, side by side."""
    if not available():
        return None
    plt = _plt()
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, key in zip(axes, ("loss", "accuracy")):
        for k, style in ((key, "-o"), ("val_" + key, "--s")):
            if k in history:
                vals = [float(v) for v in history[k]]
                ax.plot(range(1, len(vals) + 1), vals, style, label=("validation " if k.startswith("val_") else
                                                                      "training ") + key)
        ax.set_xlabel("epoch")
        ax.set_ylabel(key)
        ax.set_title(key)
        ax.grid(alpha=0.3)
        ax.legend()
    fig.suptitle(title)
    return _save(fig, path)


def compare_curves(series: dict, path: str, title: str, xlabel: str, ylabel: str, logx: bool = False,
                   logy: bool = False, xs: dict | None = None, xticklabels=None) -> str | None:
    """One line per entry of ``series`` (``{label: values}``); ``xs`` gives x values per label (default 1..n);
    ``xticklabels`` names the points 0..n-1 (categorical x axis)."""
    if not available():
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(7, 4.5))
    for label, vals in series.items():
        vals = np.asarray(vals, dtype=np.float64)
        x = np.asarray(xs[label]) if xs and label in xs else np.arange(1, len(vals) + 1)
        ax.plot(x, vals, label=str(label), marker="o" if len(vals) <= 30 else None)
    if xticklabels is not None:
        ax.set_xticks(range(len(xticklabels)), [str(t) for t in xticklabels])
    if logx:
        ax.set_xscale("log")
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _save(fig, path)


def bars(values: dict, path: str, title: str, ylabel: str) -> str | None:
    """A bar chart of ``{label: value}``."""
    if not available():
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 0.8 * len(values)), 4.5))
    labels = [str(k) for k in values]
    ax.bar(labels, [float(v) for v in values.values()], color="tab:blue")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.tick_params(axis="x", rotation=45)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, path)


def weight_histograms_by_epoch(hists: list, path: str, title: str = "weight histograms per epoch") -> str | None:
    """``hists[e] = {weight path: (counts, edges)}`` after epoch ``e``: one panel per weight, one line per epoch."""
    if not available() or not hists:
        return None
    plt = _plt()
    names = list(hists[-1])
    cols = min(3, len(names))
    rows = (len(names) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.0 * rows), squeeze=False)
    cmap = plt.get_cmap("viridis")
    for ax, name in zip(axes.reshape(-1), names):
        for e, h in enumerate(hists):
            if name in h:
                counts, edges = h[name]
                dens = np.asarray(counts, np.float64) / max(1.0, float(np.sum(counts))) / np.diff(edges)
                ax.stairs(dens, edges, color=cmap(e / max(1, len(hists) - 1)), label=f"epoch {e + 1}")
        ax.set_title(name, fontsize=8)
        ax.set_xlabel("weight value")
        ax.set_ylabel("density")
    axes.reshape(-1)[0].legend(fontsize=7)
    for ax in axes.reshape(-1)[len(names):]:
        ax.axis("off")
    fig.suptitle(title)
    return _save(fig, path)


def gradient_norms(steps: list, path: str, title: str = "gradient norm per layer") -> str | None:
    """``steps = [(global step, {layer: norm})]`` from the GradientNorms callback: one line per layer."""
    if not available() or not steps:
        return None
    layers = list(dict.fromkeys(k for _, d in steps for k in d))
    series = {k: [d.get(k, np.nan) for _, d in steps] for k in layers}
    xs = {k: [s for s, _ in steps] for k in layers}
    return compare_curves(series, path, title, "training step", "L2 norm of the gradient", logy=True, xs=xs)


def confusion(cm: np.ndarray, class_names: list, path: str, title: str = "confusion matrix") -> str | None:
    """A confusion matrix heat map, rows = true class, columns = predicted, counts written in the cells."""
    if not available():
        return None
    plt = _plt()
    n = cm.shape[0]
    fig, ax = plt.subplots(figsize=(1.0 + 0.65 * n, 0.6 + 0.6 * n))
    im = ax.imshow(cm, cmap="Blues")
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_xticks(range(n), class_names, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(n), class_names, fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true class")
    ax.set_title(title)
    thresh = cm.max() / 2 if cm.size else 0
    for i in range(n):
        for j in range(n):
            ax.text(j, i, int(cm[i, j]), ha="center", va="center", fontsize=6,
                    color="white" if cm[i, j] > thresh else "black")
    return _save(fig, path)


def functions_and_derivatives(x: np.ndarray, curves: dict, path: str, title: str) -> str | None:
    """``curves = {name: (f(x), f'(x))}``: the functions on the left, their derivatives on the right."""
    if not available():
        return None
    plt = _plt()
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4.5))
    for name, (f, df) in curves.items():
        a.plot(x, f, label=name)
        b.plot(x, df, label=name)
    for ax, t in ((a, "activation f(x)"), (b, "derivative f'(x) (GradientTape)")):
        ax.set_title(t)
        ax.set_xlabel("x")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    a.set_ylabel("f(x)")
    b.set_ylabel("f'(x)")
    fig.suptitle(title)
    return _save(fig, path)


def distributions(dists: dict, path: str, title: str, xlabel: str = "class") -> str | None:
    """Grouped bars: ``dists = {label: probability vector}`` over the same classes."""
    if not available():
        return None
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    k = len(dists)
    width = 0.8 / max(1, k)
    for i, (label, p) in enumerate(dists.items()):
        p = np.asarray(p, dtype=np.float64)
        ax.bar(np.arange(len(p)) + (i - (k - 1) / 2) * width, p, width=width, label=str(label))
    ax.set_xlabel(xlabel)
    ax.set_ylabel("probability")
    ax.set_title(title)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, axis="y")
    return _save(fig, path)
