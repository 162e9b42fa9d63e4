"""Distribution strategies for training: one process, several devices, several machines.

`make_strategy(name)` maps the name `translate train --strategy` takes to a
`tf.distribute.Strategy` and says where this process stands in the cluster:

- `"default"`: no distribution (`tf.distribute.get_strategy()`); training
  runs exactly as it does without this module.
- `"mirrored"`: `tf.distribute.MirroredStrategy`, one replica per local
  GPU (or the CPU when there is none), variables mirrored, gradients summed.
- `"multi_worker"`: `tf.distribute.MultiWorkerMirroredStrategy`, one
  process per machine, configured by the `TF_CONFIG` environment variable
  as TensorFlow documents it:

      TF_CONFIG='{"cluster": {"worker": ["host1:12345", "host2:12345"]},
                  "task": {"type": "worker", "index": 0}}'

  Every worker runs the same command with its own `task.index`. The chief
  (the `chief` task, or worker 0 where there is none) writes the run
  directory; the other workers only train.

The multi-worker strategy must be made before TensorFlow runs anything else
in the process (it configures the collective ops at start-up), so
`translate train` makes it first.
"""

import dataclasses
import json
import os

# TensorFlow is imported where a strategy is made, so that the command line
# can name the choices without loading it.
STRATEGIES = ("default", "mirrored", "multi_worker")


class DistributeError(ValueError):
    """An unknown strategy name, or a missing or malformed `TF_CONFIG`."""


@dataclasses.dataclass(frozen=True)
class Worker:
    """A distribution strategy and this process's place in it.

    Attributes:
        name: the strategy's name (one of `STRATEGIES`).
        strategy: the `tf.distribute.Strategy`.
        is_chief: whether this process writes the run directory.
        num_workers: processes training together (1 unless multi-worker).
        index: this worker's position among them, 0 for the chief.
    """

    name: str
    strategy: "tf.distribute.Strategy"  # noqa: F821
    is_chief: bool = True
    num_workers: int = 1
    index: int = 0

    @property
    def replicas(self):
        """Replicas over all workers; each step takes one batch per replica."""
        return self.strategy.num_replicas_in_sync

    @property
    def distributed(self):
        """False for the default strategy (training takes the plain path)."""
        return self.name != "default"


def read_tf_config(environ=None):
    """The cluster and this task from `TF_CONFIG`, checked.

    Args:
        environ: a mapping of environment variables (`os.environ` if `None`).

    Returns:
        `(cluster, task_type, task_index)`: the cluster as a dict of job name
        to a list of `host:port` addresses, and this process's task.

    Raises:
        DistributeError: `TF_CONFIG` is unset or not the JSON TensorFlow
            expects (the message says what is missing).
    """
    environ = os.environ if environ is None else environ
    text = environ.get("TF_CONFIG", "").strip()
    example = ('for example TF_CONFIG=\'{"cluster": {"worker": ["host1:12345", '
               '"host2:12345"]}, "task": {"type": "worker", "index": 0}}\'')
    if not text:
        raise DistributeError(
            f"--strategy multi_worker needs the TF_CONFIG environment variable; {example}.")
    try:
        config = json.loads(text)
    except json.JSONDecodeError as error:
        raise DistributeError(f"TF_CONFIG is not valid JSON ({error}); {example}.") from None
    cluster = config.get("cluster") if isinstance(config, dict) else None
    task = config.get("task") if isinstance(config, dict) else None
    if not isinstance(cluster, dict) or not isinstance(task, dict):
        raise DistributeError(f"TF_CONFIG needs a 'cluster' and a 'task' mapping; {example}.")
    for job, addresses in cluster.items():
        if (not isinstance(addresses, list) or not addresses
                or not all(isinstance(a, str) and ":" in a for a in addresses)):
            raise DistributeError(
                f"TF_CONFIG: cluster.{job} must be a non-empty list of 'host:port' "
                f"strings, got {addresses!r}.")
    unknown = set(cluster) - {"chief", "worker"}
    if unknown or not cluster:
        raise DistributeError(
            "TF_CONFIG: the cluster of --strategy multi_worker has 'worker' (and "
            f"optionally one 'chief') jobs only, got {sorted(cluster)}.")
    if len(cluster.get("chief", [])) > 1:
        raise DistributeError("TF_CONFIG: a cluster has at most one chief.")
    task_type, task_index = task.get("type"), task.get("index")
    if task_type not in cluster:
        raise DistributeError(
            f"TF_CONFIG: task.type {task_type!r} is not a job of the cluster "
            f"({sorted(cluster)}).")
    if (not isinstance(task_index, int) or isinstance(task_index, bool)
            or not 0 <= task_index < len(cluster[task_type])):
        raise DistributeError(
            f"TF_CONFIG: task.index must be an integer from 0 to "
            f"{len(cluster[task_type]) - 1} for job {task_type!r}, got {task_index!r}.")
    return cluster, task_type, task_index


