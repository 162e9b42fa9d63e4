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
    (the model is never trained to emit them, so their logits mean nothing).

    One `log_softmax` op: the searches' arithmetic is then the same whether
    or not Grappler rewrites the graph (a logsumexp written out in ops was
    fused differently, and near-ties of an untrained model came out apart);
    writing it cost no measurable time against the top-k.
    """
    vocab = tf.shape(logits)[-1]
    banned = tf.reduce_sum(tf.one_hot([PAD, BOS], vocab, on_value=NEG_INF), axis=0)
    return tf.nn.log_softmax(logits + banned[None])


def top_k_rows(x, k, block=64):
    """`tf.math.top_k(x, k)` of a 2-D `x`: the same values and indices (ties
    to the lower index), several times faster for vocabulary-wide rows.

    TensorFlow's CPU top-k over 256 rows of 8,000 logits (batch 64, beam 4)
    took 3.8 ms, a fifth of a search step on 2 cores; this takes 0.9 ms.
    Here each row is cut into blocks of `block`; the `k`
    best elements lie in the `k` blocks of the largest maxima (each of those
    holds an element that beats any element of another block), so only those
    blocks' `k * block` elements are ranked.

    Args:
        x: float `(rows, width)`, `width` known statically.
        k: how many to keep, at most `width`.
        block: block width.

    Returns:
        `(values, indices)`, each `(rows, k)`, best first.
    """
    width = x.shape[-1]
    if width is None or width < 4 * k * block:
        return tf.math.top_k(x, k)
    blocks = -(-width // block)
    if blocks * block != width:
        # Padding of the lowest value, at the highest indices: never ahead.
        x = tf.pad(x, [[0, 0], [0, blocks * block - width]], constant_values=x.dtype.min)
    grid = tf.reshape(x, [tf.shape(x)[0], blocks, block])
    _, best = tf.math.top_k(tf.reduce_max(grid, axis=-1), k)
    best = tf.sort(best, axis=-1)  # index order, for ties to the lower index
    chosen = tf.reshape(tf.gather(grid, best, batch_dims=1), [-1, k * block])
    values, at = tf.math.top_k(chosen, k)
    return values, tf.gather(best, at // block, batch_dims=1) * block + at % block


def length_limits(source, max_length_ratio=2.0, max_length_extra=10, max_length=256):
    """Per-sentence output length limits, and the batch's largest."""
    lengths = tf.reduce_sum(tf.cast(tf.not_equal(source, PAD), tf.float32), axis=1)
    limits = tf.cast(tf.math.ceil(lengths * max_length_ratio), tf.int32) + max_length_extra
    limits = tf.minimum(limits, max_length)
    return limits, tf.maximum(tf.reduce_max(limits), 0)  # 0 for no sentence


def length_penalty(lengths, alpha):
    """GNMT's length normalisation `((5 + length) / 6) ** alpha`."""
    return tf.pow((5.0 + tf.cast(lengths, tf.float32)) / 6.0, alpha)


def _finish(ids, lengths):
    """Replaces EOS and what follows it by PAD."""
    positions = tf.range(tf.shape(ids)[1])[None, :]
    return tf.where(positions < lengths[:, None], ids, PAD)


def _encode(model, source):
    """What the searches read of a batch's encoding: `memory`,
    `memory_mask`, the decoder's initial `states` and the attention `keys`.
    A beam search computes it once for its beams and its greedy search."""
    memory, memory_mask, states = model.encode(source)
    return {"memory": memory, "memory_mask": memory_mask, "states": states,
            "keys": model.attention_keys(memory)}


def _first(encoded, rows):
    """The encoding of the first `rows` sentences."""
    return tf.nest.map_structure(lambda x: x[:rows], encoded)


