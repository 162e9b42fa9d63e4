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

With a `translate.shortlist.Shortlist`, each step projects onto the union of
the batch's sentences' shortlists (its "columns", sorted ids) instead of the
whole vocabulary, and each sentence's other columns are masked out: the
searches then work on column indices, which equal the ids of the special
pieces (the shortlist always holds them, and they are the lowest ids), and
map the chosen columns back to ids.

With `complete_spans` (a masking model: `translate.spans`), every
hypothesis writes each sentinel of its source exactly once: a sentinel the
source lacks, or one the hypothesis has written, is never written, and EOS
waits until every sentinel of the source is written. A masked placeholder,
tag or term can then not be dropped or doubled (which made the whole
hypothesis unusable: `format_ok` false); the model still chooses where each
goes. A hypothesis that reaches its length limit owing a sentinel ends
there with EOS's log-probability under the constraint (about `NEG_INF`), so
it ranks below any complete one.
"""

import functools

import tensorflow as tf

import gru_keras
from translate.tokenizer import SENTINEL_IDS, SPECIAL_IDS

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


def next_token_log_probs(logits, span_penalty=None):
    """Log-probabilities of the next token; PAD and BOS are never produced
    (the model is never trained to emit them, so their logits mean nothing).

    `span_penalty`: None, or `(rows, n)` added to each row's logits of the
    columns EOS ... EOS + n - 1 (`_span_penalty`), before normalising.

    One `log_softmax` op: the searches' arithmetic is then the same whether
    or not Grappler rewrites the graph (a logsumexp written out in ops was
    fused differently, and near-ties of an untrained model came out apart);
    writing it cost no measurable time against the top-k.
    """
    vocab = tf.shape(logits)[-1]
    banned = tf.reduce_sum(tf.one_hot([PAD, BOS], vocab, on_value=NEG_INF), axis=0)[None]
    if span_penalty is not None:
        banned = banned + tf.pad(
            span_penalty, [[0, 0], [EOS, vocab - EOS - tf.shape(span_penalty)[1]]])
    return tf.nn.log_softmax(logits + banned)


def _sentinels_in(ids):
    """`(..., MAX_SPANS)` bool: which sentinel each id is (none for others)."""
    return tf.equal(tf.cast(ids, tf.int32)[..., None], tf.constant(SENTINEL_IDS))


def _span_penalty(owed, slots):
    """The constraint of `complete_spans` on a step's logits.

    Args:
        owed: `(rows, MAX_SPANS)` bool, the sentinels each row has yet to write.
        slots: `(n,)` what the columns EOS ... EOS + n - 1 are: 0 for EOS,
            `i` for the i-th sentinel (`_encode`).

    Returns:
        `(rows, n)`: NEG_INF for EOS while a sentinel is owed and for a
        sentinel not owed, else 0 (`next_token_log_probs`'s `span_penalty`).
    """
    penalty = tf.concat([tf.where(tf.reduce_any(owed, 1), NEG_INF, 0.0)[:, None],
                         tf.where(owed, 0.0, NEG_INF)], 1)
    return tf.gather(penalty, slots, axis=1)


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


def _encode(model, source, shortlist=None, complete_spans=False):
    """What the searches read of a batch's encoding: `memory`,
    `memory_mask`, the decoder's initial `states` and the attention `keys`
    (projected once per sentence); with a `shortlist`, also the batch's
    `columns` (sorted target ids), the `output` projection onto them, each
    sentence's `unlisted` (`(batch, columns)`, NEG_INF where the sentence's
    own list lacks the column, else 0) and its source pieces' columns
    (`source_columns`, what copying writes to); with `complete_spans`, the
    sentinels each sentence `owed` (`(batch, MAX_SPANS)` bool: those of its
    source) and the `span_slots` of `_span_penalty`."""
    memory, memory_mask, states = model.encode(source)
    encoded = {"memory": memory, "memory_mask": memory_mask, "states": states,
               "keys": model.attention_keys(memory)}
    if shortlist is not None:
        members = shortlist.members(source)
        columns = tf.cast(tf.where(tf.reduce_any(members, axis=0))[:, 0], tf.int32)
        encoded.update(
            columns=columns, output=model.output_projection(columns),
            unlisted=tf.where(tf.gather(members, columns, axis=1), 0.0, NEG_INF),
            # A pad position points at PAD's column, as it points at PAD's id.
            source_columns=tf.reshape(tf.searchsorted(
                columns, tf.reshape(tf.cast(source, tf.int32), [-1])), tf.shape(source)))
    if complete_spans:
        encoded["owed"] = tf.reduce_any(_sentinels_in(source), axis=1)
        # EOS's column, then the sentinels': the ids themselves, or in a
        # shortlist's sorted columns the listed sentinels right after EOS.
        ids = tf.range(EOS, EOS + 1 + len(SENTINEL_IDS))
        if shortlist is not None:
            listed = tf.reduce_sum(tf.cast(tf.reduce_any(_sentinels_in(columns), 1), tf.int32))
            ids = columns[EOS:EOS + 1 + listed]
        encoded["span_slots"] = ids - EOS
    return encoded


def _step(model, rows, encoded, group):
    """`decode_step` for the searching rows, then the next token's
    log-probabilities: `(log_probs, states, attention)`, over the
    vocabulary, or over the batch's shortlist columns with each sentence's
    unlisted ones masked; with rows that have `owed` sentinels, under the
    constraint of `complete_spans`."""
    listed = "columns" in encoded
    logits, states, attention = model.decode_step(
        rows["tokens"], rows["states"], rows["keys"], rows["memory"], rows["memory_mask"],
        rows["source_columns"] if listed else rows["source"], group=group,
        output=encoded["output"] if listed else None)
    if listed:
        width = tf.shape(logits)[-1]
        logits = tf.reshape(tf.reshape(logits, [-1, group, width])
                            + rows["unlisted"][:, None], [-1, width])
    penalty = _span_penalty(rows["owed"], encoded["span_slots"]) if "owed" in rows else None
    return next_token_log_probs(logits, penalty), states, attention


def _ids(encoded, chosen):
    """Token ids of the chosen columns (the ids themselves without a shortlist)."""
    return tf.gather(encoded["columns"], chosen) if "columns" in encoded else chosen


def _owing(rows, tokens, origin=None):
    """`rows`' `owed` after writing `tokens` (ids), where they have one: the
    sentinels owed before (by the rows each continues, `origin`) less those
    written."""
    if "owed" not in rows:
        return {}
    owed = rows["owed"] if origin is None else tf.gather(rows["owed"], origin)
    return {"owed": owed & ~_sentinels_in(tokens)}


def _owed_rows(encoded, width):
    """The search's initial `owed` rows, `width` per sentence, if it has them."""
    return {"owed": _tile(encoded["owed"], width)} if "owed" in encoded else {}


