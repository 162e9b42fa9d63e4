"""Training: Keras `fit` epoch by epoch, with checkpoints that resume exactly.

A run directory holds `config.json`, `run.json` (the corpus directory),
`checkpoints/` (the latest few, with the
optimizer state, the epoch, and the batch reached within it),
`best.weights.h5` (the weights of the best dev loss), `metrics.jsonl`, `tensorboard/` and
`curves.png`. Running the same command again after an interruption (Ctrl-C,
kill -9) restores the latest checkpoint and goes on from the same step and
the same position in the data: each epoch's batches come from a dataset
seeded by the epoch, so the batches already seen are skipped exactly.
"""

import json
import os
import time
from pathlib import Path

import keras
import tensorflow as tf

from translate import config as config_lib
from translate import dataset, plots, tokenizer
from translate.atomic import atomic_file
from translate.model import build_model
from translate.tokenizer import SPECIAL_IDS

PAD = SPECIAL_IDS["pad"]
BEST_WEIGHTS = "best.weights.h5"


@keras.saving.register_keras_serializable(package="translate")
class WarmupInverseSqrt(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up to `peak`, then decay with the inverse square root."""

    def __init__(self, peak, warmup_steps):
        self.peak = peak
        self.warmup_steps = warmup_steps

    def __call__(self, step):
        step = tf.cast(step, tf.float32) + 1.0
        warmup = tf.cast(max(self.warmup_steps, 1), tf.float32)
        return self.peak * tf.minimum(step / warmup, tf.sqrt(warmup / step))

    def get_config(self):
        return {"peak": self.peak, "warmup_steps": self.warmup_steps}


@keras.saving.register_keras_serializable(package="translate")
class MaskedCrossEntropy(keras.losses.Loss):
    """Token cross-entropy with label smoothing, averaged over real tokens."""

    def __init__(self, label_smoothing=0.1, name="masked_cross_entropy", **kwargs):
        super().__init__(name=name, **kwargs)
        self.label_smoothing = label_smoothing

    def call(self, y_true, y_pred):
        log_probs = tf.nn.log_softmax(tf.cast(y_pred, tf.float32))
        labels = tf.cast(y_true, tf.int32)
        nll = -tf.gather(log_probs, labels, batch_dims=2)
        smooth = -tf.reduce_mean(log_probs, axis=-1)
        eps = self.label_smoothing
        loss = (1.0 - eps) * nll + eps * smooth
        mask = tf.cast(tf.not_equal(labels, PAD), tf.float32)
        return tf.reduce_sum(loss * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)

    def get_config(self):
        return {**super().get_config(), "label_smoothing": self.label_smoothing}


def masked_accuracy(y_true, y_pred):
    """Share of real (non-pad) target tokens predicted exactly."""
    labels = tf.cast(y_true, tf.int32)
    mask = tf.cast(tf.not_equal(labels, PAD), tf.float32)
    hits = tf.cast(tf.equal(tf.argmax(y_pred, -1, output_type=tf.int32), labels), tf.float32)
    return tf.reduce_sum(hits * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


class _Progress(keras.callbacks.Callback):
    """Checkpoints every N steps, stops at the time budget, logs throughput."""

    def __init__(self, state, manager, every, deadline):
        super().__init__()
        self.state, self.manager, self.every = state, manager, every
        self.deadline = deadline
        self.out_of_time = False

    def on_epoch_begin(self, epoch, logs=None):
        self.tokens = 0

    def on_train_batch_end(self, batch, logs=None):
        self.state["batch"].assign_add(1)
        self.tokens += int(logs.get("tokens", 0)) if logs else 0
        if int(self.state["batch"]) % self.every == 0:
            self.manager.save(checkpoint_number=self.model.optimizer.iterations)
        if self.deadline is not None and time.time() > self.deadline:
            self.manager.save(checkpoint_number=self.model.optimizer.iterations)
            self.out_of_time = True
            self.model.stop_training = True


class TokenCount(keras.metrics.Metric):
    """Real target tokens in the current batch (for throughput logs)."""

    def __init__(self, name="tokens", **kwargs):
        super().__init__(name=name, **kwargs)
        self.count = self.add_variable(shape=(), initializer="zeros", name="count")

    def update_state(self, y_true, y_pred, sample_weight=None):
        self.count.assign(tf.reduce_sum(tf.cast(tf.not_equal(y_true, PAD), tf.float32)))

    def result(self):
        return self.count

    def reset_state(self):
        self.count.assign(0.0)


def _save_best(model, run_dir):
    """The model's weights (no optimizer) as `best.weights.h5`, atomically."""
    staging = run_dir / ".staging-best.weights.h5"
    model.save_weights(staging)
    os.replace(staging, run_dir / BEST_WEIGHTS)


def _save_config(run_dir, config):
    path = run_dir / "config.json"
    if path.exists():
        saved = json.loads(path.read_text())
        if saved != config:
            raise config_lib.ConfigError(
                f"{path} holds a different config; resume with the same settings "
                "or use a new --run-dir.")
        return
    with atomic_file(path, encoding="utf-8") as f:
        json.dump(config, f, indent=2)


def _record_epoch(run_dir, record):
    """Writes the epoch's record, replacing one of the same epoch (an epoch
    finished again after an interruption), atomically."""
    records = [r for r in read_metrics(run_dir) if r["epoch"] != record["epoch"]]
    with atomic_file(run_dir / "metrics.jsonl", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in records + [record])


def read_metrics(run_dir):
    """The records of `metrics.jsonl`, one per finished epoch."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line]


def tokenizers(corpus_dir):
    """`(source, target)` in-graph tokenizers and vocab sizes of a corpus."""
    corpus_dir = Path(corpus_dir)
    manifest = json.loads((corpus_dir / "manifest.json").read_text())
    paths = [corpus_dir / manifest["tokenizer"][side] for side in ("source", "target")]
    return ([tokenizer.tf_tokenizer(p) for p in paths],
            [tokenizer.vocab_size(p) for p in paths])


def train(corpus_dir, run_dir, config, time_budget_minutes=None, verbose=1,
          on_epoch_end=None):
    """Trains (or resumes training) a model on a corpus directory.

    Args:
        corpus_dir: from `translate prepare`.
        run_dir: where checkpoints, logs and curves go; created if needed.
        config: a full config (`translate.config`).
        time_budget_minutes: stop (after a checkpoint) when this much wall
            time has passed in this call.
        verbose: Keras's progress bar setting.
        on_epoch_end: optional `f(model, epoch) -> dict` of extra metrics
            (dev BLEU) recorded with the epoch.

    Returns:
        A dict: `resumed_from_step`, `step`, `epoch`, `stopped` ("done",
        "early_stopping" or "time_budget"), `best_dev_loss`.
    """
    corpus_dir, run_dir = Path(corpus_dir), Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    _save_config(run_dir, config)
    with atomic_file(run_dir / "run.json", encoding="utf-8") as f:
        json.dump({"corpus_dir": str(corpus_dir.resolve())}, f)
    train_cfg = config["train"]
    keras.utils.set_random_seed(train_cfg["seed"])
    keras.mixed_precision.set_global_policy(train_cfg["precision"])
    (source_tok, target_tok), (source_vocab, target_vocab) = tokenizers(corpus_dir)
    model = build_model(config["model"], source_vocab, target_vocab)
    optimizer = keras.optimizers.Adam(
        WarmupInverseSqrt(train_cfg["learning_rate"], train_cfg["warmup_steps"]),
        clipnorm=train_cfg["clip_norm"])
    if train_cfg["precision"] == "mixed_float16":
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    model.compile(optimizer=optimizer,
                  loss=MaskedCrossEntropy(train_cfg["label_smoothing"]),
                  metrics=[masked_accuracy, TokenCount()])
    optimizer.build(model.trainable_variables)

    state = {name: tf.Variable(value, dtype=tf.float32 if "loss" in name else tf.int64,
                               trainable=False, name=name)
             for name, value in (("epoch", 0), ("batch", 0), ("bad_epochs", 0),
                                 ("best_dev_loss", float("inf")))}
    checkpoint = tf.train.Checkpoint(model=model, optimizer=optimizer, **state)
    manager = tf.train.CheckpointManager(checkpoint, run_dir / "checkpoints",
                                         max_to_keep=train_cfg["keep_checkpoints"])
    resumed_from = None
    if manager.latest_checkpoint:
        checkpoint.restore(manager.latest_checkpoint).assert_existing_objects_matched()
        resumed_from = int(optimizer.iterations.numpy())

    deadline = None if time_budget_minutes is None else time.time() + 60 * time_budget_minutes
    progress = _Progress(state, manager, train_cfg["checkpoint_every_steps"], deadline)
    board = keras.callbacks.TensorBoard(str(run_dir / "tensorboard"), update_freq="epoch")
    dev = dataset.make_dataset(str(corpus_dir / "dev.tsv"), source_tok, target_tok,
                               batch_tokens=train_cfg["batch_tokens"],
                               max_length=train_cfg["max_length"], shuffle=False)
    stopped = "done"
    while int(state["epoch"]) < train_cfg["epochs"]:
        epoch = int(state["epoch"])
        data = dataset.make_dataset(
            str(corpus_dir / "train.tsv"), source_tok, target_tok,
            batch_tokens=train_cfg["batch_tokens"], max_length=train_cfg["max_length"],
            seed=train_cfg["seed"] + epoch, reshuffle_each_iteration=False)
        started = time.perf_counter()
        history = model.fit(data.skip(int(state["batch"])), validation_data=dev,
                            initial_epoch=epoch, epochs=epoch + 1, shuffle=False,
                            callbacks=[progress, board], verbose=verbose)
        if progress.out_of_time:
            stopped = "time_budget"
            break
        logs = {k: v[-1] for k, v in history.history.items()}
        dev_loss = logs.get("val_loss", float("nan"))
        record = {"epoch": epoch + 1, "step": int(optimizer.iterations.numpy()),
                  "seconds": time.perf_counter() - started,
                  **{k: float(v) for k, v in logs.items() if "tokens" not in k}}
        record["train_tokens_per_second"] = progress.tokens / record["seconds"]
        if on_epoch_end is not None:
            record.update(on_epoch_end(model, epoch + 1))
        _record_epoch(run_dir, record)
        plots.training_curves(read_metrics(run_dir), run_dir / "curves.png")
        if dev_loss < float(state["best_dev_loss"]):
            state["best_dev_loss"].assign(dev_loss)
            state["bad_epochs"].assign(0)
            _save_best(model, run_dir)
        else:
            state["bad_epochs"].assign_add(1)
        state["epoch"].assign_add(1)
        state["batch"].assign(0)
        manager.save(checkpoint_number=optimizer.iterations)
        if int(state["bad_epochs"]) >= train_cfg["early_stopping_patience"]:
            stopped = "early_stopping"
            break
    return {"resumed_from_step": resumed_from, "step": int(optimizer.iterations.numpy()),
            "epoch": int(state["epoch"]), "stopped": stopped,
            "best_dev_loss": float(state["best_dev_loss"])}
