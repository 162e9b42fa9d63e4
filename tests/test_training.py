"""Training the tiny preset: checkpoints, exact resumption after kill -9,
logs and curves, configs, and a model that reloads in a fresh process."""

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path

import keras
import numpy as np
import pytest

from killing import kill_after_checkpoint
from messages import tiny_corpus, tiny_run
from translate import config, training
from translate.model import build_model

ROOT = Path(__file__).resolve().parents[1]
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return tiny_corpus(tmp_path_factory.mktemp("train"))


def train_command(corpus, run_dir, config_file):
    return [sys.executable, "-m", "translate", "train", str(corpus),
            "--run-dir", str(run_dir), "--config", str(config_file)]


def test_tiny_training_learns_and_writes_its_records(corpus, tmp_path):
    settings = config.preset("tiny")
    settings["train"]["epochs"] = 4
    result = training.train(corpus, tmp_path / "run", settings, verbose=0)
    assert result["stopped"] == "done" and result["epoch"] == 4
    records = training.read_metrics(tmp_path / "run")
    assert [r["epoch"] for r in records] == [1, 2, 3, 4]
    assert records[-1]["loss"] < records[0]["loss"]
    assert records[-1]["train_tokens_per_second"] > 0
    # Every epoch goes through the whole training split: the same target tokens.
    assert len({r["train_tokens"] for r in records}) == 1 and records[0]["train_tokens"] > 0
    assert records[-1]["cpu"] and isinstance(records[-1]["cpu"], str)
    assert (tmp_path / "run" / "curves.png").read_bytes()[:4] == b"\x89PNG"
    assert list((tmp_path / "run" / "tensorboard").rglob("events.out.tfevents*"))
    assert (tmp_path / "run" / training.BEST_WEIGHTS).exists()