@_without_xla
def greedy_search(model, source, *, max_length_ratio=2.0, max_length_extra=10,
                  max_length=256, alpha=0.6, shortlist=None, complete_spans=False):
    """The most probable next token at every step.

    Args:
        model: a `Seq2Seq`.
        source: `(batch, source_len)` int32 ids, padded with 0, ending in EOS.
        max_length_ratio, max_length_extra, max_length: output length limits.
        alpha: length penalty exponent (for the score only).
        shortlist: None, or a `translate.shortlist.Shortlist` whose pieces
            alone each sentence may write.
        complete_spans: each output writes every sentinel of its source
            once and no other (see the module docstring); only for a
            masking model's ids (`translate.tokenizer.SENTINEL_IDS`).

    Returns:
        `(ids, scores, attention)`: `(batch, out_len)` ids padded with 0,
        `(batch,)` float32 scores, `(batch, out_len, source_len)` weights.
    """
    encoded = _encode(model, source, shortlist, complete_spans)
    memory, states = encoded["memory"], encoded["states"]
    batch = tf.shape(source)[0]
    limits, steps = length_limits(source, max_length_ratio, max_length_extra, max_length)
    # Per row, for the sentences still searching (a sentence leaves at its EOS).
    rows = {**_per_sentence(encoded), **_owed_rows(encoded, 1),
            "source": source, "limits": limits,
            "tokens": tf.fill([batch], BOS), "states": states,
            "log_prob": tf.zeros([batch]), "lengths": tf.zeros([batch], tf.int32)}
    results = {"log_prob": tf.zeros([batch]), "lengths": tf.zeros([batch], tf.int32)}
    ids = tf.TensorArray(tf.int32, size=steps)
    weights = tf.TensorArray(memory.dtype, size=steps)

    def body(t, rows, sentences, results, ids, weights):
        log_probs, states, attention = _step(model, rows, encoded, group=1)
        chosen = tf.argmax(log_probs, axis=-1, output_type=tf.int32)
        # A sentence at its limit must end: EOS is its last token.
        chosen = tf.where(t + 1 >= rows["limits"], EOS, chosen)
        log_prob = rows["log_prob"] + tf.gather(log_probs, chosen, batch_dims=1)
        chosen = _ids(encoded, chosen)
        rows = dict(rows, tokens=chosen, states=states, log_prob=log_prob,
                    lengths=rows["lengths"] + 1, **_owing(rows, chosen))
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
PER_SENTENCE = ("memory", "memory_mask", "keys", "source", "unlisted", "source_columns")


