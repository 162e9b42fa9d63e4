"""The input pipeline: TSV lines to batches of token ids, all in `tf.data`.

    read TSV -> shuffle (seeded) -> tokenize in-graph (TensorFlow Text)
      -> add BOS/EOS -> filter by length -> bucket by length and batch by a
      token budget -> prefetch

Each element is `({"source": ids, "target_in": ids}, target_out)`, padded with
the pad id: `source` ends with EOS, `target_in` starts with BOS (the decoder's
input under teacher forcing) and `target_out` ends with EOS (what it must
predict). The same seed gives the same batches in the same order.
"""

from pathlib import Path

import tensorflow as tf

from translate import matches, spans
from translate.corpus import read_tsv
from translate.tokenizer import SPECIAL_IDS

PAD, BOS, EOS = SPECIAL_IDS["pad"], SPECIAL_IDS["bos"], SPECIAL_IDS["eos"]


def bucket_boundaries(max_length, step=8):
    """Upper lengths of the length buckets: 8, 16, ..., up to `max_length`.

    Args:
        max_length: the longest sequence kept, in tokens (with BOS/EOS).
        step: bucket width in tokens.

    Returns:
        A sorted list of exclusive upper bounds, as `tf.data` expects.
    """
    return list(range(step + 1, max_length + 1, step))


def training_pairs(paths, mask_spans=False):
    """`(source, target)` strings of TSV files as a model trains on them, in
    Python: each pair's protected spans masked (`translate.spans.mask_pair`)
    for a masking tokenizer.

    Args:
        paths: one path or a list of paths to `source<TAB>target` files.
        mask_spans: mask the pairs.

    Returns:
        A list of `(source, target)`.
    """
    paths = [paths] if isinstance(paths, (str, Path)) else paths
    return [spans.mask_pair(p.source, p.target) if mask_spans else (p.source, p.target)
            for path in paths for p in read_tsv(path)]


def read_tsv_lines(paths, mask_spans=False, matched=None):
    """`(source, target)` string pairs from TSV files, in-graph.

    Args:
        paths: one path or a list of paths to `source<TAB>target` files.
        mask_spans: mask each pair's protected spans (`translate.spans.mask_pair`)
            for a masking tokenizer. The pairs are then read and masked in
            Python, once, and held in memory (a corpus of catalogs is some
            megabytes; masking needs the source's spans to mask the target).
        matched: `(source, target, match)` triples whose source reads its
            memory match (`translate.matches.training_pair`), after the
            files' pairs; also read in Python.

    Returns:
        A `tf.data.Dataset` of `(source, target)` scalar strings.
    """
    if mask_spans or matched:
        pairs = training_pairs(paths, mask_spans)
        pairs += [matches.training_pair(*triple, mask_spans) for triple in matched or ()]
        sources, targets = zip(*pairs) if pairs else ((), ())
        return tf.data.Dataset.from_tensor_slices(
            (tf.constant(sources, tf.string), tf.constant(targets, tf.string)))
    lines = tf.data.TextLineDataset(paths)

    def split(line):
        fields = tf.strings.split(line, "\t", maxsplit=2)
        return fields[0], fields[1]
    return lines.map(split, num_parallel_calls=tf.data.AUTOTUNE,
                     deterministic=True)


def tokenize_pairs(pairs, source_tokenizer, target_tokenizer, batch=256):
    """Token ids with BOS/EOS added, tokenized in batches for speed.

    Args:
        pairs: dataset of `(source, target)` strings.
        source_tokenizer, target_tokenizer: `tensorflow_text` tokenizers with
            a `tokenize` method (SentencePiece models of `translate.tokenizer`).
        batch: how many lines each tokenizer call handles.

    Returns:
        A dataset of `(source, target_in, target_out)` int32 vectors.
    """
    def tokenize(source, target):
        src = tf.cast(source_tokenizer.tokenize(source), tf.int32)
        tgt = tf.cast(target_tokenizer.tokenize(target), tf.int32)
        rows = src.nrows()
        eos = tf.fill([rows, 1], EOS)
        bos = tf.fill([rows, 1], BOS)
        return (tf.concat([src, eos], axis=1), tf.concat([bos, tgt], axis=1),
                tf.concat([tgt, eos], axis=1))
    def dense(*ids):
        # Unbatching ragged rows yields 1-D ragged specs; padded batching
        # wants plain tensors.
        return tuple(tf.reshape(x, [-1]) for x in ids)
    return (pairs.batch(batch)
            .map(tokenize, num_parallel_calls=tf.data.AUTOTUNE,
                 deterministic=True)
            .unbatch()
            .map(dense, num_parallel_calls=tf.data.AUTOTUNE,
                 deterministic=True))


