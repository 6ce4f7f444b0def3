"""``tapeflow evaluate RUN|MODEL`` and ``tapeflow predict MODEL IMAGES``."""
from __future__ import annotations

import json
import os

import numpy as np

from . import plots, rundir


def _resolve(target: str) -> tuple:
    """``(model path, run directory or None, summary dict)`` for a run directory or a model file."""
    if os.path.isdir(target):
        path = os.path.join(target, "model.keras")
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{target}: not a run directory (no model.keras inside)")
        summary = {}
        sp = os.path.join(target, "summary.json")
        if os.path.isfile(sp):
            with open(sp) as f:
                summary = json.load(f)
        return path, target, summary
    if not os.path.isfile(target):
        raise FileNotFoundError(f"{target}: no such run directory or model file")
    return target, None, {}


def _guess_dataset(input_shape) -> str:
    return "cifar10" if int(np.prod(input_shape)) == 32 * 32 * 3 else "fashion_mnist"


def run_evaluate(args) -> int:
    """Load ``model.keras``, evaluate it on the test set, print loss/accuracy, write a confusion matrix."""
    from .. import keras
    path, run_dir, summary = _resolve(args.target)
    model = keras.models.load_model(path)
    in_shape = tuple(model.input_shape[1:])
    dataset = args.dataset or summary.get("settings", {}).get("dataset") or _guess_dataset(in_shape)
    _, (xt, yt) = rundir.load_dataset(dataset, test_limit=args.limit, data_dir=args.data_dir)
    xt = rundir.to_model_input(xt, in_shape)
    probs = np.asarray(model.predict(xt, batch_size=1024, verbose=0))
    pred = probs.argmax(-1)
    eps = 1e-7
    loss = float(-np.mean(np.log(np.clip(probs[np.arange(len(yt)), yt], eps, 1.0))))
    acc = float(np.mean(pred == yt))
    names = rundir.CLASS_NAMES[dataset]
    cm = rundir.confusion_matrix(yt, pred, len(names))
    out = args.out or run_dir or os.path.dirname(os.path.abspath(path))
    os.makedirs(out, exist_ok=True)
    np.savetxt(os.path.join(out, "confusion_matrix.csv"), cm, fmt="%d", delimiter=",")
    rundir.write_json(os.path.join(out, "evaluation.json"),
                      {"model": path, "dataset": dataset, "n_test": int(len(yt)), "test_loss": loss,
                       "test_accuracy": acc, "confusion_matrix": cm})
    png = plots.confusion(cm, names, os.path.join(out, "confusion_matrix.png"),
                          title=f"{dataset} test confusion matrix (accuracy {acc:.3f})")
    print(f"{path} on {dataset} test set ({len(yt)} images): loss {loss:.4f}  accuracy {acc:.4f}")
    print("per-class accuracy: " + ", ".join(
        f"{n} {cm[i, i] / max(1, cm[i].sum()):.2f}" for i, n in enumerate(names)))
    print(f"wrote {os.path.join(out, 'confusion_matrix.csv')}" + (f" and {png}" if png else f" ({plots.SKIP_MESSAGE})"))
    return 0


def load_images(path: str) -> np.ndarray:
    """Images from an ``.npy`` file (``allow_pickle=False``) or an IDX file (optionally ``.gz``)."""
    if path.endswith(".npy"):
        try:
            return np.load(path, allow_pickle=False)
        except ValueError as e:
            raise ValueError(f"{path}: not a plain NumPy array file ({e})") from None
    from ..keras.datasets.idx import parse_idx, read_bytes
    return parse_idx(read_bytes(path), path)


def run_predict(args) -> int:
    """Print the top-k predicted classes of each image in ``args.images``."""
    from .. import keras
    path, _, summary = _resolve(args.model)
    model = keras.models.load_model(path)
    in_shape = tuple(model.input_shape[1:])
    images = load_images(args.images)
    per = int(np.prod(in_shape))
    if images.size == per:
        images = images.reshape((1,) + images.shape)
    x = rundir.to_model_input(images, in_shape)
    probs = np.asarray(model.predict(x, batch_size=1024, verbose=0))
    k = min(args.top_k, probs.shape[-1])
    dataset = args.dataset or summary.get("settings", {}).get("dataset") or _guess_dataset(in_shape)
    names = rundir.CLASS_NAMES.get(dataset, [str(i) for i in range(probs.shape[-1])])
    top = np.argsort(-probs, axis=-1)[:, :k]
    for i, row in enumerate(top):
        print(f"{i}: " + ", ".join(f"{int(c)} {names[int(c)]} ({probs[i, c]:.3f})" for c in row))
    return 0
