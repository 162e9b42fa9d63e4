"""The layout of a training run's directory, for the modules that read it.

`translate.training` writes a run directory; inference, the demo and the
plots read it. What they share is named here, without TensorFlow, so that a
reader does not load the training code to know a file name.
"""

import json
from pathlib import Path

from translate import config as config_lib

CONFIG = "config.json"
"""The run's settings, complete (`translate.config`): what `read_config` reads."""

BEST_WEIGHTS = "best.weights.h5"
"""The weights of the best dev loss (no optimizer state)."""

METRICS = "metrics.jsonl"
"""One JSON record per finished epoch."""

TRAINING_MATCHES = "training-matches.json"
"""With `train.memory_matches`: each training pair with its nearest other
pair's translation and their similarity, `[[source, target, match,
similarity], ...]`."""


RUN_RECORD = "run.json"
"""What training records of the run: its corpus directory (`corpus_dir`), the
precision it resolved."""


def is_run(run_dir):
    """Whether a directory is a training run (it has its `config.json`)."""
    return (Path(run_dir) / CONFIG).exists()


def read_config(run_dir):
    """A run's settings, read as a config file is (keys added since the run
    began take their defaults).

    Raises:
        FileNotFoundError: not a training run (no `config.json`).
        translate.config.ConfigError: a bad config file (naming the key).
    """
    path = Path(run_dir) / CONFIG
    if not path.exists():
        raise FileNotFoundError(f"{run_dir} is not a training run (no {CONFIG}).")
    return config_lib.from_mapping(json.loads(path.read_text()), str(path))


def corpus_dir(run_dir):
    """The corpus directory a run trained on (its `run.json`)."""
    return Path(json.loads((Path(run_dir) / RUN_RECORD).read_text())["corpus_dir"])


def read_metrics(run_dir):
    """The records of `metrics.jsonl`, one per finished epoch (none yet: [])."""
    path = Path(run_dir) / METRICS
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip()]
