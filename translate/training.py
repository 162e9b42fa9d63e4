"""Training: Keras `fit` epoch by epoch, with checkpoints that resume exactly.

A run directory holds `config.json`, `run.json` (the corpus directory),
`checkpoints/` (the latest few, with the
optimizer state, the epoch, and the batch reached within it),
`best.weights.h5` (the weights of the best dev loss; with `train.weight_average`,
their moving average), `metrics.jsonl`, `tensorboard/` and
`curves.png`. Running the same command again after an interruption (Ctrl-C,
kill -9) restores the latest checkpoint and goes on from the same step and
the same position in the data: each epoch's batches come from a dataset
seeded by the epoch, so the batches already seen are skipped exactly.

Under a distribution strategy (`translate.distribute`) each step takes one
token-budget batch per replica: `batch_tokens` is the budget of each
replica's batch, and a step sees up to `batch_tokens * replicas` tokens.
Every worker builds the same seeded stream of batches and takes every
`replicas`-th one, so after `k` steps exactly the first `k * replicas`
batches of the epoch have been used, whatever the number of replicas; the
checkpoint counts those batches, so a run resumes under another strategy
(or none) at the same place in the data. Each epoch drops its last
`batches % replicas` batches (every replica must take a step together).
Only the chief writes the run directory; the other workers save their
checkpoints to a temporary directory and delete it (saving is collective).
"""

import contextlib
import json
import shutil
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from translate import config as config_lib
from translate import dataset, distribute, memory, plots, prepare, tokenizer
from translate.atomic import atomic_file, atomic_path
from translate.losses import MaskedCrossEntropy, masked_accuracy, split_targets  # noqa: F401
from translate.machine import cpu_model, has_bfloat16_matmuls
from translate.model import build_model
from translate.rundir import BEST_WEIGHTS, METRICS, read_metrics  # noqa: F401 (re-exported)
from translate.rundir import CONFIG, RUN_RECORD, TRAINING_MATCHES, read_config
from translate.tokenizer import SPECIAL_IDS

PAD = SPECIAL_IDS["pad"]


