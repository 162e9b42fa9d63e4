"""A lexical shortlist: the target pieces a sentence's translation may use.

A search step's work that grows with each hypothesis is mostly
vocabulary-wide: the output projection onto every piece, its
log-softmax, the top-k and the copy scatter. A batch of searches gains
little from being a batch when that work dominates. Marian's lexical
shortlist (Junczys-Dowmunt et al., ACL 2018 demos) limits it: each sentence
chooses its pieces among

* the `frequent` most frequent target pieces of the training corpus,
* for each of its source pieces, the `per_piece` target pieces that occur
  most with it in training pairs (Dice coefficient of the two pieces'
  pair counts),
* its own source pieces (what copying writes: names, sentinels, a memory
  match's pieces) and the special pieces.

A batch's search projects onto the union of its sentences' lists and masks
each sentence to its own, so a translation never depends on its
batch-mates (`translate.decoding`). A piece outside a sentence's list can
never be written: the list trades the rare such piece for speed, which is
why it is an export option (`translate export --shortlist`), measured
against the full vocabulary.
"""

import collections

import numpy as np
import tensorflow as tf

from translate.dataset import training_pairs
from translate.tokenizer import SPECIAL_IDS

PAD = SPECIAL_IDS["pad"]

Lists = collections.namedtuple("Lists", ["frequent", "table", "joint"])
Lists.__doc__ = """What `build` finds: `frequent`, int32 `(F,)` target ids;
`table`, int32 `(source_vocab, per_piece)`, each source id's target ids,
best first, padded with PAD; `joint`, whether source and target share one
vocabulary (then a sentence's source pieces are its target pieces too)."""


def build(train_tsv, source_processor, target_processor, *, frequent=2000, per_piece=100,
          mask_spans=True):
    """The shortlist's lists, from a corpus's training pairs.

    Args:
        train_tsv: the `source<TAB>target` training file.
        source_processor, target_processor: the run's SentencePiece
            processors (`translate.tokenizer.load_processor`).
        frequent: how many of the most frequent target pieces every
            sentence may use.
        per_piece: how many target pieces each source piece adds.
        mask_spans: read the pairs as a masking model trains on them
            (`translate.dataset.training_pairs`).

    Returns:
        `Lists`.

    Raises:
        ValueError: `frequent` or `per_piece` below 1.
    """
    if frequent < 1 or per_piece < 1:
        raise ValueError(f"a shortlist needs frequent >= 1 and per_piece >= 1, got "
                         f"{frequent} and {per_piece}.")
    source_vocab = source_processor.get_piece_size()
    target_vocab = target_processor.get_piece_size()
    pairs = training_pairs(train_tsv, mask_spans)
    source_count = np.zeros(source_vocab)
    target_count = np.zeros(target_vocab)
    codes = []
    for source, target in pairs:
        # Each piece once per pair: counts of pairs, as the Dice coefficient wants.
        s = np.unique(source_processor.encode(source)).astype(np.int64)
        t = np.unique(target_processor.encode(target)).astype(np.int64)
        source_count[s] += 1
        target_count[t] += 1
        codes.append((s[:, None] * target_vocab + t[None]).ravel())
    code, together = np.unique(np.concatenate(codes) if codes else np.zeros(0, np.int64),
                               return_counts=True)
    s, t = code // target_vocab, code % target_vocab
    dice = 2 * together / (source_count[s] + target_count[t])
    order = np.lexsort((t, -dice, s))  # by source piece, best first, ties to the lower id
    s, t = s[order], t[order]
    first = np.searchsorted(s, np.arange(source_vocab))
    rank = np.arange(len(s)) - first[s]
    keep = rank < per_piece
    table = np.full([source_vocab, per_piece], PAD, np.int32)
    table[s[keep], rank[keep]] = t[keep]
    # Most frequent first, ties to the lower id.
    by_count = np.lexsort((np.arange(target_vocab), -target_count))
    joint = (source_processor.serialized_model_proto()
             == target_processor.serialized_model_proto())
    return Lists(frequent=np.sort(by_count[:frequent]).astype(np.int32), table=table,
                 joint=joint)


class Shortlist(tf.Module):
    """The lists as TensorFlow variables (saved with an export), and each
    sentence's pieces.

    Args:
        lists: `Lists`.
        target_vocab: the target vocabulary's size.
    """

    def __init__(self, lists, target_vocab, name="shortlist"):
        super().__init__(name=name)
        self.target_vocab = int(target_vocab)
        self.frequent = tf.Variable(lists.frequent, trainable=False, name="frequent")
        self.table = tf.Variable(lists.table, trainable=False, name="table")
        self.joint = bool(lists.joint)

    def members(self, source):
        """Which target pieces each sentence may use.

        Args:
            source: `(batch, source_len)` int32 ids, padded with PAD.

        Returns:
            bool `(batch, target_vocab)`: its frequent, lexical, source (with
            a joint vocabulary) and special pieces (the special ones always, so that they keep their
            ids' order at the front of any sorted union: `translate.decoding`
            relies on it).
        """
        source = tf.cast(source, tf.int32)
        batch = tf.shape(source)[0]
        every = tf.concat([self.frequent, tf.constant(sorted(SPECIAL_IDS.values()), tf.int32)], 0)
        shared = tf.scatter_nd(every[:, None], tf.ones_like(every), [self.target_vocab]) > 0
        # Padding adds nothing, whatever the table's row of PAD holds.
        lexical = tf.where(tf.equal(source, PAD)[..., None], PAD, tf.gather(self.table, source))
        ids = tf.reshape(lexical, [batch, -1])
        if self.joint:
            ids = tf.concat([ids, source], 1)
        rows = tf.broadcast_to(tf.range(batch)[:, None], tf.shape(ids))
        own = tf.scatter_nd(tf.stack([rows, ids], -1), tf.ones_like(ids),
                            [batch, self.target_vocab]) > 0
        return own | shared[None]
