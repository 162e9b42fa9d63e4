"""Distributed training: two worker processes on localhost (the same code path
as two machines), identical weights on both, the chief's checkpoint resumed
by a single process, and clear errors for a missing or malformed TF_CONFIG."""

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

from messages import tiny_corpus
from translate import cli, config, distribute, training

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")

# One worker of a multi-worker run: `translate.training.train` under the
# multi_worker strategy, as `translate train --strategy multi_worker` calls it.
# It saves its weights and exits at once (as if killed) at the fourth step of
# the second epoch, one step after a checkpoint.
WORKER = """
import os, sys
import keras, numpy as np
from translate import config, distribute, training

corpus, run_dir, config_file, weights = sys.argv[1:]
worker = distribute.make_strategy("multi_worker")  # before anything else runs

class CrashInSecondEpoch(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.epoch == 1 and batch == 3:
            np.savez(weights, *self.model.get_weights())
            os._exit(17)

# A long budget, all of it cool-down: the rate changes every step, from the
# time left averaged over the workers, so that both use the same rate.
training.train(corpus, run_dir, config.load(config_file), verbose=0, strategy=worker,
               callbacks=[CrashInSecondEpoch()], time_budget_minutes=60)
"""
CRASHED = 17


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return tiny_corpus(tmp_path_factory.mktemp("distribute"))


def free_ports(count):
    """Ports free on localhost now (held open together so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("localhost", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def tf_config(ports, index):
    return json.dumps({"cluster": {"worker": [f"localhost:{p}" for p in ports]},
                       "task": {"type": "worker", "index": index}})


def run_workers(corpus, run_dir, config_file, out, timeout=300):
    """Runs two workers until they exit; returns their standard errors.
    Kills both on a timeout, so that a stuck collective never hangs the tests."""
    ports = free_ports(2)
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", WORKER, str(corpus), str(run_dir), str(config_file),
             str(out / f"worker{index}.npz")],
            cwd=ROOT, env=dict(ENV, TF_CONFIG=tf_config(ports, index)),
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for index in range(2)]
    deadline = time.time() + timeout
    try:
        errors = [p.communicate(timeout=max(deadline - time.time(), 1))[1]
                  for p in processes]
    finally:
        for p in processes:
            if p.poll() is None:
                p.kill()
                p.wait()
    for p, error in zip(processes, errors):
        assert p.returncode == CRASHED, error[-3000:]
    return errors


def epoch_batches(corpus, settings, epoch):
    """How many batches the epoch's stream has (all replicas together)."""
    from translate import dataset
    # As training makes it: the global seed takes part in the shuffle (and
    # setting it drops TensorFlow's kernels, so the tokenizers come after).
    keras.utils.set_random_seed(settings["train"]["seed"])
    (source, target), _ = training.tokenizers(corpus)
    train = settings["train"]
    data = dataset.make_dataset(str(corpus / "train.tsv"), source, target,
                                seed=train["seed"] + epoch, reshuffle_each_iteration=False,
                                **training.batch_settings(corpus, train))
    return sum(1 for _ in data)


class StepCount(keras.callbacks.Callback):
    count = 0

    def on_train_batch_end(self, batch, logs=None):
        self.count += 1


def test_two_workers_train_alike_and_one_process_resumes(corpus, tmp_path):
    settings = config.preset("tiny")
    settings["train"].update(epochs=2, batch_tokens=256, checkpoint_every_steps=3,
                             cooldown=1.0)
    config_file = tmp_path / "tiny.json"
    config_file.write_text(json.dumps(settings))
    run_dir = tmp_path / "run"

    run_workers(corpus, run_dir, config_file, tmp_path)
    chief, other = (np.load(tmp_path / f"worker{i}.npz") for i in range(2))
    assert len(chief.files) == len(other.files) > 10
    for name in chief.files:
        np.testing.assert_array_equal(chief[name], other[name])

    # The first epoch: two replicas, one batch each per step, the last odd
    # batch dropped; only the chief wrote the run directory.
    first = epoch_batches(corpus, settings, 0) // 2
    records = training.read_metrics(run_dir)
    assert [(r["epoch"], r["step"], r["replicas"]) for r in records] == [(1, first, 2)]
    assert json.loads((run_dir / "run.json").read_text())["strategy"] == "multi_worker"
    assert (run_dir / training.BEST_WEIGHTS).exists()
    saved = first + 3  # the checkpoint three steps into the second epoch
    assert tf.train.latest_checkpoint(str(run_dir / "checkpoints")).endswith(f"ckpt-{saved}")

    # One process, default strategy: from the saved step, at the same place
    # in the data (the 6 batches the two replicas took are skipped).
    steps = StepCount()
    result = training.train(corpus, run_dir, settings, verbose=0, callbacks=[steps])
    assert result["resumed_from_step"] == saved
    assert steps.count == epoch_batches(corpus, settings, 1) - 6
    assert [(r["epoch"], r["replicas"]) for r in training.read_metrics(run_dir)] == [
        (1, 2), (2, 1)]
    assert json.loads((run_dir / "run.json").read_text())["strategy"] == "default"


def test_multi_worker_needs_a_valid_tf_config(monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    with pytest.raises(distribute.DistributeError, match="needs the TF_CONFIG"):
        distribute.make_strategy("multi_worker")
    cases = [("{not json", "not valid JSON"),
             ('{"cluster": {"worker": ["localhost:1"]}}', "'cluster' and a 'task'"),
             ('{"cluster": {"worker": "localhost:1"}, "task": {"type": "worker", "index": 0}}',
              "cluster.worker must be a non-empty list"),
             ('{"cluster": {"ps": ["a:1"]}, "task": {"type": "ps", "index": 0}}',
              "'worker' \\(and optionally one 'chief'\\) jobs only"),
             ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "chief", "index": 0}}',
              "task.type 'chief' is not a job"),
             ('{"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 1}}',
              "task.index must be an integer from 0 to 0")]
    for text, message in cases:
        with pytest.raises(distribute.DistributeError, match=f"TF_CONFIG.*{message}|{message}"):
            distribute.read_tf_config({"TF_CONFIG": text})
    with pytest.raises(distribute.DistributeError, match="unknown strategy 'ring'"):
        distribute.make_strategy("ring")


def test_tf_config_roles():
    cluster = {"chief": ["a:1"], "worker": ["b:1", "c:1"]}
    text = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": 1}})
    assert distribute.read_tf_config({"TF_CONFIG": text}) == (cluster, "worker", 1)


def test_cli_reports_a_missing_tf_config(corpus, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    code = cli.main(["train", str(corpus), "--run-dir", str(tmp_path / "run"),
                     "--preset", "tiny", "--strategy", "multi_worker",
                     "--precision", "mixed_bfloat16"])
    assert code == 2
    assert "TF_CONFIG" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()
    with pytest.raises(SystemExit):
        cli.main(["train", str(corpus), "--run-dir", "x", "--precision", "float64"])
