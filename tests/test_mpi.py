"""MultiWorkerMirroredStrategy over MPI: each test launches ``mpiexec -n 2`` on a script in tests/mpi/."""
import json
import os
import shutil
import subprocess
import sys
import time

import numpy as np
import pytest

from _oracle import require, require_module

HERE = os.path.dirname(os.path.abspath(__file__))
WORKER = os.path.join(HERE, "mpi", "fit_worker.py")


def _mpiexec() -> str:
    require_module("mpi4py", "pip install 'tapeflow[mpi]' (mpi4py and the mpich wheel)")
    require_module("tensorboardX")  # the workers also write TensorBoard events and .weights.h5 checkpoints
    require_module("h5py")
    from tapeflow.cli.workers import find_mpiexec
    path = find_mpiexec()
    require("mpiexec", path is not None, "pip install mpich (provides mpiexec)")
    return path


def _launch(args, timeout=60, cwd=None):
    t0 = time.monotonic()
    proc = subprocess.run([_mpiexec(), "-n", "2", sys.executable, *args], capture_output=True, text=True,
                          timeout=timeout, cwd=cwd)
    return proc, time.monotonic() - t0


def _load(path):
    with np.load(path) as f:
        weights = [f[f"w{i}"] for i in range(len(f.files) - 1)]
        return weights, json.loads(str(f["history"]))


@pytest.fixture(scope="module")
def fit_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("mpi_fit")
    proc, _ = _launch([WORKER, "fit", str(out)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    return out, proc


def test_weights_identical_on_all_ranks(fit_run):
    out, _ = fit_run
    for name in ("fit", "bn"):   # bn: BatchNormalization statistics and Dropout, averaged at epoch end
        w0, _ = _load(out / f"{name}_rank0.npz")
        w1, _ = _load(out / f"{name}_rank1.npz")
        assert len(w0) == len(w1) > 0
        for a, b in zip(w0, w1):
            np.testing.assert_array_equal(a, b)


def test_two_ranks_match_one_process_with_the_same_global_batch(fit_run):
    out, _ = fit_run
    w, hist = _load(out / "fit_rank0.npz")
    ref, ref_hist = _load(out / "reference.npz")
    for a, b in zip(w, ref):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    # metrics (train, validation, evaluate) are reduced over ranks: the same numbers as the single process
    assert set(hist) == set(ref_hist)
    for k in ref_hist:
        np.testing.assert_allclose(hist[k], ref_hist[k], rtol=1e-5, err_msg=k)
    _, hist1 = _load(out / "fit_rank1.npz")
    assert hist1 == hist


def test_only_rank0_prints_and_writes_files(fit_run):
    out, proc = fit_run
    files = sorted(os.listdir(out / "fit"))
    assert files == ["ckpt_rank0.weights.h5", "history_rank0.csv", "tb_rank0"], files
    assert os.listdir(out / "fit" / "tb_rank0")
    assert proc.stdout.count("Epoch 1/4") == 1, proc.stdout
    with open(out / "fit" / "history_rank0.csv") as f:
        assert len(f.read().splitlines()) == 5


def test_killed_rank_stops_the_job_and_the_run_resumes_to_the_same_weights(fit_run, tmp_path):
    fit_out, _ = fit_run
    proc, seconds = _launch([WORKER, "kill", str(tmp_path)], timeout=60)
    assert proc.returncode != 0
    assert seconds < 30
    text = (proc.stdout + proc.stderr).lower()
    assert "signal 9" in text or "killed" in text, text
    assert os.path.exists(tmp_path / "kill" / "backup" / "latest.weights.h5")
    assert not os.path.exists(tmp_path / "kill_rank0.npz")
    proc, _ = _launch([WORKER, "resume", str(tmp_path)])
    assert proc.returncode == 0, proc.stdout + proc.stderr
    w0, hist = _load(tmp_path / "resume_rank0.npz")
    w1, _ = _load(tmp_path / "resume_rank1.npz")
    uninterrupted, full_hist = _load(fit_out / "fit_rank0.npz")
    assert len(hist["loss"]) < len(full_hist["loss"])  # it really resumed mid-run
    for a, b, c in zip(w0, w1, uninterrupted):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(a, c)
    assert not os.path.exists(tmp_path / "kill" / "backup")  # rank 0 removed the backup at the end


def test_exception_on_one_rank_aborts_all_with_a_message(tmp_path):
    proc, seconds = _launch([WORKER, "raise", str(tmp_path)], timeout=60)
    assert proc.returncode != 0 and seconds < 30
    assert "planted failure on rank 1" in proc.stderr
    assert "tapeflow worker 1/2: ValueError on this worker. Stopping every worker" in proc.stderr


def test_hung_rank_times_out_with_a_message(tmp_path):
    proc, seconds = _launch([WORKER, "hang", str(tmp_path)], timeout=60)
    assert proc.returncode != 0 and seconds < 30
    assert "tapeflow worker 0/2: no answer from the other workers for 2 s" in proc.stderr, proc.stderr


def test_cli_train_workers_2(tmp_path):
    _mpiexec()
    from _oracle import require_fashion_mnist
    require_fashion_mnist()
    run_dir = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "tapeflow.cli.main", "train", "--workers", "2", "--model", "mlp",
                           "--limit", "256", "--test-limit", "128", "--epochs", "1", "--batch-size", "64",
                           "--verbose", "0", "--out", str(run_dir)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.count("test accuracy") == 1, proc.stdout
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["settings"]["workers"] == 2 and summary["workers"] == 2
    assert 0.0 <= summary["test_accuracy"] <= 1.0
    assert os.path.exists(run_dir / "model.keras")


def test_strategy_in_one_process_and_errors():
    require_module("mpi4py")
    import tapeflow as tf
    s = tf.distribute.MultiWorkerMirroredStrategy()
    assert s.num_replicas_in_sync == 1 and s.cluster_resolver.task_id == 0 and s.is_chief
    assert float(s.reduce("MEAN", tf.constant([1.0, 3.0]), axis=0)) == 2.0
    np.testing.assert_array_equal(s.gather(tf.constant([[1.0], [2.0]]), axis=0).numpy(), [[1.0], [2.0]])
    with pytest.raises(ValueError, match="bytes_per_pack"):
        tf.distribute.experimental.CommunicationOptions(bytes_per_pack=1024)
    with pytest.raises(ValueError, match="cluster_resolver=None"):
        tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=object())
    with s.scope():
        model = tf.keras.Sequential([tf.keras.Input((2,)), tf.keras.layers.Dense(1)])
        model.compile(optimizer="sgd", loss="mse")
    assert model.distribute_strategy is s
    before = model.get_weights()[0].copy()
    history = model.fit(np.ones((3, 2)), np.ones((3, 1)), batch_size=2, epochs=2, verbose=0)
    assert len(history.history["loss"]) == 2 and not np.array_equal(before, model.get_weights()[0])


def test_missing_mpi4py_error_names_the_extra(monkeypatch):
    import tapeflow as tf
    monkeypatch.setitem(sys.modules, "mpi4py", None)
    with pytest.raises(ImportError, match=r"pip install 'tapeflow\[mpi\]'"):
        tf.distribute.MultiWorkerMirroredStrategy()


def test_find_mpiexec_error(monkeypatch):
    from tapeflow.cli import workers
    monkeypatch.setenv("PATH", "")
    monkeypatch.setattr(workers, "_wheel_mpiexec", lambda: None)
    with pytest.raises(FileNotFoundError, match="pip install"):
        workers.require_mpiexec()
    assert shutil.which("mpiexec", path="") is None