def make_strategy(name="default"):
    """The strategy called `name`, and this process's role in it.

    Args:
        name: one of `STRATEGIES`.

    Returns:
        A `Worker`.

    Raises:
        DistributeError: an unknown name, or `"multi_worker"` without a valid
            `TF_CONFIG`.
    """
    if name not in STRATEGIES:
        raise DistributeError(f"unknown strategy {name!r}; expected one of {STRATEGIES}.")
    import tensorflow as tf

    if name == "default":
        return Worker(name, tf.distribute.get_strategy())
    if name == "mirrored":
        return Worker(name, tf.distribute.MirroredStrategy())
    cluster, task_type, task_index = read_tf_config()
    strategy = tf.distribute.MultiWorkerMirroredStrategy()
    # TensorFlow's convention: the chief task, or worker 0 where there is none.
    is_chief = task_type == "chief" or ("chief" not in cluster and task_index == 0)
    # Input pipelines are numbered chief first, then the workers.
    index = 0 if task_type == "chief" else task_index + len(cluster.get("chief", []))
    num_workers = sum(len(addresses) for addresses in cluster.values())
    return Worker(name, strategy, is_chief, num_workers, index)


_SUMS = {}  # strategy -> its compiled sum (eager collectives are slow)


def sum_over_replicas(worker, values):
    """The sums of `values` over every replica of every worker.

    A collective: under a multi-worker strategy every worker must call it at
    the same point, or the others wait.

    Args:
        worker: a `Worker`.
        values: a list of numbers (this worker's contribution, counted once
            per local replica).

    Returns:
        A float64 numpy array shaped like `values`.
    """
    import tensorflow as tf

    strategy = worker.strategy
    if strategy not in _SUMS:
        @tf.function
        def total(values):
            per_replica = strategy.run(tf.identity, args=(values,))
            return strategy.reduce(tf.distribute.ReduceOp.SUM, per_replica, axis=None)
        _SUMS[strategy] = total
    return _SUMS[strategy](tf.constant(values, tf.float64)).numpy()


def prepare_keras_model(model, worker, example):
    """Works around two faults of Keras 3.15's `fit` under `tf.distribute`.

    1. `fit` and `evaluate` build the compiled metrics from the first batch,
       which they first average over the replicas with a collective
       (`Trainer._maybe_symbolic_build`). That fails for dict inputs
       (keras-team/keras#20329) and could not work for batches whose shapes
       differ between workers (token-budget buckets). The metrics are built
       here from a local example batch instead, and that step is skipped.
    2. In multi-worker mode `fit` averages each scalar log over the workers
       with `strategy.reduce("MEAN", value, axis=0)`, which rejects scalars
       (tensorflow/tensorflow#72388). Steps return their logs as vectors of
       one, which that reduction turns back into scalars.

    Call it under `worker.strategy.scope()`, after `model.compile`. Nothing
    is changed for the default strategy.

    Args:
        model: a compiled Keras model.
        worker: a `Worker`.
        example: one `(inputs, targets)` batch (numpy arrays) of the shapes
            and dtypes of the training data.
    """
    if not worker.distributed:
        return
    import tensorflow as tf

    model._symbolic_build(data_batch=example)
    model._maybe_symbolic_build = lambda iterator=None, data_batch=None: None
    if worker.num_workers > 1:
        def as_vectors(step):
            def step_with_vector_logs(data):
                return {k: tf.reshape(v, [1]) for k, v in step(data).items()}
            return step_with_vector_logs
        model.train_step = as_vectors(model.train_step)
        model.test_step = as_vectors(model.test_step)
