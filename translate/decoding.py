"""Greedy and beam search in TensorFlow ops, batched, ready for a graph.

Both take a `translate.model.Seq2Seq` and a batch of padded source ids and
return padded target ids (without BOS/EOS), one score per sentence and the
attention weights. They use only TensorFlow ops, so `tf.function` (and the
export) can put them in the graph. Each sentence stops at EOS or at its own
length limit, `ceil(source_length * max_length_ratio) + max_length_extra`
(never more than `max_length`): padding in a batch changes no result, and any
input is bounded work.

Scores are sums of token log-probabilities (EOS included) divided by the
GNMT length penalty `((5 + length) / 6) ** length_penalty`.
"""

import functools

import tensorflow as tf

import gru_keras
from translate.tokenizer import SPECIAL_IDS

PAD, BOS, EOS = SPECIAL_IDS["pad"], SPECIAL_IDS["bos"], SPECIAL_IDS["eos"]
NEG_INF = -1e9


def _without_xla(search):
    """Traces `search` with XLA off for the GRU cells and the attention:
    compiled, every new sentence length and batch size compiled anew."""
    @functools.wraps(search)
    def traced(*args, **kwargs):
        with gru_keras.use_xla(False):
            return search(*args, **kwargs)
    return traced


def next_token_log_probs(logits):
    """Log-probabilities of the next token; PAD and BOS are never produced
    (the model is never trained to emit them, so their logits mean nothing)."""
    vocab = tf.shape(logits)[-1]
    banned = tf.reduce_sum(tf.one_hot([PAD, BOS], vocab, on_value=NEG_INF), axis=0)
    return tf.nn.log_softmax(logits + banned[None])


def length_limits(source, max_length_ratio=2.0, max_length_extra=10, max_length=256):
    """Per-sentence output length limits, and the batch's largest."""
    lengths = tf.reduce_sum(tf.cast(tf.not_equal(source, PAD), tf.float32), axis=1)
    limits = tf.cast(tf.math.ceil(lengths * max_length_ratio), tf.int32) + max_length_extra
    limits = tf.minimum(limits, max_length)
    return limits, tf.reduce_max(limits)


