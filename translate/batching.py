"""Batches of similar length, results in the input's order.

Shared by everything that translates a list of sentences in batches (the
in-process `Translator`, an exported model, a TF Serving client): sentences of
similar length batched together need less padding, so less search. Imports
nothing, so a client that loads no TensorFlow can use it.
"""


def by_length(translate_batch, sentences, batch_size, progress=None, length=len):
    """`translate_batch` over batches of similar length; results in order.

    Args:
        translate_batch: a function of a list of sentences returning one
            result per sentence, in order.
        sentences: a sequence of strings.
        batch_size: the most sentences per call (checked by the caller).
        progress: optional wrapper of the iterable of batches (e.g.
            `tqdm.tqdm`), called once.
        length: the length of one item of `sentences` (items may be
            something else than strings, e.g. a sentence with its match).

    Returns:
        A list of the results, one per sentence, in the order of `sentences`.
    """
    order = sorted(range(len(sentences)), key=lambda i: length(sentences[i]))
    batches = [order[i:i + batch_size] for i in range(0, len(order), batch_size)]
    out = [None] * len(sentences)
    for batch in (progress(batches) if progress else batches):
        for i, result in zip(batch, translate_batch([sentences[i] for i in batch]),
                             strict=True):
            out[i] = result
    return out


def by_length_with_matches(translate_batch, sentences, matches, batch_size, progress=None):
    """`by_length` for sentences that may come with their memory matches.

    Args:
        translate_batch: a function of `(sentences, matches)`, two lists
            (`matches` None when none were given), returning one result per
            sentence, in order.
        sentences: a sequence of strings.
        matches: one string per sentence (its memory match's translation),
            or None.
        batch_size, progress: as for `by_length`; a sentence's length is that
            of it and its match together.

    Returns:
        A list of the results, in the order of `sentences`.

    Raises:
        ValueError: `matches` are not one per sentence.
    """
    if matches is not None and len(matches) != len(sentences):
        raise ValueError(f"{len(matches)} matches for {len(sentences)} sentences: give one "
                         "per sentence (\"\" for none).")
    items = list(zip(sentences, matches or [""] * len(sentences)))
    return by_length(
        lambda batch: translate_batch([s for s, _ in batch],
                                      None if matches is None else [m for _, m in batch]),
        items, batch_size, progress, length=lambda item: len(item[0]) + len(item[1]))