@_without_xla
def greedy_search(model, source, *, max_length_ratio=2.0, max_length_extra=10,
                  max_length=256, alpha=0.6, encoded=None):
    """The most probable next token at every step.

    Args:
        model: a `Seq2Seq`.
        source: `(batch, source_len)` int32 ids, padded with 0, ending in EOS.
        max_length_ratio, max_length_extra, max_length: output length limits.
        alpha: length penalty exponent (for the score only).
        encoded: the source's `_encode`, when the caller has it.

    Returns:
        `(ids, scores, attention)`: `(batch, out_len)` ids padded with 0,
        `(batch,)` float32 scores, `(batch, out_len, source_len)` weights.
    """
    encoded = encoded or _encode(model, source)
    memory, states = encoded["memory"], encoded["states"]
    batch = tf.shape(source)[0]
    limits, steps = length_limits(source, max_length_ratio, max_length_extra, max_length)
    # Per row, for the sentences still searching (a sentence leaves at its EOS).
    rows = {"memory": memory, "memory_mask": encoded["memory_mask"], "source": source,
            "keys": encoded["keys"], "limits": limits,
            "tokens": tf.fill([batch], BOS), "states": states,
            "log_prob": tf.zeros([batch]), "lengths": tf.zeros([batch], tf.int32)}
    results = {"log_prob": tf.zeros([batch]), "lengths": tf.zeros([batch], tf.int32)}
    ids = tf.TensorArray(tf.int32, size=steps)
    weights = tf.TensorArray(memory.dtype, size=steps)

    def body(t, rows, sentences, results, ids, weights):
        logits, states, attention = model.decode_step(
            rows["tokens"], rows["states"], rows["keys"], rows["memory"], rows["memory_mask"],
            rows["source"])
        log_probs = next_token_log_probs(logits)
        chosen = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        # A sentence at its limit must end: EOS is its last token.
        chosen = tf.where(t + 1 >= rows["limits"], EOS, chosen)
        rows = dict(rows, tokens=chosen, states=states,
                    log_prob=rows["log_prob"] + tf.gather(log_probs, chosen, batch_dims=1),
                    lengths=rows["lengths"] + 1)
        at = sentences[:, None]
        # Sentences that left have PAD (0) there, and no attention.
        ids = ids.write(t, tf.scatter_nd(at, chosen, [batch]))
        weights = weights.write(t, tf.scatter_nd(
            at, attention, tf.stack([batch, tf.shape(attention)[1]])))
        done = tf.equal(chosen, EOS)
        rows, sentences, results = tf.cond(
            tf.reduce_any(done), lambda: _retire(rows, sentences, results, done, 1),
            lambda: (rows, sentences, results))
        return t + 1, rows, sentences, results, ids, weights

    _, _, _, results, ids, weights = tf.while_loop(
        lambda t, rows, sentences, *_: (t < steps) & (tf.size(sentences) > 0),
        body, (tf.constant(0), rows, tf.range(batch), results, ids, weights),
        shape_invariants=(tf.TensorShape([]), tf.nest.map_structure(_any_rows, rows),
                          tf.TensorShape([None]), tf.nest.map_structure(_shape, results),
                          tf.TensorShape(None), tf.TensorShape(None)))
    ids = tf.transpose(ids.stack())
    attention = tf.transpose(weights.stack(), [1, 0, 2])
    scores = results["log_prob"] / length_penalty(results["lengths"], alpha)
    return _finish(ids, results["lengths"] - 1), scores, attention


def _any_rows(x):
    """A loop invariant: any number of rows."""
    return tf.TensorShape([None, *x.shape[1:]])


def _shape(x):
    return x.shape


# What a search reads once per sentence, whatever its rows.
PER_SENTENCE = ("memory", "memory_mask", "keys", "source")


def _retire(rows, sentences, results, done, k):
    """Moves the sentences that are `done` out of the search.

    Args:
        rows: the searching sentences' per-row tensors (`k` rows each,
            sentence-major; "states" a list of them), and their
            `PER_SENTENCE` ones (one row each).
        sentences: `(searching,)` which sentence of the batch each is.
        results: per-row tensors of the whole batch (`batch * k` rows);
            each key is also one of `rows`, whose rows of the done sentences
            are written there.
        done: `(searching,)` bool.
        k: rows per sentence.

    Returns:
        `(rows, sentences, results)` without the done sentences' rows.
    """
    at = tf.reshape(sentences[done][:, None] * k + tf.range(k)[None], [-1, 1])
    done_rows = tf.repeat(done, k)
    results = {key: tf.tensor_scatter_nd_update(value, at, rows[key][done_rows])
               for key, value in results.items()}
    keep = tf.where(~done_rows)[:, 0]
    kept_sentences = tf.where(~done)[:, 0]
    rows = {key: ([tf.gather(s, keep) for s in value] if key == "states" else
                  tf.gather(value, kept_sentences if key in PER_SENTENCE else keep))
            for key, value in rows.items()}
    return rows, sentences[~done], results


def _tile(x, beam):
    """(batch, ...) -> (batch * beam, ...), each row repeated `beam` times."""
    return tf.repeat(x, beam, axis=0)