def _per_sentence(encoded):
    """The encoding's per-sentence tensors that the searching rows carry."""
    return {key: encoded[key] for key in PER_SENTENCE if key in encoded}


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


def _beams(model, source, beam_width, alpha, limits_kwargs, alignments, shortlist=None,
           complete_spans=False, greedy_row=False):
    """The beam search loop, with each sentence's greedy hypothesis beside its
    beams where `greedy_row`: the final beams (and greedy hypothesis) of
    every sentence.

    With `greedy_row` each sentence has `beam_width + 1` rows: its beams,
    then its greedy row, which follows the model's argmax as
    `greedy_search` does. One loop and
    one encoder pass serve both: a greedy loop beside the beam loop cost a
    second set of per-step ops, a third of a batch of 64's op time, and in
    a full batch the cores have no time to spare for it. A sentence's rows
    read its memory once a step, together (`decode_step`'s `group`).

    The loop runs on the sentences still searching: a finished sentence's
    rows are written to the results and leave the search's tensors (states,
    histories, its memory), so a batch costs about what its sentences cost one
    by one, in fewer and larger steps, instead of the longest sentence's
    steps times the whole batch. A sentence's beams are done when no live
    beam can overtake its best finished one (a live score only falls, and
    the length penalty favours it at most as much as at the limit); its
    greedy row then stops too if it can no longer overtake that beam (it
    is never the answer: it is dropped, score `2 * NEG_INF`, instead of
    being searched to its end, which a repetition loop makes long). Not
    before the beams are done: until then a finished beam can still be
    pushed out of the beam by live ones of higher unpenalised score.
    Without it a sentence has its `beam_width` rows alone (the same beams:
    the greedy row never changes them).

    Returns:
        `(normalised, lengths, history, attention_history)`: `(batch, width)`
        length-penalised scores (the greedy hypothesis's last; `width` is
        `beam_width + 1`, or `beam_width` without `greedy_row`), `(batch *
        width,)` lengths (EOS included), `(batch * width, steps)` token
        histories and their attention weights (`(batch * width, 0,
        source_len)` without `alignments`).
    """
    encoded = _encode(model, source, shortlist, complete_spans)
    memory, states = encoded["memory"], encoded["states"]
    batch, k = tf.shape(source)[0], beam_width
    width = k + int(greedy_row)  # rows per sentence: k beams (then the greedy row)
    limits, steps = length_limits(source, **limits_kwargs)
    is_greedy = tf.equal(tf.range(width), k)
    # A sentence's first beam and its greedy row start from BOS; the other
    # beams wait (NEG_INF) until the first step spreads the first one.
    first = tf.where((tf.range(width) == 0) | is_greedy, 0.0, NEG_INF)[None]
    attention_width = steps if alignments else 0
    # Per row (sentence-major, `width` rows each), for the sentences searching.
    rows = {
        # (`PER_SENTENCE`: one row per sentence, for its `width` rows.)
        **_per_sentence(encoded), **_owed_rows(encoded, width),
        "source": source, "limits": _tile(limits, width),
        # What the length penalty is at the limit: the bound of a live hypothesis.
        "limit_penalty": _tile(length_penalty(limits, alpha), width),
        "tokens": tf.fill([batch * width], BOS),
        "finished": tf.zeros([batch * width], tf.bool),
        "lengths": tf.zeros([batch * width], tf.int32),
        # Fixed-size histories, written at position t.
        "history": tf.zeros([batch * width, steps], tf.int32),
        "attention": tf.zeros([batch * width, attention_width, tf.shape(memory)[1]],
                              memory.dtype),
        "states": [_tile(s, width) for s in states],
        "scores": tf.reshape(tf.tile(first, [batch, 1]), [-1]),
    }
    # The results, by row of the whole batch (no attention to write without
    # alignments: scatters refuse empty tensors).
    results = {"scores": tf.zeros([batch * width]),
               "lengths": tf.zeros([batch * width], tf.int32),
               "history": tf.zeros([batch * width, steps], tf.int32)}
    if alignments:
        results["attention"] = tf.zeros_like(rows["attention"])
    positions = tf.range(steps)[None, :]

    def step(t, rows):
        """One step of every searching sentence (rows in, rows out)."""
        searching = tf.shape(rows["tokens"])[0] // width

        def grid(x):
            """Per row -> `(sentences, width)`."""
            return tf.reshape(x, [searching, width])
        log_probs, states, attention = _step(model, rows, encoded, group=width)
        finished, lengths, flat_scores = rows["finished"], rows["lengths"], rows["scores"]
        # Beams: a sentence whose best finished beam no live one can
        # overtake is done, its live beams end now, as at the limit (a batch
        # no longer waits for the repetition loops of one sentence). Its
        # greedy row, if it cannot overtake that beam either, is dropped.
        # (Without a greedy row none of its masks is built: a step's ops.)
        greedy = is_greedy[None]
        ended = grid(finished)
        best_finished = tf.reduce_max(tf.where(
            ended & ~greedy if greedy_row else ended,
            grid(flat_scores / length_penalty(lengths, alpha)), 2 * NEG_INF), 1)
        bound = grid(flat_scores / rows["limit_penalty"])
        best_live = tf.reduce_max(tf.where(ended | greedy if greedy_row else ended,
                                           2 * NEG_INF, bound), 1)
        done = (best_finished > best_live)[:, None]
        if greedy_row:
            dropped = tf.reshape(greedy & ~ended & done & (bound < best_finished[:, None]),
                                 [-1])
            flat_scores = tf.where(dropped, 2 * NEG_INF, flat_scores)
            finished = finished | dropped
            beams_done = tf.reshape(~greedy & done, [-1])
        else:
            beams_done = tf.reshape(tf.broadcast_to(done, [searching, width]), [-1])
        at_limit = (t + 1 >= rows["limits"]) | beams_done
        # Each hypothesis's k best continuations hold the k best of the
        # sentence: the search ranks (sentences, k * k) candidates, not
        # (sentences, k * vocab), and the vocabulary-wide tensors are read
        # once. A greedy row's best is its argmax (ties to the lower id).
        candidates, candidate_ids = top_k_rows(log_probs, k)             # (rows, K)
        candidate_ids = _ids(encoded, candidate_ids)
        forced = tf.concat([tf.zeros([searching * width, 1]),
                            tf.fill([searching * width, k - 1], NEG_INF)], 1)
        eos = log_probs[:, EOS]
        candidates = tf.where(at_limit[:, None], forced + eos[:, None], candidates)
        candidate_ids = tf.where(at_limit[:, None], EOS, candidate_ids)
        # A finished hypothesis continues with PAD at no cost, once.
        candidates = tf.where(finished[:, None], forced, candidates)
        candidate_ids = tf.where(finished[:, None], PAD, candidate_ids)
        candidates = tf.reshape(candidates, [searching, width, k])
        total = grid(flat_scores)[:, :k, None] + candidates[:, :k]
        beam_scores, flat = tf.math.top_k(tf.reshape(total, [searching, k * k]), k=k)
        base = (tf.range(searching) * width)[:, None]
        origin, choice, scores = flat // k + base, flat % k, beam_scores   # (S, k)
        if greedy_row:  # (S, width): the greedy row continues with its argmax
            origin = tf.concat([origin, base + k], 1)
            choice = tf.concat([choice, tf.zeros([searching, 1], tf.int32)], 1)
            scores = tf.concat([scores, grid(flat_scores)[:, k:] + candidates[:, k, :1]], 1)
        origin = tf.reshape(origin, [-1])
        tokens = tf.gather(tf.reshape(candidate_ids, [-1]), origin * k + tf.reshape(choice, [-1]))
        finished = tf.gather(finished, origin)
        new = dict(rows, tokens=tokens, states=[tf.gather(s, origin) for s in states],
                   scores=tf.reshape(scores, [-1]),
                   lengths=tf.gather(lengths, origin) + tf.cast(~finished, tf.int32),
                   finished=finished | tf.equal(tokens, EOS),
                   **_owing(rows, tokens, origin))
        now = tf.equal(positions, t)
        new["history"] = tf.where(now, tokens[:, None], tf.gather(rows["history"], origin))
        if alignments:
            new["attention"] = tf.where(now[:, :, None], attention[:, None],
                                        tf.gather(rows["attention"], origin))
        return new

    def body(t, rows, sentences, results):
        rows = step(t, rows)
        done = tf.reduce_all(tf.reshape(rows["finished"], [-1, width]), axis=1)
        # Rows leave only when a sentence is done: gathers of the memory cost.
        rows, sentences, results = tf.cond(
            tf.reduce_any(done), lambda: _retire(rows, sentences, results, done, width),
            lambda: (rows, sentences, results))
        return t + 1, rows, sentences, results

    _, _, _, results = tf.while_loop(
        lambda t, rows, sentences, results: (t < steps) & (tf.size(sentences) > 0),
        body, (tf.constant(0), rows, tf.range(batch), results),
        shape_invariants=(tf.TensorShape([]), tf.nest.map_structure(_any_rows, rows),
                          tf.TensorShape([None]), tf.nest.map_structure(_shape, results)))
    # (A dropped greedy hypothesis keeps exactly 2 * NEG_INF.)
    normalised = tf.where(results["scores"] <= 2 * NEG_INF, 2 * NEG_INF,
                          results["scores"] / length_penalty(results["lengths"], alpha))
    return (tf.reshape(normalised, [batch, width]), results["lengths"], results["history"],
            results["attention"] if alignments else rows["attention"])


