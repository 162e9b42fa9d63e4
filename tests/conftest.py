"""Shared fixtures: quiet TensorFlow, a seeded generator, Keras/ours pairs."""

import os
import tempfile

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
# The suite's own user cache (translate.cache), also for the commands it runs:
# a test never reads or writes the user's.
os.environ["TRANSLATE_CACHE_DIR"] = tempfile.mkdtemp(prefix="translate-cache-")
# The translation tests train and decode tiny models a few steps per input
# shape, where XLA's compilation of each shape costs more than it saves (an
# adaptation test: 36 s with it, 16 s without): they run with it off, their
# fixtures and the commands they start too; the layer's tests (marked
# `layer`) keep the layer's default. `GRU_KERAS_XLA=auto make test` runs
# every test with the default.
LAYER_XLA = os.environ.get("GRU_KERAS_XLA")
os.environ["GRU_KERAS_XLA"] = LAYER_XLA or "0"

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(autouse=True)
def _layer_xla_policy(request, monkeypatch):
    if request.node.get_closest_marker("layer") is not None:
        if LAYER_XLA is None:
            monkeypatch.delenv("GRU_KERAS_XLA")
        else:
            monkeypatch.setenv("GRU_KERAS_XLA", LAYER_XLA)


@pytest.fixture(autouse=True)
def _float32_policy():
    keras.mixed_precision.set_global_policy("float32")
    yield
    keras.mixed_precision.set_global_policy("float32")


def perturbed(weights, rng, scale=0.3):
    """Weights with noise added, so zero biases also get compared."""
    return [w + scale * rng.standard_normal(w.shape).astype(w.dtype)
            for w in weights]


def assert_close(a, b, atol):
    for u, v in zip(tf.nest.flatten(a), tf.nest.flatten(b), strict=True):
        np.testing.assert_allclose(np.asarray(u), np.asarray(v), atol=atol, rtol=0)


def gradients(layer, x, mask=None, training=False):
    """The layer's output and the gradients of a weighted sum of it with
    respect to the inputs and every trainable weight."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        out = layer(x, mask=mask, training=training)
        weights = tf.reshape(tf.range(tf.size(out), dtype=out.dtype), out.shape)
        loss = tf.reduce_sum(out * weights / tf.cast(tf.size(out), out.dtype))
    return [out] + tape.gradient(loss, [x] + layer.trainable_weights)


@pytest.fixture(scope="session")
def tiny_export(tmp_path_factory):
    """A tiny run with varied outputs, exported once for the whole session.

    Returns the root directory: `corpus/` (the synthetic corpus), `run/` (the
    `tiny` preset after one epoch, its weights varied: `messages.vary_weights`)
    and `models/translator/1/` (its export, recording the pair en -> de).
    Tests must not change these directories. Under pytest-xdist the workers
    share one: the first to need it builds it, the others wait for it.
    """
    from filelock import FileLock

    from messages import tiny_corpus, tiny_run, vary_weights
    from translate.export import export

    # The workers' base directories (popen-gw0, ...) share a parent, which
    # is this run's; without xdist the parent holds earlier runs too.
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = tmp_path_factory.getbasetemp().parent / "tiny_export"
    else:
        root = tmp_path_factory.mktemp("tiny_export")
    with FileLock(f"{root}.lock"):
        if not (root / "built").exists():
            root.mkdir(exist_ok=True)
            tiny_run(tiny_corpus(root), root / "run", epochs=1)
            vary_weights(root / "run")
            export(root / "run", root / "models", languages=("en", "de"))
            (root / "built").touch()
    return root
