"""A message with its translation memory match: the input of a model that reads the memory.

Neural fuzzy repair (Bulte & Tezcan, ACL 2019; Xu, Crego & Senellart, ACL
2020): the encoder reads the message, a reserved separator, then the
translation of the message's nearest memory match,

    Could not close file %s ｟match｠ Datei %s konnte nicht geöffnet werden

and is trained on pairs each given the translation of its nearest *other*
training pair, mixed with the plain pairs, so that it learns when to copy the
match, when to edit it and when to ignore it. With a joint vocabulary and
copying (the `small` preset), the match's pieces can be copied whole.

A masking model reads the match masked against the message
(`translate.spans.mask_pair`): a span the match shares with the message gets
the message's sentinel, the match's other spans stay text. So only the
message's own spans are ever unmasked, exactly as without a match.
"""

import dataclasses

from translate import spans
from translate.tokenizer import MATCH_SEPARATOR


def given(found, min_similarity=0.0):
    """The match translations a model is given: each `translate.memory.Match`'s
    target where it is at least `min_similarity` similar, else "" (none; also
    for a match that shares nothing, similarity 0)."""
    return [m.target if m is not None and m.similarity >= min_similarity and m.similarity > 0
            else "" for m in found]


def join(source, match):
    """The model's input text: `source`, the separator, `match` (`source` alone
    when there is no match, and "" for an empty source: nothing to translate)."""
    return f"{source} {MATCH_SEPARATOR} {match}" if match and source else source


def masked_input(source, match, masked=None):
    """A masking model's input: the message masked, its match masked against it.

    Args:
        source: the message.
        match: the translation of its memory match ("" for none).
        masked: `spans.mask(source)` when the caller has it already.

    Returns:
        A `translate.spans.Masked` of the message whose `text` is followed by
        the separator and the masked match; its spans are the message's only.
    """
    masked = masked or spans.mask(source)
    if not match:
        return masked
    return dataclasses.replace(masked, text=join(masked.text, spans.mask_pair(source, match)[1]))


def training_pair(source, target, match, mask_spans):
    """A training pair whose source reads the match: `(input, target)` strings.

    Args:
        source, target: the pair as the corpus stores it.
        match: the translation of the source's nearest other training pair.
        mask_spans: mask as a masking tokenizer needs (`spans.mask_pair`).
    """
    if not mask_spans:
        return join(source, match), target
    masked_source, masked_target = spans.mask_pair(source, target)
    return join(masked_source, spans.mask_pair(source, match)[1]), masked_target