@_without_xla
def beam_search(model, source, *, beam_width=4, alpha=0.6, max_length_ratio=2.0,
                max_length_extra=10, max_length=256, alignments=True, shortlist=None,
                complete_spans=False, greedy_row=False):
    """Beam search, batched; with `greedy_row`, never worse than greedy by
    its own score.

    Keeps `beam_width` hypotheses per sentence, scored by their summed
    log-probabilities; finished hypotheses keep their score. The answer is
    the best of the final beams under the length-penalised score, as most
    toolkits answer; with `greedy_row`, the best of them and of the greedy
    hypothesis, so its score is never below greedy's.

    Args:
        model: a `Seq2Seq`.
        source: `(batch, source_len)` int32 ids, padded with 0.
        beam_width: hypotheses kept per sentence (1 is greedy search).
        alpha: length penalty exponent.
        max_length_ratio, max_length_extra, max_length: output length limits.
        alignments: keep each hypothesis's attention weights. Off, the
            returned attention is empty, `(batch, 0, source_len)`: the
            history costs (hypotheses x steps x source length) a step to
            reorder, which made beam search at batch 64 slower than at batch 1.
        shortlist, complete_spans: as for `greedy_search`.
        greedy_row: also follow each sentence's greedy hypothesis, one more
            row per sentence in the loop (a quarter more rows at width 4: a
            batch of 8 sentences took 1.2x the time; README).

    Returns:
        As `greedy_search`.
    """
    limits_kwargs = dict(max_length_ratio=max_length_ratio,
                         max_length_extra=max_length_extra, max_length=max_length)
    if beam_width == 1:
        return greedy_search(model, source, alpha=alpha, shortlist=shortlist,
                             complete_spans=complete_spans, **limits_kwargs)
    normalised, lengths, history, attention_history = _beams(
        model, source, beam_width, alpha, limits_kwargs, alignments, shortlist, complete_spans,
        greedy_row)
    # The best of each sentence's beams and greedy row, if any (the last, so
    # a tie goes to a beam).
    batch = tf.shape(source)[0]
    best = tf.argmax(normalised, axis=1, output_type=tf.int32)
    pick = tf.range(batch) * tf.shape(normalised)[1] + best
    ids = _finish(tf.gather(history, pick), tf.gather(lengths, pick) - 1)
    return ids, tf.reduce_max(normalised, axis=1), tf.gather(attention_history, pick)


