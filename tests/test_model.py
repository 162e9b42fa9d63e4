"""The encoder-decoder: built from gru_keras.GRU only, padding-blind, its
step-by-step decoder equal to teacher forcing, options and their errors."""

import keras
import numpy as np
import pytest
import tensorflow as tf

import gru_keras
from translate.model import Seq2Seq

SOURCE = np.array([[5, 6, 7, 3, 0, 0], [8, 9, 3, 0, 0, 0]], "int32")
TARGET_IN = np.array([[2, 10, 11, 12], [2, 13, 14, 0]], "int32")


def model(**kwargs):
    keras.utils.set_random_seed(0)
    settings = dict(embedding_dim=16, units=16, dropout=0.1, encoder_layers=2,
                    decoder_layers=2)
    settings.update(kwargs)
    m = Seq2Seq(40, 40, **settings)
    m({"source": SOURCE, "target_in": TARGET_IN})
    return m


def test_only_gru_keras_recurrent_layers():
    m = model()
    rnns = [layer for layer in m._flatten_layers() if isinstance(layer, keras.layers.RNN)]
    assert rnns and all(isinstance(layer, gru_keras.GRU) for layer in rnns)


@pytest.mark.parametrize("attention", ["additive", "multiplicative"])
@pytest.mark.parametrize("tie_output, decoder_units", [(False, None), (True, None), (False, 24)])
def test_step_decoding_equals_teacher_forcing(attention, tie_output, decoder_units):
    m = model(attention=attention, tie_output=tie_output, bidirectional=not tie_output,
              decoder_units=decoder_units)
    logits = m({"source": SOURCE, "target_in": TARGET_IN}).numpy()
    memory, mask, states = m.encode(SOURCE)
    keys = m.attention_keys(memory)
    for t in range(TARGET_IN.shape[1]):
        step, states, weights = m.decode_step(TARGET_IN[:, t], states, keys, memory, mask)
        np.testing.assert_allclose(step.numpy()[0], logits[0, t], atol=1e-5)
        np.testing.assert_allclose(np.asarray(weights)[:, 4:], 0.0, atol=1e-7)