def length_penalty(lengths, alpha):
    """GNMT's length normalisation `((5 + length) / 6) ** alpha`."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, alpha)


def _finish(ids, lengths):
    """Replaces EOS and what follows it by PAD."""
    positions = tf.range(tf.shape(ids)[1])[None, :]
    return tf.where(positions < lengths[:, None], ids, PAD)


@_without_xla
def greedy_search(model, source, *, max_length_ratio=2.0, max_length_extra=10,
                  max_length=256, alpha=0.6):
    """The most probable next token at every step.

    Args:
        model: a `Seq2Seq`.
        source: `(batch, source_len)` int32 ids, padded with 0, ending in EOS.
        max_length_ratio, max_length_extra, max_length: output length limits.
        alpha: length penalty exponent (for the score only).

    Returns:
        `(ids, scores, attention)`: `(batch, out_len)` ids padded with 0,
        `(batch,)` float32 scores, `(batch, out_len, source_len)` weights.
    """
    memory, memory_mask, states = model.encode(source)
    keys = model.attention_keys(memory)
    batch = tf.shape(source)[0]
    limits, steps = length_limits(source, max_length_ratio, max_length_extra, max_length)
    ids = tf.TensorArray(tf.int32, size=steps)
    weights = tf.TensorArray(memory.dtype, size=steps)

    def body(t, tokens, states, finished, log_prob, lengths, ids, weights):
        logits, states, attention = model.decode_step(tokens, states, keys, memory,
                                                      memory_mask, source)
        log_probs = next_token_log_probs(logits)
        chosen = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        # A sentence at its limit must end: EOS is its last token.
        chosen = tf.where(t + 1 >= limits, EOS, chosen)
        step_score = tf.gather(log_probs, chosen, batch_dims=1)
        log_prob += tf.where(finished, 0.0, step_score)
        lengths += tf.cast(~finished, tf.int32)
        chosen = tf.where(finished, PAD, chosen)
        finished = finished | tf.equal(chosen, EOS)
        return (t + 1, chosen, states, finished, log_prob, lengths,
                ids.write(t, chosen), weights.write(t, attention))

    _, _, _, _, log_prob, lengths, ids, weights = tf.while_loop(
        lambda t, tokens, states, finished, *_: (t < steps) & ~tf.reduce_all(finished),
        body,
        (0, tf.fill([batch], BOS), states, tf.zeros([batch], tf.bool),
         tf.zeros([batch]), tf.zeros([batch], tf.int32), ids, weights))
    ids = tf.transpose(ids.stack())
    attention = tf.transpose(weights.stack(), [1, 0, 2])
    scores = log_prob / length_penalty(lengths, alpha)
    return _finish(ids, lengths - 1), scores, attention


def _tile(x, beam):
    """(batch, ...) -> (batch * beam, ...), each row repeated `beam` times."""
    return tf.repeat(x, beam, axis=0)


def _beams(model, source, beam_width, alpha, limits_kwargs, alignments):
    """The beam search loop: the final beams of every sentence.

    Returns:
        `(normalised, lengths, history, attention_history)`: `(batch, beam)`
        length-penalised scores, `(batch * beam,)` lengths (EOS included),
        `(batch * beam, steps)` token histories and their attention weights
        (`(batch * beam, 0, source_len)` without `alignments`).
    """
    memory, memory_mask, states = model.encode(source)
    batch, k = tf.shape(source)[0], beam_width
    memory, memory_mask = _tile(memory, k), _tile(memory_mask, k)
    tiled_source = _tile(source, k)
    states = [_tile(s, k) for s in states]
    keys = model.attention_keys(memory)
    limits, steps = length_limits(source, **limits_kwargs)
    limits = _tile(limits, k)
    vocab = model.settings["target_vocab"]
    first = tf.concat([tf.zeros([1]), tf.fill([k - 1], NEG_INF)], 0)
    scores = tf.tile(first[None], [batch, 1])                       # (B, K)
    # Fixed-size histories, written at position t (shapes stay loop-invariant).
    history = tf.zeros([batch * k, steps], tf.int32)
    attention_history = tf.zeros(
        [batch * k, steps if alignments else 0, tf.shape(memory)[1]], memory.dtype)
    positions = tf.range(steps)[None, :]
    offsets = (tf.range(batch) * k)[:, None]

    def body(t, tokens, states, finished, scores, lengths, history, attention_history):
        logits, states, attention = model.decode_step(tokens, states, keys, memory,
                                                      memory_mask, tiled_source)
        log_probs = next_token_log_probs(logits)
        at_limit = (t + 1 >= limits)[:, None]
        eos_only = tf.one_hot(EOS, vocab, on_value=0.0, off_value=NEG_INF)[None]
        log_probs = tf.where(at_limit, eos_only, log_probs)
        # A finished hypothesis continues with PAD at no cost, once.
        pad_only = tf.one_hot(PAD, vocab, on_value=0.0, off_value=NEG_INF)[None]
        log_probs = tf.where(finished[:, None], pad_only, log_probs)
        total = scores[:, :, None] + tf.reshape(log_probs, [batch, k, vocab])
        scores, flat = tf.math.top_k(tf.reshape(total, [batch, k * vocab]), k=k)
        origin = tf.reshape(flat // vocab + offsets, [-1])
        tokens = tf.reshape(flat % vocab, [-1])
        states = [tf.gather(s, origin) for s in states]
        finished = tf.gather(finished, origin)
        lengths = tf.gather(lengths, origin) + tf.cast(~finished, tf.int32)
        finished = finished | tf.equal(tokens, EOS)
        now = tf.equal(positions, t)
        history = tf.where(now, tokens[:, None], tf.gather(history, origin))
        if alignments:
            attention_history = tf.where(now[:, :, None], attention[:, None],
                                         tf.gather(attention_history, origin))
        return (t + 1, tokens, states, finished, scores, lengths, history,
                attention_history)

    _, _, _, _, scores, lengths, history, attention_history = tf.while_loop(
        lambda t, tokens, states, finished, *_: (t < steps) & ~tf.reduce_all(finished),
        body,
        (0, tf.fill([batch * k], BOS), states, tf.zeros([batch * k], tf.bool), scores,
         tf.zeros([batch * k], tf.int32), history, attention_history))
    normalised = scores / tf.reshape(length_penalty(lengths, alpha), [batch, k])
    return normalised, lengths, history, attention_history


@_without_xla
def beam_search(model, source, *, beam_width=4, alpha=0.6, max_length_ratio=2.0,
                max_length_extra=10, max_length=256, alignments=True):
    """Beam search, batched; never worse than greedy by its own score.

    Keeps `beam_width` hypotheses per sentence, scored by their summed
    log-probabilities; finished hypotheses keep their score. The answer is
    the best of the final beams and of the greedy hypothesis under the
    length-penalised score, so its score is never below greedy's.

    Args:
        model: a `Seq2Seq`.
        source: `(batch, source_len)` int32 ids, padded with 0.
        beam_width: hypotheses kept per sentence (1 is greedy search).
        alpha: length penalty exponent.
        max_length_ratio, max_length_extra, max_length: output length limits.
        alignments: keep each hypothesis's attention weights. Off, the
            returned attention is zeros where the beam's hypothesis wins: the
            history costs (hypotheses x steps x source length) a step to
            reorder, which made beam search at batch 64 slower than at batch 1.

    Returns:
        As `greedy_search`.
    """
    limits_kwargs = dict(max_length_ratio=max_length_ratio,
                         max_length_extra=max_length_extra, max_length=max_length)
    greedy = greedy_search(model, source, alpha=alpha, **limits_kwargs)
    if beam_width == 1:
        return greedy
    normalised, lengths, history, attention_history = _beams(
        model, source, beam_width, alpha, limits_kwargs, alignments)
    batch = tf.shape(source)[0]
    best = tf.argmax(normalised, axis=1, output_type=tf.int32)
    pick = tf.range(batch) * beam_width + best
    beam_score = tf.gather(tf.reshape(normalised, [-1]), pick)
    beam_lengths = tf.gather(lengths, pick)
    beam_ids = _finish(tf.gather(history, pick), beam_lengths - 1)
    beam_attention = tf.gather(attention_history, pick)
    greedy_ids, greedy_score, greedy_attention = greedy
    use_beam = beam_score >= greedy_score
    width = tf.maximum(tf.shape(beam_ids)[1], tf.shape(greedy_ids)[1])
    ids = tf.where(use_beam[:, None], _pad_to(beam_ids, width), _pad_to(greedy_ids, width))
    attention = tf.where(use_beam[:, None, None], _pad_to(beam_attention, width),
                         _pad_to(greedy_attention, width))
    return ids, tf.maximum(beam_score, greedy_score), attention


@_without_xla
def n_best_search(model, source, *, beam_width=4, n_best=None, alpha=0.6,
                  max_length_ratio=2.0, max_length_extra=10, max_length=256):
    """The `n_best` best distinct hypotheses of each sentence, best first.

    The candidates are the final beams and the greedy hypothesis (as in
    `beam_search`, whose answer is always the first of them); a greedy
    hypothesis that equals a beam is counted once. A beam that never got a
    finite score (a sentence with fewer possible continuations than beams)
    comes last with a score of about `NEG_INF`.

    Args:
        model: a `Seq2Seq`.
        source: `(batch, source_len)` int32 ids, padded with 0.
        beam_width: hypotheses kept per sentence while searching.
        n_best: hypotheses returned per sentence, at most `beam_width + 1`;
            default `beam_width`.
        alpha, max_length_ratio, max_length_extra, max_length: as for
            `beam_search`.

    Returns:
        `(ids, scores)`: `(batch, n_best, out_len)` int32 ids padded with 0,
        and `(batch, n_best)` float32 length-penalised scores, descending.

    Raises:
        ValueError: `n_best` is not between 1 and `beam_width + 1`.
    """
    n = beam_width if n_best is None else n_best
    if not 1 <= n <= beam_width + 1:
        raise ValueError(f"n_best must be between 1 and beam_width + 1 ({beam_width + 1}), "
                         f"got {n}.")
    limits_kwargs = dict(max_length_ratio=max_length_ratio,
                         max_length_extra=max_length_extra, max_length=max_length)
    greedy_ids, greedy_score, _ = greedy_search(model, source, alpha=alpha, **limits_kwargs)
    batch, k = tf.shape(source)[0], beam_width
    if beam_width == 1:
        return greedy_ids[:, None], greedy_score[:, None]
    normalised, lengths, history, _ = _beams(model, source, beam_width, alpha,
                                             limits_kwargs, alignments=False)
    beam_ids = _finish(history, lengths - 1)
    width = tf.maximum(tf.shape(beam_ids)[1], tf.shape(greedy_ids)[1])
    beam_ids = tf.reshape(_pad_to(beam_ids, width), [batch, k, width])
    greedy_ids = _pad_to(greedy_ids, width)[:, None]
    duplicate = tf.reduce_any(tf.reduce_all(tf.equal(beam_ids, greedy_ids), axis=2), axis=1)
    candidates = tf.concat([beam_ids, greedy_ids], axis=1)             # (B, K + 1, W)
    scores = tf.concat([normalised, tf.where(duplicate, 2 * NEG_INF, greedy_score)[:, None]],
                       axis=1)
    scores, order = tf.math.top_k(scores, k=n)
    return tf.gather(candidates, order, batch_dims=1), scores


def _pad_to(x, width):
    """Pads axis 1 of `x` with zeros up to `width`."""
    padding = [[0, 0], [0, width - tf.shape(x)[1]]] + [[0, 0]] * (len(x.shape) - 2)
    return tf.pad(x, padding)