@keras.saving.register_keras_serializable(package="translate")
class WarmupInverseSqrt(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak`, then decay with the inverse square root.

    The rate is multiplied by `scale`, a variable that training lowers
    during a time budget's cool-down (`cooldown_scale`); it is 1 otherwise.
    """

    def __init__(self, peak, warmup_steps):
        self.peak = peak
        self.warmup_steps = warmup_steps
        self.scale = tf.Variable(1.0, trainable=False, name="learning_rate_scale")

    def __call__(self, step):
        step = tf.cast(step, tf.float32) + 1.0
        warmup = tf.cast(max(self.warmup_steps, 1), tf.float32)
        return (self.peak * tf.minimum(step / warmup, tf.sqrt(warmup / step))
                * tf.cast(self.scale, tf.float32))

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps}


def cooldown_scale(remaining_seconds, budget_seconds, cooldown):
    """The learning rate's multiplier in a time budget's cool-down.

    Short runs end best with the rate brought down to zero (Li et al.,
    "Budgeted Training", ICLR 2020; Hägele et al., 2024, on cool-downs):
    over the last `cooldown` fraction of the budget the multiplier falls
    linearly from 1 to 0, reaching 0 at the deadline.

    Args:
        remaining_seconds: time left before the deadline.
        budget_seconds: the whole budget.
        cooldown: the fraction of the budget to cool down over; 0 is none.

    Returns:
        A float in [0, 1].
    """
    if cooldown <= 0:
        return 1.0
    return float(np.clip(remaining_seconds / (cooldown * budget_seconds), 0.0, 1.0))


class _Checkpoints:
    """Saves like `tf.train.CheckpointManager`, the chief's files only.

    Saving a distributed model may take every worker (collective reads), so
    all workers save at the same steps; the workers other than the chief
    write to a temporary directory and delete it, as TensorFlow's
    multi-worker tutorial does.
    """

    def __init__(self, checkpoint, directory, max_to_keep, worker):
        self.checkpoint, self.worker = checkpoint, worker
        if worker.is_chief:
            self.manager = tf.train.CheckpointManager(checkpoint, directory,
                                                      max_to_keep=max_to_keep)

    def save(self, step):
        """Writes a checkpoint numbered `step` (the optimizer's iterations)."""
        if self.worker.is_chief:
            self.manager.save(checkpoint_number=step)
            return
        scratch = tempfile.mkdtemp(prefix=f"translate-worker-{self.worker.index}-")
        try:
            tf.train.CheckpointManager(self.checkpoint, scratch, max_to_keep=1).save(
                checkpoint_number=step)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)


class _Progress(keras.callbacks.Callback):
    """Checkpoints every N steps; keeps to the budgets; logs throughput.

    With a time budget or a step budget (`max_steps`, counted in optimizer
    steps over the whole run, so a resumed run stops at the same step), it
    stops training at the first one reached (`train` then scores the weights
    on dev and saves a checkpoint) and, over the last `cooldown` fraction of
    each budget, lowers the learning rate's `scale` to reach 0 at its end
    (the lower of the two while both cool down). Under several workers, each worker's time left is
    averaged over all of them (one collective per step), so that every
    worker uses the same rate and stops at the same step.
    """

    def __init__(self, state, checkpoints, every, budget_seconds, cooldown, scale, worker,
                 max_steps=None):
        super().__init__()
        self.max_steps = max_steps
        self.state, self.checkpoints, self.every = state, checkpoints, every
        self.budget, self.cooldown, self.scale = budget_seconds, cooldown, scale
        self.deadline = None if budget_seconds is None else time.time() + budget_seconds
        self.worker = worker
        self.replicas = worker.replicas
        self.stop_reason = None  # "time_budget" or "max_steps" once reached
        scale.assign(1.0)

    def on_epoch_begin(self, epoch, logs=None):
        self.tokens = 0
        self.unsaved = 0  # steps since the last checkpoint (one ends each epoch)

    def _save(self):
        self.checkpoints.save(int(self.model.optimizer.iterations.numpy()))
        self.unsaved = 0

    def _remaining(self):
        remaining = self.deadline - time.time()
        if self.worker.num_workers > 1:
            remaining = (distribute.sum_over_replicas(self.worker, [remaining])[0]
                         / self.worker.strategy.num_replicas_in_sync)
        return remaining

    def on_train_batch_end(self, batch, logs=None):
        # The batches of the epoch used so far: one per replica.
        self.state["batch"].assign_add(self.replicas)
        # The logged count is the mean over the replicas.
        self.tokens += float(logs.get("tokens", 0)) * self.replicas if logs else 0
        self.unsaved += 1
        if self.unsaved >= self.every:
            self._save()
        scale = 1.0
        if self.max_steps is not None:
            steps_left = self.max_steps - int(self.model.optimizer.iterations.numpy())
            scale = cooldown_scale(steps_left, self.max_steps, self.cooldown)
            if steps_left <= 0:
                self.stop_reason = "max_steps"
        if self.deadline is not None:
            remaining = self._remaining()
            scale = min(scale, cooldown_scale(remaining, self.budget, self.cooldown))
            if remaining <= 0:
                self.stop_reason = self.stop_reason or "time_budget"
        self.scale.assign(scale)
        if self.stop_reason:
            self.model.stop_training = True


class TokenCount(keras.metrics.Metric):
    """Real target tokens in the current batch (for throughput logs)."""

    def __init__(self, name="tokens", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        labels, _ = split_targets(y_true)
        self.count.assign(tf.reduce_sum(tf.cast(tf.not_equal(labels, PAD), tf.float32)))

    def result(self):
        return self.count

    def reset_state(self):
        self.count.assign(0.0)


def _keep_if_best(state, dev_loss, model, run_dir, worker):
    """Saves the model's weights (no optimizer) as `best.weights.h5`,
    atomically, if `dev_loss` is the best yet; returns whether it was.

    Every worker keeps the same state: the dev loss is the same all-reduced
    value on each; only the chief writes.
    """
    if not dev_loss < float(state["best_dev_loss"]):
        return False
    state["best_dev_loss"].assign(dev_loss)
    if worker.is_chief:
        with atomic_path(run_dir / BEST_WEIGHTS) as staging:
            model.save_weights(staging)
    return True


def _save_config(run_dir, config, write=True):
    """Writes `config.json`, or checks that it holds `config` (a resumption).

    Raises:
        ConfigError: the run directory holds a different config.
    """
    path = run_dir / CONFIG
    if path.exists():
        if read_config(run_dir) != config:
            raise config_lib.ConfigError(
                f"{path} holds a different config; resume with the same settings "
                "or use a new --run-dir.")
        return
    if write:
        with atomic_file(path, encoding="utf-8") as f:
            json.dump(config, f, indent=2)


def resolve_precision(name):
    """The dtype policy a `train.precision` setting stands for.

    "auto" is "mixed_bfloat16" on a machine without a GPU whose CPU has
    native bfloat16 matmuls (`translate.machine.has_bfloat16_matmuls`), else
    "float32"; any other name stands for itself.
    """
    if name != "auto":
        return name
    if tf.config.list_physical_devices("GPU") or not has_bfloat16_matmuls():
        return "float32"
    return "mixed_bfloat16"


@contextlib.contextmanager
def dtype_policy(name):
    """Keras's global dtype policy set to `name` (see `resolve_precision`)
    while layers are made.

    Layers take the policy when they are constructed, so the model keeps it
    after the block; the global policy goes back to what it was (a process
    that trains, then builds a model for decoding gets a float32 one).
    """
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy(resolve_precision(name))
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


@keras.saving.register_keras_serializable(package="translate")
class AveragingAdam(keras.optimizers.Adam):
    """Keras's Adam, whose moving average of the weights (`use_ema`) never
    replaces the training weights by itself.

    Keras's `fit` writes the average into the weights when it ends, and
    training calls `fit` once an epoch: every epoch would go on from the
    average, not from where training was. Here the average is swapped in only
    where it is read (`averaged_weights`): for the dev loss, the best
    weights and what is exported.
    """

    def finalize_variable_values(self, var_list):
        del var_list  # the weights stay the training weights


@contextlib.contextmanager
def averaged_weights(model):
    """Within the block, the model's weights are its optimizer's moving
    average of them (Keras's `SwapEMAWeights`); after it, the training
    weights again. Without a weight average, the block sees the weights as
    they are."""
    optimizer = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    if not getattr(optimizer, "use_ema", False):
        yield
        return
    swap = keras.callbacks.SwapEMAWeights()
    swap.set_model(model)
    swap.on_test_begin()
    try:
        yield
    finally:
        swap.on_test_end()


def make_optimizer(train_config, schedule=None):
    """Adam with warm-up and inverse square root decay, clipped by norm.

    Args:
        train_config: the config's `train` section.
        schedule: the `WarmupInverseSqrt` to use (training keeps a handle
            on it for the cool-down); by default one made from the config.

    Returns:
        An `AveragingAdam` (Keras's Adam; with `train.weight_average` above 0
        it keeps that moving average of the weights), wrapped in a
        `LossScaleOptimizer` (dynamic loss scaling) under `mixed_float16`,
        whose small gradients would otherwise underflow; bfloat16 has
        float32's range and needs none.
    """
    if schedule is None:
        schedule = WarmupInverseSqrt(train_config["learning_rate"],
                                     train_config["warmup_steps"])
    momentum = train_config["weight_average"]
    optimizer = AveragingAdam(schedule, clipnorm=train_config["clip_norm"],
                              use_ema=momentum > 0, ema_momentum=momentum or 0.99)
    if resolve_precision(train_config["precision"]) == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def _example_batch():
    """A tiny batch of the training data's structure (to build metrics)."""
    ids = np.array([[3, PAD]], np.int32)
    return {"source": ids, "target_in": ids}, ids


def _distributed_data(worker, make, used, what):
    """One epoch's batches from `used` on, dealt out to the replicas.

    All workers make the same seeded stream; the replica `r` of `R` takes
    the batches `r, r + R, ...` (interleaved, so that after `k` steps exactly
    the first `k * R` batches are used), and the stream is cut to a multiple
    of `R` so that every replica takes as many steps as the others.

    Args:
        worker: a `distribute.Worker` with a non-default strategy.
        make: makes the epoch's `tf.data.Dataset` of batches.
        used: batches of this stream already used (a resumption).
        what: "train" or "dev" (for the error message).

    Returns:
        `(distributed_dataset, steps)`.

    Raises:
        ValueError: fewer batches than replicas.
    """
    replicas = worker.replicas
    # The stream's length: the bucketed batches are not known before one pass.
    total = int(make().reduce(np.int64(0), lambda n, _: n + 1))
    steps = max(total - used, 0) // replicas
    if used == 0 and steps == 0:
        raise ValueError(
            f"the {what} data makes {total} batches, fewer than the {replicas} "
            "replicas; lower train.batch_tokens or use more data.")

    def per_worker(context):
        # Worker w of W holds batches w, w + W, ... of the cut stream; its
        # local replicas take them in turn, which deals batch r, r + R, ...
        # to replica r.
        data = make().skip(used).take(steps * replicas)
        return data.shard(context.num_input_pipelines, context.input_pipeline_id)
    return worker.strategy.distribute_datasets_from_function(per_worker), steps


def _check_same_step(worker, step):
    """Raises unless every worker restored the same checkpoint step.

    Raises:
        ValueError: the workers resumed from different steps.
    """
    total, squares = distribute.sum_over_replicas(worker, [step, step * step])
    # All equal exactly when the variance over the replicas is zero.
    if total * total != squares * worker.replicas:
        raise ValueError(
            "the workers restored different checkpoints: every worker must read "
            "the chief's run directory (shared storage), where only the chief writes.")


def _record_epoch(run_dir, record):
    """Writes the epoch's record, replacing one of the same epoch (an epoch
    finished again after an interruption), atomically."""
    records = [r for r in read_metrics(run_dir) if r["epoch"] != record["epoch"]]
    with atomic_file(run_dir / METRICS, encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records + [record])


def tokenizers(corpus_dir):
    """`(source, target)` in-graph tokenizers and vocab sizes of a corpus."""
    paths = prepare.tokenizer_paths(corpus_dir)
    return ([tokenizer.tf_tokenizer(p) for p in paths],
            [tokenizer.vocab_size(p) for p in paths])


def batch_settings(corpus_dir, train_config):
    """The `translate.dataset.make_dataset` arguments that shape a run's
    batches: its token budget, length limit and bucket width from the
    config's `train` section, and span masking where the corpus's tokenizer
    masks spans."""
    return dict(batch_tokens=train_config["batch_tokens"],
                max_length=train_config["max_length"],
                bucket_width=train_config["bucket_width"],
                mask_spans=tokenizer.masks_spans(prepare.tokenizer_paths(corpus_dir)[0]))


def _training_matches(corpus_dir, run_dir, worker, min_similarity):
    """`(source, target, match)` triples: each training pair with the
    translation of its nearest other pair (`translate.matches`), where they
    are at least `min_similarity` similar.

    Found once per run (40k pairs: under a minute on 2 cores) and kept in
    `run_dir/TRAINING_MATCHES`, which a resumed run reads back.

    Raises:
        ConfigError: the corpus's tokenizer has no `MATCH_SEPARATOR` (older
            corpora): it must be prepared again.
    """
    source_path = prepare.tokenizer_paths(corpus_dir)[0]
    if not tokenizer.reads_matches(source_path):
        raise config_lib.ConfigError(
            f"train.memory_matches needs a tokenizer with the {tokenizer.MATCH_SEPARATOR} "
            f"piece; {source_path} has none: prepare {corpus_dir} again with this version.")
    path = run_dir / TRAINING_MATCHES
    if not path.exists():
        tm = memory.TranslationMemory.from_corpus(corpus_dir, batch_size=256)
        found = [(source, target, match.target, match.similarity)
                 for source, target, match in zip(tm.sources, tm.targets, tm.nearest_others())
                 if match is not None]
        if worker.is_chief:
            with atomic_file(path, encoding="utf-8") as f:
                json.dump(found, f, ensure_ascii=False)
    else:
        found = json.loads(path.read_text(encoding="utf-8"))
    return [(source, target, match) for source, target, match, similarity in found
            if similarity >= min_similarity]


def train(corpus_dir, run_dir, config, time_budget_minutes=None, verbose=1,
          on_epoch_end=None, strategy="default", callbacks=(), max_steps=None,
          initial_weights=None):
    """Trains (or resumes training) a model on a corpus directory.

    Args:
        corpus_dir: from `translate prepare`.
        run_dir: where checkpoints, logs and curves go; created if needed.
            Under a multi-worker strategy every worker must see it (shared
            storage): the chief writes it and all workers resume from it.
        config: a full config (`translate.config`); `train.precision` sets
            the model's dtype policy.
        time_budget_minutes: stop (after a checkpoint) when this much wall
            time has passed in this call; over its last `train.cooldown`
            fraction the learning rate falls linearly to zero.
        verbose: Keras's progress bar setting (the chief's).
        on_epoch_end: optional `f(model, epoch) -> dict` of extra metrics
            (dev BLEU) recorded with the epoch; called on the chief only.
        strategy: a strategy name (`translate.distribute.STRATEGIES`) or a
            `translate.distribute.Worker`. Make a multi-worker strategy with
            `distribute.make_strategy` before TensorFlow runs anything else.
        callbacks: extra Keras callbacks, run on every worker.
        max_steps: stop (as at a time budget's end) when the run has made
            this many optimizer steps in all, resumed calls included; its
            last `train.cooldown` fraction cools down too. Quality at a
            step budget compares machines of different speeds.
        initial_weights: a `.weights.h5` file of a model of the same
            architecture and vocabulary (another run's `best.weights.h5`) to
            start from, with a fresh optimizer; used only while `run_dir`
            has no checkpoint, so that a resumption continues from its own
            (`translate.adaptation`). None: a random initialisation.

    Returns:
        A dict: `resumed_from_step`, `step`, `epoch`, `stopped` ("done",
        "early_stopping", "time_budget" or "max_steps"), `best_dev_loss`, and
        `dev_loss_at_stop` (the weights' at a budget's stop, which
        become the best weights if they are; `None` without that stop).

    Raises:
        ConfigError: the run directory holds a different config.
        DistributeError: an unknown strategy, or a bad `TF_CONFIG`.
        ValueError: fewer batches than replicas, workers that restored
            different checkpoints, or a `max_steps` below 1.
    """
    if max_steps is not None and (isinstance(max_steps, bool) or not isinstance(max_steps, int)
                                  or max_steps < 1):
        raise ValueError(f"max_steps must be a positive integer, got {max_steps!r}.")
    worker = (strategy if isinstance(strategy, distribute.Worker)
              else distribute.make_strategy(strategy))
    corpus_dir, run_dir = Path(corpus_dir), Path(run_dir)
    # "auto" is resolved once, for this machine: what run.json and the
    # metrics record is the precision the run actually trained in.
    train_cfg = {**config["train"], "precision": resolve_precision(config["train"]["precision"])}
    if worker.is_chief:
        run_dir.mkdir(parents=True, exist_ok=True)
    _save_config(run_dir, config, write=worker.is_chief)
    if worker.is_chief:
        with atomic_file(run_dir / RUN_RECORD, encoding="utf-8") as f:
            json.dump({"corpus_dir": str(corpus_dir.resolve()),
                       "precision": train_cfg["precision"], "strategy": worker.name,
                       "replicas": worker.replicas,
                       **({} if initial_weights is None
                          else {"initial_weights": str(Path(initial_weights).resolve())})}, f)
    keras.utils.set_random_seed(train_cfg["seed"])
    (source_tok, target_tok), (source_vocab, target_vocab) = tokenizers(corpus_dir)
    source_path, target_path = prepare.tokenizer_paths(corpus_dir)
    if config["model"]["copy"] and source_path != target_path:
        raise config_lib.ConfigError(
            f"model.copy needs one joint vocabulary for source and target; {corpus_dir} "
            "has two: prepare it without --separate-vocabularies, or set model.copy: false "
            "in a config file.")
    matched = _training_matches(corpus_dir, run_dir, worker,
                                train_cfg["memory_matches_min_similarity"]) if train_cfg[
        "memory_matches"] else None
    # The default strategy takes the plain path: no scope, no workarounds.
    scope = worker.strategy.scope() if worker.distributed else contextlib.nullcontext()
    with scope, dtype_policy(train_cfg["precision"]):
        model = build_model(config["model"], source_vocab, target_vocab)
        schedule = WarmupInverseSqrt(train_cfg["learning_rate"], train_cfg["warmup_steps"])
        optimizer = make_optimizer(train_cfg, schedule)
        model.compile(optimizer=optimizer,
                      loss=MaskedCrossEntropy(train_cfg["label_smoothing"]),
                      metrics=[masked_accuracy, TokenCount()])
        optimizer.build(model.trainable_variables)
        distribute.prepare_keras_model(model, worker, _example_batch())

    state = {name: tf.Variable(value, dtype=tf.float32 if "loss" in name else tf.int64,
                               trainable=False, name=name)
             for name, value in (("epoch", 0), ("batch", 0), ("bad_epochs", 0),
                                 ("best_dev_loss", float("inf")))}
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, **state)
    checkpoints = _Checkpoints(checkpoint, run_dir / "checkpoints",
                               train_cfg["keep_checkpoints"], worker)
    resumed_from = None
    latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    if latest:
        checkpoint.restore(latest).assert_existing_objects_matched()
        resumed_from = int(optimizer.iterations.numpy())
    elif initial_weights is not None:
        # A compiled model's weights file holds its optimizer too (Keras saves
        # it): read into a model of its own, so this run's optimizer starts
        # fresh, at step 0.
        start = build_model(config["model"], source_vocab, target_vocab)
        start.load_weights(initial_weights)
        model.set_weights(start.get_weights())
    if worker.num_workers > 1:
        _check_same_step(worker, resumed_from or 0)

    budget = None if time_budget_minutes is None else 60.0 * time_budget_minutes
    cpu = cpu_model()  # beside each epoch's tokens/s: a speed names its machine
    progress = _Progress(state, checkpoints, train_cfg["checkpoint_every_steps"], budget,
                         train_cfg["cooldown"], schedule.scale, worker, max_steps)
    callbacks = [progress, *callbacks]
    if train_cfg["weight_average"] > 0:  # fit's validation scores the average
        callbacks.append(keras.callbacks.SwapEMAWeights())
    if worker.is_chief:
        callbacks.append(keras.callbacks.TensorBoard(str(run_dir / "tensorboard"),
                                                     update_freq="epoch"))
    batching = batch_settings(corpus_dir, train_cfg)

    def dev_data():
        return dataset.make_dataset(str(corpus_dir / "dev.tsv"), source_tok, target_tok,
                                    shuffle=False, **batching)

    def train_data(epoch):
        return dataset.make_dataset(
            str(corpus_dir / "train.tsv"), source_tok, target_tok, matched=matched,
            seed=train_cfg["seed"] + epoch, reshuffle_each_iteration=False, **batching)

    dev, dev_steps = (_distributed_data(worker, dev_data, 0, "dev") if worker.distributed
                      else (dev_data(), None))
    stopped, dev_loss_at_stop = "done", None
    while (int(state["epoch"]) < train_cfg["epochs"]
           and (max_steps is None or int(optimizer.iterations.numpy()) < max_steps)):
        epoch = int(state["epoch"])
        if worker.distributed:
            data, steps = _distributed_data(worker, lambda epoch=epoch: train_data(epoch),
                                            int(state["batch"]), "train")
        else:
            data, steps = train_data(epoch).skip(int(state["batch"])), None
        started = time.perf_counter()
        history = model.fit(data, validation_data=dev, initial_epoch=epoch,
                            epochs=epoch + 1, steps_per_epoch=steps,
                            validation_steps=dev_steps, shuffle=False, callbacks=callbacks,
                            verbose=verbose if worker.is_chief else 0)
        if progress.stop_reason:
            # The budget's last steps count (a cool-down's, at the lowest
            # rates, most of all): the weights at the stop are scored on dev
            # and kept as the best if they are.
            stopped = progress.stop_reason
            with averaged_weights(model):
                dev_loss_at_stop = model.evaluate(dev, steps=dev_steps, verbose=0,
                                                  return_dict=True)["loss"]
                _keep_if_best(state, dev_loss_at_stop, model, run_dir, worker)
            checkpoints.save(int(optimizer.iterations.numpy()))
            break
        logs = {k: v[-1] for k, v in history.history.items()}
        dev_loss = logs.get("val_loss", float("nan"))
        if worker.is_chief:
            record = {"epoch": epoch + 1, "step": int(optimizer.iterations.numpy()),
                      "seconds": time.perf_counter() - started,
                      **{k: float(v) for k, v in logs.items() if "tokens" not in k},
                      "precision": train_cfg["precision"], "replicas": worker.replicas,
                      "learning_rate": float(schedule(optimizer.iterations))}
            record["train_tokens"] = int(progress.tokens)
            record["train_tokens_per_second"] = progress.tokens / record["seconds"]
            record["cpu"] = cpu
            if on_epoch_end is not None:
                with averaged_weights(model):  # dev BLEU of what is kept
                    record.update(on_epoch_end(model, epoch + 1))
            _record_epoch(run_dir, record)
            plots.training_curves(read_metrics(run_dir), run_dir / "curves.png")
        # The weight average, where there is one, is what is scored (fit's
        # validation saw it too) and kept; the checkpoint holds both.
        with averaged_weights(model):
            improved = _keep_if_best(state, dev_loss, model, run_dir, worker)
        if improved:
            state["bad_epochs"].assign(0)
        else:
            state["bad_epochs"].assign_add(1)
        state["epoch"].assign_add(1)
        state["batch"].assign(0)
        checkpoints.save(int(optimizer.iterations.numpy()))
        if int(state["bad_epochs"]) >= train_cfg["early_stopping_patience"]:
            stopped = "early_stopping"
            break
    return {"resumed_from_step": resumed_from, "step": int(optimizer.iterations.numpy()),
            "epoch": int(state["epoch"]), "stopped": stopped,
            "best_dev_loss": float(state["best_dev_loss"]),
            "dev_loss_at_stop": dev_loss_at_stop}