def test_killed_training_resumes_from_its_last_checkpoint(corpus, tmp_path):
    settings = config.preset("tiny")
    settings["train"].update(epochs=6, checkpoint_every_steps=3)
    config_file = tmp_path / "tiny.json"
    config_file.write_text(json.dumps(settings))
    run_dir = tmp_path / "run"
    checkpoints = run_dir / "checkpoints"
    saved_step = kill_after_checkpoint(train_command(corpus, run_dir, config_file),
                                       checkpoints, 6, cwd=ROOT, env=ENV, poll=0.2)
    assert saved_step >= 6

    result = subprocess.run(train_command(corpus, run_dir, config_file), cwd=ROOT, env=ENV,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"resumed from step {saved_step}" in result.stdout
    epochs = [r["epoch"] for r in training.read_metrics(run_dir)]
    assert epochs == sorted(set(epochs)) and epochs[-1] == 6, "every epoch once"


def best_model(corpus, run_dir, epochs, **model_settings):
    """Trains the tiny preset; returns its settings, tokenizers and best model."""
    settings = tiny_run(corpus, run_dir, epochs, **model_settings)
    tokenizers, (vocab, _) = training.tokenizers(corpus)
    model = build_model(settings["model"], vocab, vocab)
    model.load_weights(run_dir / training.BEST_WEIGHTS)
    return settings, tokenizers, model


@pytest.mark.parametrize("copy", [False, True])
def test_trained_model_reloads_in_a_fresh_process(corpus, tmp_path, copy):
    _, _, model = best_model(corpus, tmp_path / "run", epochs=1, copy=copy)
    batch = {"source": np.array([[5, 6, 7, 3]], "int32"),
             "target_in": np.array([[2, 8, 9]], "int32")}
    np.save(tmp_path / "want.npy", np.asarray(model(batch)))
    model.save(tmp_path / "model.keras")
    code = f"""
import numpy as np, keras
import translate.model
model = keras.models.load_model({str(tmp_path / 'model.keras')!r})
batch = {{"source": np.array([[5, 6, 7, 3]], "int32"), "target_in": np.array([[2, 8, 9]], "int32")}}
np.testing.assert_allclose(np.asarray(model(batch)), np.load({str(tmp_path / 'want.npy')!r}), atol=1e-5)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=ENV,
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]


def test_config_errors_name_the_key(tmp_path):
    with pytest.raises(config.ConfigError, match="unknown key model.unitz"):
        config.from_mapping({"model": {"unitz": 3}})
    with pytest.raises(config.ConfigError, match="train.epochs must be int"):
        config.from_mapping({"train": {"epochs": "many"}})
    with pytest.raises(config.ConfigError, match="unknown preset 'huge'"):
        config.preset("huge")
    with pytest.raises(config.ConfigError, match="model.attention must be one of"):
        config.from_mapping({"model": {"attention": "dot"}})
    with pytest.raises(config.ConfigError, match="train.cooldown must be between 0.0 and 1.0"):
        config.from_mapping({"train": {"cooldown": 1.5}})
    path = tmp_path / "c.yaml"
    path.write_text("preset: small\nmodel:\n  units: 128\n")
    loaded = config.load(path)
    assert loaded["model"]["units"] == 128
    assert loaded["train"] == config.preset("small")["train"]
    assert set(config.PRESETS) == {"tiny", "small", "base"}


def test_cooldown_brings_the_learning_rate_to_zero_at_the_deadline():
    assert training.cooldown_scale(600, 1200, 0.25) == 1.0  # before the cool-down
    assert training.cooldown_scale(150, 1200, 0.25) == 0.5
    assert training.cooldown_scale(-1, 1200, 0.25) == 0.0
    assert training.cooldown_scale(1, 1200, 0.0) == 1.0  # no cool-down


def test_time_budget_cools_the_learning_rate_down(corpus, tmp_path):
    settings = config.preset("tiny")
    settings["train"].update(epochs=1000, cooldown=1.0, early_stopping_patience=1000)
    result = training.train(corpus, tmp_path / "run", settings, verbose=0,
                            time_budget_minutes=1.0)
    assert result["stopped"] == "time_budget"
    schedule = training.WarmupInverseSqrt(settings["train"]["learning_rate"],
                                          settings["train"]["warmup_steps"])
    # The recorded rate over the schedule's own: below 1 and falling.
    scales = [r["learning_rate"] / float(schedule(r["step"]))
              for r in training.read_metrics(tmp_path / "run")]
    assert len(scales) >= 2 and scales[0] < 1
    assert all(later < earlier for earlier, later in zip(scales, scales[1:]))
    # The steps after the last full epoch count: the weights at the stop are
    # scored on dev, kept as the best if they are, and checkpointed.
    records = training.read_metrics(tmp_path / "run")
    assert result["best_dev_loss"] == pytest.approx(
        min(result["dev_loss_at_stop"], *(r["val_loss"] for r in records)))
    import tensorflow as tf
    latest = tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints"))
    assert latest.endswith(f"ckpt-{result['step']}") and result["step"] > records[-1]["step"]


def test_a_run_from_before_a_new_config_key_resumes(tmp_path):
    settings = config.preset("tiny")
    older = json.loads(json.dumps(settings))
    del older["train"]["cooldown"]
    (tmp_path / "config.json").write_text(json.dumps(older))
    training._save_config(tmp_path, settings)  # the new key takes its default
    settings["train"]["cooldown"] = 0.5
    with pytest.raises(config.ConfigError, match="holds a different config"):
        training._save_config(tmp_path, settings)


def test_copying_needs_a_joint_vocabulary(corpus, tmp_path):
    import shutil
    separate = tmp_path / "corpus"
    shutil.copytree(corpus, separate)
    manifest = json.loads((separate / "manifest.json").read_text())
    shutil.copy(separate / manifest["tokenizer"]["target"], separate / "target.model")
    manifest["tokenizer"]["target"] = "target.model"
    (separate / "manifest.json").write_text(json.dumps(manifest))
    settings = config.preset("tiny")
    settings["model"]["copy"] = True
    with pytest.raises(config.ConfigError, match="model.copy needs one joint vocabulary"):
        training.train(separate, tmp_path / "run", settings, verbose=0)


def test_cli_train_reports_a_bad_config_without_traceback(corpus, tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"train": {"epochz": 1}}))
    result = subprocess.run(train_command(corpus, tmp_path / "run", bad), cwd=ROOT,
                            env=ENV, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert "unknown key train.epochz" in result.stderr and "Traceback" not in result.stderr


def test_checkpoints_hold_every_model_weight(corpus, tmp_path):
    """A restored best checkpoint is the model that scored the best dev loss."""
    import tensorflow as tf

    from translate import dataset
    settings, (source, target), model = best_model(corpus, tmp_path / "run", epochs=2)
    vocab = model.settings["source_vocab"]
    model.compile(loss=training.MaskedCrossEntropy(settings["train"]["label_smoothing"]))
    dev = dataset.make_dataset(str(corpus / "dev.tsv"), source, target, shuffle=False,
                               **training.batch_settings(corpus, settings["train"]))
    records = training.read_metrics(tmp_path / "run")
    assert abs(model.evaluate(dev, verbose=0) - min(r["val_loss"] for r in records)) < 1e-3
    # The latest training checkpoint holds every weight too (resumption).
    fresh = build_model(settings["model"], vocab, vocab)
    tf.train.Checkpoint(model=fresh).restore(
        tf.train.latest_checkpoint(str(tmp_path / "run" / "checkpoints"))).expect_partial()
    loss = training.MaskedCrossEntropy(settings["train"]["label_smoothing"])
    batches = [(float(loss(y, fresh(x))), int(y.shape[0])) for x, y in dev]
    mean = sum(v * n for v, n in batches) / sum(n for _, n in batches)  # as Keras averages
    assert abs(mean - records[-1]["val_loss"]) < 1e-3


class Interrupted(Exception):
    pass


class CrashAt(keras.callbacks.Callback):
    """Raises at a step of an epoch, as an interruption would stop training."""

    def __init__(self, epoch, batch):
        super().__init__()
        self.at = (epoch, batch)

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        # Inside training: the model's own dtypes.
        self.dtypes = ({w.dtype for w in self.model.weights}, self.model.compute_dtype)
        if (self.epoch, batch) == self.at:
            raise Interrupted


def test_mixed_bfloat16_trains_resumes_and_decodes(corpus, tmp_path):
    from translate.inference import Translator

    settings = config.preset("tiny")
    settings["train"].update(epochs=2, batch_tokens=256, checkpoint_every_steps=3,
                             precision="mixed_bfloat16")
    run_dir = tmp_path / "run"
    crash = CrashAt(epoch=1, batch=4)
    with pytest.raises(Interrupted):
        training.train(corpus, run_dir, settings, verbose=0, callbacks=[crash])
    assert crash.dtypes == ({"float32"}, "bfloat16")
    # The policy was the model's only: the process's is float32 again.
    assert keras.mixed_precision.global_policy().name == "float32"
    first, = training.read_metrics(run_dir)
    assert np.isfinite(first["loss"]) and np.isfinite(first["val_loss"])
    assert first["precision"] == "mixed_bfloat16"
    assert json.loads((run_dir / "run.json").read_text())["precision"] == "mixed_bfloat16"
    import tensorflow as tf
    latest = tf.train.latest_checkpoint(str(run_dir / "checkpoints"))
    saved = int(latest.split("-")[-1])
    assert saved > first["step"]  # within the second epoch
    stored = tf.train.load_checkpoint(latest).get_variable_to_dtype_map()
    assert {stored[k] for k in stored if k.startswith("model/")} == {tf.float32}

    result = training.train(corpus, run_dir, settings, verbose=0)
    assert result["resumed_from_step"] == saved and result["epoch"] == 2
    assert np.isfinite(training.read_metrics(run_dir)[-1]["loss"])
    # Decoding loads the run as float32 weights into a float32 model.
    translator = Translator.from_run(run_dir, beam_width=2)
    assert translator.model.compute_dtype == "float32"
    assert all(isinstance(t, str) for t in translator.translate(["Deleted {count} items"]))


@pytest.mark.parametrize("gpus,bfloat16,expected", [
    ([], True, "mixed_bfloat16"), ([], False, "float32"), (["GPU:0"], True, "float32")])
def test_auto_precision_is_bfloat16_on_a_cpu_with_bfloat16_matmuls(monkeypatch, gpus, bfloat16,
                                                                  expected):
    import tensorflow as tf
    monkeypatch.setattr(tf.config, "list_physical_devices", lambda kind=None: gpus)
    monkeypatch.setattr(training, "has_bfloat16_matmuls", lambda: bfloat16)
    assert training.resolve_precision("auto") == expected
    for name in ("float32", "mixed_float16", "mixed_bfloat16"):
        assert training.resolve_precision(name) == name


def test_cpu_flags_name_bfloat16_matmuls(tmp_path):
    from translate import machine
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx512f avx512_bf16 sse2\n")
    assert {"avx512f", "avx512_bf16"} <= machine.cpu_flags(cpuinfo)
    assert machine.has_bfloat16_matmuls({"avx512f", "amx_bf16"})
    assert not machine.has_bfloat16_matmuls({"avx512f", "avx2"})
    assert machine.cpu_flags(tmp_path / "missing") == set()


def test_a_bfloat16_projection_is_named_slower_only_without_native_bfloat16():
    from translate import machine
    with pytest.warns(UserWarning, match="export/1 computes .* does not multiply natively"):
        machine.warn_if_bfloat16_is_slow("export/1", {"avx512f", "avx2"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        machine.warn_if_bfloat16_is_slow("export/1", {"avx512f", "avx512_bf16"})


def test_a_run_records_the_precision_auto_chose(corpus, tmp_path, monkeypatch):
    monkeypatch.setattr(training, "has_bfloat16_matmuls", lambda: True)
    settings = config.preset("tiny")
    settings["train"].update(epochs=1, precision="auto")
    training.train(corpus, tmp_path / "run", settings, verbose=0)
    record, = training.read_metrics(tmp_path / "run")
    assert record["precision"] == "mixed_bfloat16"
    assert json.loads((tmp_path / "run" / "run.json").read_text())["precision"] == "mixed_bfloat16"
    # The run's config keeps "auto": resumed elsewhere, it is resolved there.
    assert json.loads((tmp_path / "run" / "config.json").read_text())["train"]["precision"] == "auto"


def test_mixed_float16_scales_the_loss(corpus, tmp_path):
    settings = config.preset("tiny")
    settings["train"].update(epochs=1, precision="mixed_float16")
    assert isinstance(training.make_optimizer(settings["train"]),
                      keras.optimizers.LossScaleOptimizer)
    assert not isinstance(training.make_optimizer(config.preset("tiny")["train"]),
                          keras.optimizers.LossScaleOptimizer)
    # float16 runs on CPU too (slowly): a few steps, a finite loss, and the
    # dynamic loss scale saved with the optimizer.
    training.train(corpus, tmp_path / "run", settings, verbose=0)
    record, = training.read_metrics(tmp_path / "run")
    assert np.isfinite(record["loss"]) and record["precision"] == "mixed_float16"
    import tensorflow as tf
    stored = tf.train.load_checkpoint(str(tmp_path / "run" / "checkpoints"))
    assert any("dynamic_scale" in k for k in stored.get_variable_to_shape_map())


class _WeightsEachStep(keras.callbacks.Callback):
    """The training weights after every step."""

    def __init__(self):
        super().__init__()
        self.steps = []

    def on_train_batch_end(self, batch, logs=None):
        self.steps.append([v.numpy() for v in self.model.trainable_variables])


def test_a_weight_average_is_kept_and_training_goes_on_from_the_weights(corpus, tmp_path):
    settings = config.preset("tiny")
    settings["train"].update(batch_tokens=256, epochs=2)  # a few steps an epoch
    momentum = 0.6
    recorded = {}
    for average in (0.0, momentum):
        settings["train"]["weight_average"] = average
        recorded[average] = _WeightsEachStep()
        training.train(corpus, tmp_path / str(average), settings, verbose=0,
                       callbacks=[recorded[average]])
    # The average never steers training, within an epoch or across them:
    # the same weights step for step.
    assert len(recorded[0.0].steps) == len(recorded[momentum].steps)
    for plain, averaged in zip(recorded[0.0].steps, recorded[momentum].steps):
        for a, b in zip(plain, averaged):
            np.testing.assert_allclose(a, b, atol=1e-6)
    # Scored on dev and kept (so exported): the moving average of those
    # weights (the first step's taken whole) at the epoch of the best dev loss.
    best = min(training.read_metrics(tmp_path / str(momentum)), key=lambda r: r["val_loss"])
    steps = recorded[momentum].steps[:best["step"]]
    expected = steps[0]
    for weights in steps[1:]:
        expected = [momentum * e + (1 - momentum) * w for e, w in zip(expected, weights)]
    _, (vocab, _) = training.tokenizers(corpus)
    kept = build_model(settings["model"], vocab, vocab)
    kept.load_weights(tmp_path / str(momentum) / training.BEST_WEIGHTS)
    for got, want in zip(kept.trainable_variables, expected):
        np.testing.assert_allclose(got.numpy(), want, atol=1e-5)
    assert any(not np.allclose(got.numpy(), last, atol=1e-4)
               for got, last in zip(kept.trainable_variables, steps[-1]))
    # The checkpoints hold the average too: interrupted in its second epoch
    # and resumed, a run keeps the same weights.
    settings["train"]["checkpoint_every_steps"] = 2
    resumed = tmp_path / "resumed"
    with pytest.raises(Interrupted):
        training.train(corpus, resumed, settings, verbose=0, callbacks=[CrashAt(1, 2)])
    resumed_from = training.train(corpus, resumed, settings, verbose=0)["resumed_from_step"]
    assert 0 < resumed_from < best["step"]  # the kept average spans the interruption
    again = build_model(settings["model"], vocab, vocab)
    again.load_weights(resumed / training.BEST_WEIGHTS)
    for got, want in zip(again.trainable_variables, kept.trainable_variables):
        np.testing.assert_allclose(got.numpy(), want.numpy(), atol=1e-6)
    with pytest.raises(config.ConfigError, match="train.weight_average must be between"):
        config.from_mapping({"train": {"weight_average": 1.0}})