@_without_xla
def n_best_search(model, source, *, beam_width=4, n_best=None, alpha=0.6,
                  max_length_ratio=2.0, max_length_extra=10, max_length=256,
                  beam_rows=None, shortlist=None, complete_spans=False, greedy_row=False):
    """The `n_best` best distinct hypotheses of each sentence, best first.

    The candidates are the final beams, and with `greedy_row` the greedy
    hypothesis (as in `beam_search`, whose answer is always the first of
    them); a greedy
    hypothesis that equals a beam is counted once, and one that stopped
    because it could no longer be the answer (`_beams`) not at all (score
    `2 * NEG_INF`, last). A beam that never got a finite score (a sentence
    with fewer possible continuations than beams) comes last with a score
    of about `NEG_INF`.

    Args:
        model: a `Seq2Seq`.
        source: `(batch, source_len)` int32 ids, padded with 0.
        beam_width: hypotheses kept per sentence while searching.
        n_best: hypotheses returned per sentence, at most `beam_width + 1`
            (`beam_width` without `greedy_row`); default `beam_width`.
        alpha, max_length_ratio, max_length_extra, max_length: as for
            `beam_search`.
        beam_rows: None, or a scalar: only the first `beam_rows` sentences
            are beam-searched; each later one gets its greedy hypothesis,
            then `n_best - 1` empty ones of score `2 * NEG_INF`. For
            a second form of some sentences that only needs to be at hand:
            those search in a greedy loop beside the beams', on the other
            core.
        shortlist, complete_spans: as for `greedy_search`.
        greedy_row: as for `beam_search`.

    Returns:
        `(ids, scores)`: `(batch, n_best, out_len)` int32 ids padded with 0,
        and `(batch, n_best)` float32 length-penalised scores, descending.

    Raises:
        ValueError: `n_best` is not between 1 and the rows per sentence.
    """
    n = beam_width if n_best is None else n_best
    width = beam_width + int(greedy_row and beam_width > 1)
    if not 1 <= n <= width:
        raise ValueError(f"n_best must be between 1 and {width} (beam_width"
                         f"{' + 1' if width > beam_width else ''}), got {n}.")
    limits_kwargs = dict(max_length_ratio=max_length_ratio,
                         max_length_extra=max_length_extra, max_length=max_length)
    if beam_width == 1:
        greedy_ids, greedy_score, _ = greedy_search(model, source, alpha=alpha,
                                                    shortlist=shortlist,
                                                    complete_spans=complete_spans,
                                                    **limits_kwargs)
        return greedy_ids[:, None], greedy_score[:, None]
    batch, k = tf.shape(source)[0], beam_width
    searched = batch if beam_rows is None else tf.minimum(beam_rows, batch)
    normalised, lengths, history, _ = _beams(model, source[:searched], beam_width, alpha,
                                             limits_kwargs, alignments=False,
                                             shortlist=shortlist,
                                             complete_spans=complete_spans,
                                             greedy_row=greedy_row)
    candidates = tf.reshape(_finish(history, lengths - 1), [searched, width, -1])
    scores = normalised
    if greedy_row:  # a greedy hypothesis that equals a beam is counted once
        duplicate = tf.reduce_any(tf.reduce_all(
            tf.equal(candidates[:, :k], candidates[:, k:]), axis=2), axis=1)
        scores = tf.concat([normalised[:, :k],
                            tf.where(duplicate, 2 * NEG_INF, normalised[:, k])[:, None]], axis=1)
    scores, order = tf.math.top_k(scores, k=n)
    ids = tf.gather(candidates, order, batch_dims=1)
    if beam_rows is None:  # every sentence searched: no greedy loop to trace
        return ids, scores

    def greedy_rest():
        """The later sentences' greedy hypotheses, then n - 1 empty ones: a
        loop of their own, which TensorFlow runs beside the beams' on the
        other core (as rows of the beam loop, each would cost k + 1 rows)."""
        greedy_ids, greedy_score, _ = greedy_search(model, source[searched:], alpha=alpha,
                                                    shortlist=shortlist,
                                                    complete_spans=complete_spans,
                                                    **limits_kwargs)
        rest = batch - searched
        empty = tf.zeros([rest, n - 1, tf.shape(greedy_ids)[1]], tf.int32)
        return (tf.concat([greedy_ids[:, None], empty], 1),
                tf.concat([greedy_score[:, None], tf.fill([rest, n - 1], 2 * NEG_INF)], 1))

    rest_ids, rest_scores = tf.cond(searched < batch, greedy_rest,
                                    lambda: (tf.zeros([0, n, 0], tf.int32), tf.zeros([0, n])))
    width = tf.maximum(tf.shape(ids)[2], tf.shape(rest_ids)[2])
    return (tf.concat([_pad_to(ids, width), _pad_to(rest_ids, width)], 0),
            tf.concat([scores, rest_scores], 0))


def _pad_to(x, width):
    """Pads the last axis of `x` with zeros up to `width`."""
    return tf.pad(x, [[0, 0]] * (len(x.shape) - 1) + [[0, width - tf.shape(x)[-1]]])