@pytest.mark.parametrize("attention", ["additive", "multiplicative"])
def test_copying_step_decoding_sums_vocabulary_and_source(attention):
    m = model(attention=attention, copy=True)
    source = np.array([[5, 6, 5, 3, 0, 0], [8, 8, 3, 0, 0, 0]], "int32")  # repeated words
    scores = m({"source": source, "target_in": TARGET_IN}).numpy()
    assert scores.shape == (2, 4, 40 + source.shape[1])
    # Each word's probability, written plainly: its vocabulary entry's plus
    # that of every source position holding it.
    p = np.exp(scores - scores.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    words = p[..., :40].copy()
    for b, t, s in np.ndindex(2, 4, source.shape[1]):
        words[b, t, source[b, s]] += p[b, t, 40 + s]
    assert p[..., 40:][np.broadcast_to(source[:, None] == 0, p[..., 40:].shape)].max() < 1e-30
    memory, mask, states = m.encode(source)
    keys = m.attention_keys(memory)
    for t in range(TARGET_IN.shape[1]):
        step, states, _ = m.decode_step(TARGET_IN[:, t], states, keys, memory, mask, source)
        real = TARGET_IN[:, t] != 0  # teacher forcing skips padded steps
        step = step.numpy()
        log_probs = step - np.log(np.exp(step - step.max(-1, keepdims=True)).sum(
            -1, keepdims=True)) - step.max(-1, keepdims=True)
        np.testing.assert_allclose(np.exp(log_probs)[real], words[real, t],
                                   rtol=1e-4, atol=1e-9)
    with pytest.raises(ValueError, match="needs the source ids"):
        m.decode_step(TARGET_IN[:, 0], states, keys, memory, mask)


@pytest.mark.parametrize("copy", [False, True])
def test_a_group_of_rows_reads_its_sentence_once_as_each_row_would_alone(copy):
    # A beam search's hypotheses share their sentence's memory (`group`):
    # each row's step is what it is with the memory repeated for every row.
    m = model(copy=copy)
    source = np.array([[5, 6, 5, 3, 0, 0], [8, 8, 3, 0, 0, 0]], "int32")
    memory, mask, states = m.encode(source)
    keys = m.attention_keys(memory)
    group = 3
    rng = np.random.default_rng(0)
    tokens = rng.integers(3, 40, size=2 * group).astype("int32")
    states = [s + rng.normal(size=(2 * group, s.shape[1])).astype("float32")
              for s in (np.repeat(s, group, axis=0) for s in states)]
    repeated = [np.repeat(np.asarray(x), group, axis=0) for x in (keys, memory, mask, source)]
    alone = m.decode_step(tokens, states, *repeated)
    grouped = m.decode_step(tokens, states, keys, memory, mask, source, group=group)
    for x, y in zip(tf.nest.flatten(alone), tf.nest.flatten(grouped)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("tie_output", [False, True])
def test_a_bfloat16_projection_outside_training_rounds_only_the_product(tie_output):
    m = model(tie_output=tie_output, bidirectional=not tie_output, copy=True, dropout=0.0)
    inputs = {"source": SOURCE, "target_in": TARGET_IN}
    full = m(inputs).numpy()
    m.set_inference_precision("bfloat16")
    assert m.inference_precision == "bfloat16" and len(m.inference_variables) == 1
    assert m.inference_variables[0].dtype == tf.bfloat16
    rounded = m(inputs).numpy()
    vocab = full[..., :40]
    # bfloat16 keeps 8 bits of each operand and of the product: close, not equal.
    assert 0 < np.abs(rounded[..., :40] - vocab).max() <= 2 ** -7 * np.abs(vocab).max() * 4
    np.testing.assert_array_equal(rounded[..., 40:], full[..., 40:])  # the copy scores
    np.testing.assert_array_equal(m(inputs, training=True).numpy(), full)
    memory, mask, states = m.encode(SOURCE)

    def step():
        logits, _, _ = m.decode_step(TARGET_IN[:, 0], states, m.attention_keys(memory),
                                     memory, mask, SOURCE)
        return logits.numpy()
    searched = step()  # a search's steps round the same way
    m.set_inference_precision("float32")
    assert m.inference_variables == [] and m.inference_precision == "float32"
    np.testing.assert_array_equal(m(inputs).numpy(), full)
    exact = step()
    assert 0 < np.abs(searched - exact).max() <= 2 ** -7 * np.abs(exact).max() * 4
    with pytest.raises(ValueError, match="precision must be one of .*'float16'"):
        m.set_inference_precision("float16")


def test_padding_does_not_change_a_sentence():
    m = model()
    alone = m({"source": SOURCE[1:, :3], "target_in": TARGET_IN[1:, :3]}).numpy()
    batched = m({"source": SOURCE, "target_in": TARGET_IN}).numpy()
    np.testing.assert_allclose(batched[1, :3], alone[0], atol=1e-5)


def test_dropout_only_in_training():
    m = model(dropout=0.5)
    inputs = {"source": SOURCE, "target_in": TARGET_IN}
    np.testing.assert_allclose(m(inputs).numpy(), m(inputs).numpy())
    assert np.abs(m(inputs, training=True).numpy() - m(inputs).numpy()).max() > 1e-4


def test_invalid_options_are_named():
    with pytest.raises(ValueError, match="copy needs one joint vocabulary"):
        Seq2Seq(40, 30, copy=True)
    with pytest.raises(ValueError, match="share_embeddings needs one vocabulary"):
        Seq2Seq(40, 50, share_embeddings=True)
    with pytest.raises(ValueError, match="tie_output needs decoder_units == embedding_dim"):
        Seq2Seq(40, 40, units=32, embedding_dim=16, tie_output=True)
    with pytest.raises(ValueError, match="decoder_units=32, embedding_dim=16"):
        Seq2Seq(40, 40, units=16, decoder_units=32, embedding_dim=16, tie_output=True)
    with pytest.raises(ValueError, match="attention kind"):
        Seq2Seq(40, 40, attention="dot")


@pytest.mark.parametrize("xla", [True, False])
def test_additive_scores_and_their_gradients_equal_the_formula(xla):
    import tensorflow as tf

    from translate.model.attention import additive_scores

    rng = np.random.default_rng(0)
    q, k = (tf.constant(rng.normal(size=shape), tf.float32) for shape in ((2, 3, 5), (2, 4, 5)))
    v = tf.Variable(rng.normal(size=5), dtype=tf.float32)
    upstream = tf.constant(rng.normal(size=(2, 3, 4)), tf.float32)
    results = []
    for fn in (lambda: additive_scores(q, k, v),
               lambda: tf.reduce_sum(tf.tanh(q[:, :, None] + k[:, None]) * v, -1)):
        with gru_keras.use_xla(xla), tf.GradientTape() as tape:
            tape.watch([q, k])
            scores = fn()
            loss = tf.reduce_sum(scores * upstream)
        results.append([scores, *tape.gradient(loss, [q, k, v])])
    for ours, formula in zip(*results):
        np.testing.assert_allclose(ours.numpy(), formula.numpy(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("copy", [False, True])
def test_training_on_real_positions_only_gives_the_full_loss_and_gradients(copy):
    """`fit` asks for the scores of real target positions only (no
    projection of padding): the loss, the accuracy and every gradient are
    those of the full scores."""
    from translate.losses import MaskedCrossEntropy, masked_accuracy

    keras.utils.set_random_seed(4)
    m = Seq2Seq(30, 30, embedding_dim=8, units=8, dropout=0.0, copy=copy)
    source = np.array([[5, 6, 7, 2], [8, 2, 0, 0]], "int32")
    target_in = np.array([[1, 9, 10, 11], [1, 12, 0, 0]], "int32")
    target_out = np.array([[9, 10, 11, 2], [12, 2, 0, 0]], "int32")
    inputs = {"source": source, "target_in": target_in}
    m(inputs)
    y = m._with_source(inputs, tf.constant(target_out))
    loss = MaskedCrossEntropy(0.1)
    results = []
    for packed in (False, True):
        m._pack_scores = packed
        with tf.GradientTape() as tape:
            scores = m(inputs, training=True)
            value = loss(y, scores)
        assert scores.shape.rank == (2 if packed else 3)
        results.append((value.numpy(), masked_accuracy(y, scores).numpy(),
                        [tf.convert_to_tensor(g).numpy()
                         for g in tape.gradient(value, m.trainable_weights)]))
    m._pack_scores = False
    (full, full_accuracy, full_grads), (packed, packed_accuracy, packed_grads) = results
    np.testing.assert_allclose(packed, full, rtol=1e-6)
    assert packed_accuracy == full_accuracy
    for a, b in zip(packed_grads, full_grads):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_fit_and_evaluate_use_packed_scores_and_leave_the_model_as_it_was():
    keras.utils.set_random_seed(5)
    m = Seq2Seq(30, 30, embedding_dim=8, units=8, dropout=0.0)
    source = np.array([[5, 6, 7, 2], [8, 2, 0, 0]], "int32")
    target = np.array([[9, 10, 11, 2], [12, 2, 0, 0]], "int32")
    inputs = {"source": source, "target_in": target}
    m(inputs)
    from translate.losses import MaskedCrossEntropy
    ranks = []
    original = m._scores

    def scores(features, *args, **kwargs):
        ranks.append(features.shape.rank)
        return original(features, *args, **kwargs)
    m._scores = scores
    m.compile(optimizer="adam", loss=MaskedCrossEntropy(0.1))
    m.fit(tf.data.Dataset.from_tensors((inputs, target)), verbose=0)
    assert 2 in ranks, "the training step projected packed positions"
    assert m(inputs, training=True).shape.rank == 3, "a call outside fit is not packed"
    ranks.clear()
    evaluated = m.evaluate(tf.data.Dataset.from_tensors((inputs, target)), verbose=0)
    assert ranks == [2], "evaluate's step projects packed positions too"
    full = MaskedCrossEntropy(0.1)(tf.constant(target), m(inputs))
    np.testing.assert_allclose(evaluated, full.numpy(), rtol=1e-6)