def make_dataset(paths, source_tokenizer, target_tokenizer, *,
                 batch_tokens=4096, max_length=64, bucket_width=8, shuffle=True,
                 shuffle_buffer=50_000, seed=0, reshuffle_each_iteration=True,
                 repeat=False, mask_spans=False, matched=None):
    """The training (or evaluation) pipeline.

    Args:
        paths: TSV file(s), `source<TAB>target[<TAB>...]` per line.
        source_tokenizer, target_tokenizer: in-graph tokenizers
            (`translate.tokenizer.tf_tokenizer`).
        batch_tokens: token budget per batch: a batch holds
            `batch_tokens // bucket_length` sentences (at least one).
        max_length: pairs whose source or target (with EOS/BOS) is longer are
            dropped.
        bucket_width: pairs are batched with others whose longer side is
            within this many tokens (the last bucket may be narrower); a
            batch is padded to its longest source and target, so narrower
            buckets pad less, and leave more part-filled batches at the end
            of a pass (one per bucket).
        shuffle: shuffle lines (seeded) and batch order; off for evaluation.
        shuffle_buffer: lines held for shuffling.
        seed: the seed: the same seed gives the same batches.
        reshuffle_each_iteration: a new order for each pass over the data;
            off, every pass gives the same batches (exact resumption).
        repeat: repeat forever (training by steps).
        mask_spans: mask protected spans (see `read_tsv_lines`), for
            tokenizers that `translate.tokenizer.masks_spans`.
        matched: `(source, target, match)` triples added to the files'
            pairs, each source reading its match (see `read_tsv_lines`).

    Returns:
        A `tf.data.Dataset` of `({"source", "target_in"}, target_out)` int32
        batches padded with `PAD`.

    Raises:
        ValueError: a setting that cannot make a batch.
    """
    if max_length < 2:
        raise ValueError(f"max_length must be at least 2 (BOS/EOS and one token), got {max_length}.")
    if bucket_width < 1:
        raise ValueError(f"bucket_width must be at least 1, got {bucket_width}.")
    if batch_tokens < max_length:
        raise ValueError(
            f"batch_tokens ({batch_tokens}) must be at least max_length ({max_length}) "
            "so that the longest sentence fits in a batch.")
    pairs = read_tsv_lines(paths, mask_spans, matched)
    if shuffle:
        pairs = pairs.shuffle(shuffle_buffer, seed=seed,
                              reshuffle_each_iteration=reshuffle_each_iteration)
    if repeat:
        pairs = pairs.repeat()
    ids = tokenize_pairs(pairs, source_tokenizer, target_tokenizer)
    ids = ids.filter(lambda s, ti, to: tf.logical_and(
        tf.size(s) <= max_length, tf.size(ti) <= max_length))

    boundaries = bucket_boundaries(max_length, bucket_width)
    uppers = boundaries + [max_length + 1]
    batch_sizes = [max(1, batch_tokens // (upper - 1)) for upper in uppers]
    batches = ids.bucket_by_sequence_length(
        element_length_func=lambda s, ti, to: tf.maximum(tf.size(s), tf.size(ti)),
        bucket_boundaries=boundaries,
        bucket_batch_sizes=batch_sizes,
        padding_values=(PAD, PAD, PAD),
        pad_to_bucket_boundary=False)
    batches = batches.map(
        lambda s, ti, to: ({"source": s, "target_in": ti}, to),
        num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    options = tf.data.Options()
    options.deterministic = True
    # No autotuning: deleting an autotuned iterator waits for its tuning
    # thread's next wake-up, up to a minute once it has run an epoch, and
    # Keras leaves each epoch's iterators to the garbage collector, which
    # stalled training wherever it ran (20-60 s per epoch, in a budget of
    # 20 minutes). The pipeline makes an epoch in ~2.5 s either way, against
    # ~2 minutes of training on 2 cores (the demo's tokens/s did not drop).
    options.autotune.enabled = False
    return batches.with_options(options).prefetch(tf.data.AUTOTUNE)