def _beams(model, source, encoded, beam_width, alpha, limits_kwargs, alignments):
    """The beam search loop: the final beams of every sentence.

    The loop runs on the sentences still searching: a finished sentence's
    beams are written to the results and its rows leave every per-row tensor
    (states, histories; and its memory, which its beams read once per step
    together: `decode_step`'s `group`), so a batch costs about what its
    sentences cost one by one, in fewer and larger steps, instead of the
    longest sentence's steps times the whole batch.

    Args:
        encoded: the source's `_encode` (shared with the greedy search).

    Returns:
        `(normalised, lengths, history, attention_history)`: `(batch, beam)`
        length-penalised scores, `(batch * beam,)` lengths (EOS included),
        `(batch * beam, steps)` token histories and their attention weights
        (`(batch * beam, 0, source_len)` without `alignments`).
    """
    memory, states = encoded["memory"], encoded["states"]
    batch, k = tf.shape(source)[0], beam_width
    limits, steps = length_limits(source, **limits_kwargs)
    first = tf.concat([tf.zeros([1]), tf.fill([k - 1], NEG_INF)], 0)
    attention_width = steps if alignments else 0
    # Per row (sentence-major, `beam` rows each), for the sentences searching.
    rows = {
        # (`PER_SENTENCE`: one row per sentence, for its `k` rows.)
        "memory": memory, "memory_mask": encoded["memory_mask"], "keys": encoded["keys"],
        "source": source, "limits": _tile(limits, k),
        # What the length penalty is at the limit: the bound of a live hypothesis.
        "limit_penalty": _tile(length_penalty(limits, alpha), k),
        "tokens": tf.fill([batch * k], BOS), "finished": tf.zeros([batch * k], tf.bool),
        "lengths": tf.zeros([batch * k], tf.int32),
        # Fixed-size histories, written at position t.
        "history": tf.zeros([batch * k, steps], tf.int32),
        "attention": tf.zeros([batch * k, attention_width, tf.shape(memory)[1]],
                              memory.dtype),
        "states": [_tile(s, k) for s in states],
        "scores": tf.reshape(tf.tile(first[None], [batch, 1]), [-1]),
    }
    # The results, by row of the whole batch (no attention to write without
    # alignments: scatters refuse empty tensors).
    results = {"scores": tf.zeros([batch * k]), "lengths": tf.zeros([batch * k], tf.int32),
               "history": tf.zeros([batch * k, steps], tf.int32)}
    if alignments:
        results["attention"] = tf.zeros_like(rows["attention"])
    positions = tf.range(steps)[None, :]

    def step(t, rows):
        """One step of every searching sentence (rows in, rows out)."""
        searching = tf.shape(rows["tokens"])[0] // k
        scores = tf.reshape(rows["scores"], [searching, k])
        logits, states, attention = model.decode_step(
            rows["tokens"], rows["states"], rows["keys"], rows["memory"], rows["memory_mask"],
            rows["source"], group=k)
        log_probs = next_token_log_probs(logits)
        finished, lengths = rows["finished"], rows["lengths"]
        # A sentence whose best finished hypothesis no live one can overtake (a
        # live score only falls, and the length penalty favours it at most as
        # much as at the limit) is done: its live hypotheses end now, as at
        # the limit. A batch no longer waits for the repetition loops of one
        # sentence to reach its limit.
        flat_scores = tf.reshape(scores, [-1])
        best_finished = tf.reduce_max(tf.reshape(tf.where(
            finished, flat_scores / length_penalty(lengths, alpha), 2 * NEG_INF),
            [searching, k]), 1)
        best_live = tf.reduce_max(tf.reshape(tf.where(
            finished, 2 * NEG_INF, flat_scores / rows["limit_penalty"]),
            [searching, k]), 1)
        at_limit = (t + 1 >= rows["limits"]) | _tile(best_finished > best_live, k)
        # Each hypothesis's k best continuations hold the k best of the
        # sentence: the search ranks (sentences, k * k) candidates, not
        # (sentences, k * vocab), and the vocabulary-wide tensors are read once.
        candidates, candidate_ids = top_k_rows(log_probs, k)             # (rows, K)
        forced = tf.concat([tf.zeros([searching * k, 1]),
                            tf.fill([searching * k, k - 1], NEG_INF)], 1)
        eos = log_probs[:, EOS]
        candidates = tf.where(at_limit[:, None], forced + eos[:, None], candidates)
        candidate_ids = tf.where(at_limit[:, None], EOS, candidate_ids)
        # A finished hypothesis continues with PAD at no cost, once.
        candidates = tf.where(finished[:, None], forced, candidates)
        candidate_ids = tf.where(finished[:, None], PAD, candidate_ids)
        total = scores[:, :, None] + tf.reshape(candidates, [searching, k, k])
        scores, flat = tf.math.top_k(tf.reshape(total, [searching, k * k]), k=k)
        origin = tf.reshape(flat // k + (tf.range(searching) * k)[:, None], [-1])
        tokens = tf.gather(tf.reshape(candidate_ids, [-1]),
                           origin * k + tf.reshape(flat % k, [-1]))
        finished = tf.gather(finished, origin)
        new = dict(rows, tokens=tokens, states=[tf.gather(s, origin) for s in states],
                   scores=tf.reshape(scores, [-1]),
                   lengths=tf.gather(lengths, origin) + tf.cast(~finished, tf.int32),
                   finished=finished | tf.equal(tokens, EOS))
        now = tf.equal(positions, t)
        new["history"] = tf.where(now, tokens[:, None], tf.gather(rows["history"], origin))
        if alignments:
            new["attention"] = tf.where(now[:, :, None], attention[:, None],
                                        tf.gather(rows["attention"], origin))
        return new

    def body(t, rows, sentences, results):
        rows = step(t, rows)
        done = tf.reduce_all(tf.reshape(rows["finished"], [-1, k]), axis=1)
        # Rows leave only when a sentence is done: gathers of the memory cost.
        rows, sentences, results = tf.cond(
            tf.reduce_any(done), lambda: _retire(rows, sentences, results, done, k),
            lambda: (rows, sentences, results))
        return t + 1, rows, sentences, results

    _, _, _, results = tf.while_loop(
        lambda t, rows, sentences, results: (t < steps) & (tf.size(sentences) > 0),
        body, (tf.constant(0), rows, tf.range(batch), results),
        shape_invariants=(tf.TensorShape([]), tf.nest.map_structure(_any_rows, rows),
                          tf.TensorShape([None]), tf.nest.map_structure(_shape, results)))
    normalised = tf.reshape(results["scores"] / length_penalty(results["lengths"], alpha),
                            [batch, k])
    return (normalised, results["lengths"], results["history"],
            results["attention"] if alignments else rows["attention"])


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
    encoded = _encode(model, source)
    greedy = greedy_search(model, source, alpha=alpha, encoded=encoded, **limits_kwargs)
    if beam_width == 1:
        return greedy
    normalised, lengths, history, attention_history = _beams(
        model, source, encoded, beam_width, alpha, limits_kwargs, alignments)
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
                  max_length_ratio=2.0, max_length_extra=10, max_length=256,
                  beam_rows=None):
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
        beam_rows: None, or a scalar: only the first `beam_rows` sentences
            are beam-searched; each later one gets its greedy hypothesis,
            then `n_best - 1` beams of score `NEG_INF` (none searched). For
            a second form of some sentences that only needs to be at hand:
            the greedy search of the batch runs beside the beams anyway, on
            the other core.

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
    encoded = _encode(model, source)
    greedy_ids, greedy_score, _ = greedy_search(model, source, alpha=alpha, encoded=encoded,
                                                **limits_kwargs)
    batch, k = tf.shape(source)[0], beam_width
    if beam_width == 1:
        return greedy_ids[:, None], greedy_score[:, None]
    searched = batch if beam_rows is None else tf.minimum(beam_rows, batch)
    normalised, lengths, history, _ = _beams(model, source[:searched], _first(encoded, searched),
                                             beam_width, alpha, limits_kwargs, alignments=False)
    beam_ids = _finish(history, lengths - 1)
    width = tf.maximum(tf.shape(beam_ids)[1], tf.shape(greedy_ids)[1])
    beam_ids = tf.concat([tf.reshape(_pad_to(beam_ids, width), [searched, k, width]),
                          tf.zeros([batch - searched, k, width], tf.int32)], 0)
    normalised = tf.concat([normalised, tf.fill([batch - searched, k], NEG_INF)], 0)
    greedy_ids = _pad_to(greedy_ids, width)[:, None]
    # (The empty beams of a sentence not searched are no duplicate.)
    duplicate = tf.reduce_any(tf.reduce_all(tf.equal(beam_ids, greedy_ids), axis=2),
                              axis=1) & (tf.range(batch) < searched)
    candidates = tf.concat([beam_ids, greedy_ids], axis=1)             # (B, K + 1, W)
    scores = tf.concat([normalised, tf.where(duplicate, 2 * NEG_INF, greedy_score)[:, None]],
                       axis=1)
    scores, order = tf.math.top_k(scores, k=n)
    return tf.gather(candidates, order, batch_dims=1), scores


def _pad_to(x, width):
    """Pads axis 1 of `x` with zeros up to `width`."""
    padding = [[0, 0], [0, width - tf.shape(x)[1]]] + [[0, 0]] * (len(x.shape) - 2)
    return tf.pad(x, padding)
