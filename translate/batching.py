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
