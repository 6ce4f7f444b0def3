"""Run each program in this folder (written as Keras users write them, importing only tapeflow and
NumPy) for a few steps on a slice of Fashion-MNIST; each must finish and its loss must fall."""
import importlib.util
import os
import subprocess
import sys

import numpy as np
import pytest

from _oracle import require_fashion_mnist, require_module

HERE = os.path.dirname(__file__)
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))


@pytest.fixture(autouse=True)
def _needs_fashion_mnist():
    require_fashion_mnist()

# program -> (main kwargs, how much the loss must fall: last <= first * ratio)
PROGRAMS = {
    "custom_layer_classifier": ({"steps": 32, "n": 1024}, 0.9),
    "gan": ({"steps": 16, "n": 512}, 0.9),                      # the discriminator's loss
    "conv_vae": ({"steps": 12, "n": 384, "batch_size": 64}, 0.995),
    "wrapped_model": ({"steps": 32, "n": 1024}, 0.9),
    "tape_loop": ({"steps": 32, "n": 1024}, 0.9),
    "sequential_features": ({"steps": 32, "n": 1024}, 0.9),
    "cnn_classifier": ({"steps": 8, "n": 512}, 0.98),
    "image_saving_loop": ({"steps": 32, "n": 1024}, 0.95),
    "structured_data": ({"steps": 256, "n": 512}, 0.9),        # synthetic table: no Fashion-MNIST
}


def _only_tapeflow_and_numpy(path):
    src = open(path).read()
    imports = [ln.split()[1].split(".")[0] for ln in src.splitlines() if ln.startswith(("import ", "from "))]
    return set(imports) <= {"tapeflow", "numpy", "os", "tempfile"}


@pytest.mark.parametrize("name", sorted(PROGRAMS))
def test_program_trains(name, tmp_path):
    path = os.path.join(HERE, f"{name}.py")
    assert _only_tapeflow_and_numpy(path), f"{name}.py imports something besides tapeflow and numpy"
    kwargs, ratio = PROGRAMS[name]
    if name == "image_saving_loop":
        require_module("PIL", "pip install pillow (extra [images])")
        kwargs = {**kwargs, "out_dir": str(tmp_path)}
    spec = importlib.util.spec_from_file_location(f"tapeflow_program_{name}", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    losses = mod.main(**kwargs)
    assert len(losses) >= 2 and np.all(np.isfinite(losses))
    assert losses[-1] <= losses[0] * ratio, f"{name}: loss did not fall: {losses}"
    if name == "image_saving_loop":
        assert len(list(tmp_path.glob("generated_img_*.png"))) >= 6


def test_a_program_runs_as_a_script():
    """As a user runs it: ``python tests/programs/tape_loop.py`` in a fresh process."""
    env = {**os.environ, "PYTHONPATH": ROOT + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run([sys.executable, os.path.join(HERE, "tape_loop.py")], capture_output=True, text=True,
                         env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "mean loss" in out.stdout
