"""The lexical shortlist: its lists, and searches that keep to them.

A list that holds every piece changes nothing; a shorter one is only ever
a sentence's own (its batch-mates change nothing), and its searches write
nothing outside it.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from translate import decoding, shortlist
from translate.model import Seq2Seq
from translate.tokenizer import SPECIAL_IDS

PAD, EOS = SPECIAL_IDS["pad"], SPECIAL_IDS["eos"]
VOCAB = 40
SOURCES = [[5, 6, 7, 8, EOS], [9, 10, EOS], [11, 12, 13, 14, 15, 16, EOS], [17, EOS]]


def padded(rows):
    width = max(len(r) for r in rows)
    return np.array([r + [PAD] * (width - len(r)) for r in rows], "int32")


@pytest.fixture(params=["plain", "copy", "tied", "bfloat16", "tied-bfloat16"])
def model(request):
    keras.utils.set_random_seed(3)
    m = Seq2Seq(VOCAB, VOCAB, embedding_dim=16, units=16, dropout=0.0,
                copy=request.param == "copy", tie_output=request.param.startswith("tied"))
    probe = padded(SOURCES)
    m({"source": probe, "target_in": probe})
    for w in m.trainable_weights:  # sharper than an initialisation
        w.assign(w * 3.0)
    if request.param.endswith("bfloat16"):
        m.set_inference_precision("bfloat16")
    return m


def lists(frequent, per_piece=2, seed=0):
    """Random lists: `frequent` ids, and `per_piece` for each source id."""
    rng = np.random.default_rng(seed)
    table = rng.integers(4, VOCAB, size=(VOCAB, per_piece)).astype("int32")
    return shortlist.Lists(frequent=np.sort(rng.choice(np.arange(4, VOCAB), frequent,
                                                       replace=False)).astype("int32"),
                           table=table, joint=True)


SEARCHES = {
    "greedy": lambda m, s, **kw: decoding.greedy_search(m, s, **kw)[:2],
    "beam": lambda m, s, **kw: decoding.beam_search(m, s, beam_width=3, **kw)[:2],
    "n_best": lambda m, s, **kw: decoding.n_best_search(m, s, beam_width=3, **kw),
}


@pytest.mark.parametrize("search", SEARCHES)
def test_a_list_of_every_piece_changes_nothing(model, search):
    every = shortlist.Shortlist(lists(VOCAB - 4), VOCAB)
    ids, scores = SEARCHES[search](model, padded(SOURCES))
    listed_ids, listed_scores = SEARCHES[search](model, padded(SOURCES), shortlist=every)
    np.testing.assert_array_equal(listed_ids.numpy(), ids.numpy())
    np.testing.assert_allclose(listed_scores.numpy(), scores.numpy(), rtol=1e-6)


@pytest.mark.parametrize("search", SEARCHES)
def test_a_sentence_writes_only_its_own_pieces_whatever_its_batch(model, search):
    short = shortlist.Shortlist(lists(6), VOCAB)
    members = short.members(padded(SOURCES)).numpy()
    ids, scores = SEARCHES[search](model, padded(SOURCES), shortlist=short)
    for i, source in enumerate(SOURCES):
        written = ids.numpy()[i]
        assert members[i][written].all(), "nothing outside the sentence's own list"
        alone_ids, alone_scores = SEARCHES[search](model, padded([source]), shortlist=short)
        alone = alone_ids.numpy()[0]
        width = min(alone.shape[-1], written.shape[-1])
        np.testing.assert_array_equal(alone[..., :width], written[..., :width])
        assert not alone[..., width:].any() and not written[..., width:].any()
        np.testing.assert_allclose(alone_scores.numpy()[0], scores.numpy()[i], rtol=1e-5)


@pytest.mark.parametrize("search", SEARCHES)
def test_a_piece_the_model_prefers_is_not_written_outside_the_list(search):
    keras.utils.set_random_seed(4)
    m = Seq2Seq(VOCAB, VOCAB, embedding_dim=16, units=16, dropout=0.0)
    m({"source": padded(SOURCES), "target_in": padded(SOURCES)})
    m.projection.bias.assign(np.where(np.arange(VOCAB) == 39, 50.0, 0.0))
    ids, _ = SEARCHES[search](m, padded(SOURCES))
    assert (ids.numpy() == 39).any(), "the model writes it"
    short = shortlist.Shortlist(
        shortlist.Lists(np.array([30], "int32"), np.full((VOCAB, 1), 20, "int32"), True), VOCAB)
    listed, _ = SEARCHES[search](m, padded(SOURCES), shortlist=short)
    members = short.members(padded(SOURCES)).numpy()
    assert not members[:, 39].any()
    assert all(members[i][row].all() for i, row in enumerate(listed.numpy()))


def test_members_are_the_frequent_lexical_source_and_special_pieces():
    table = np.zeros((VOCAB, 2), "int32")
    table[5] = [20, 21]
    table[6] = [22, PAD]
    short = shortlist.Shortlist(shortlist.Lists(np.array([30, 31], "int32"), table, True), VOCAB)
    members = short.members(padded([[5, 6, EOS], [6, EOS]])).numpy()
    assert set(np.flatnonzero(members[0])) == {0, 1, 2, 3, 5, 6, 20, 21, 22, 30, 31}
    assert set(np.flatnonzero(members[1])) == {0, 1, 2, 3, 6, 22, 30, 31}
    separate = shortlist.Shortlist(shortlist.Lists(np.array([30], "int32"), table, False), VOCAB)
    assert set(np.flatnonzero(separate.members(padded([[6, EOS]])).numpy()[0])) == {
        0, 1, 2, 3, 22, 30}, "without a joint vocabulary source ids are not target ids"


class Pieces:
    """A stand-in SentencePiece processor: one piece per word."""

    def __init__(self, words, proto):
        self.ids = {w: i for i, w in enumerate(words)}
        self.proto = proto

    def encode(self, text):
        return [self.ids[w] for w in text.split()]

    def get_piece_size(self):
        return len(self.ids)

    def serialized_model_proto(self):
        return self.proto


def test_build_ranks_what_occurs_together_and_what_is_frequent(tmp_path):
    corpus = tmp_path / "train.tsv"
    corpus.write_text("red house\trotes Haus\nred car\trotes Auto\nred door\trote Tür\n"
                      "the house\tdas Haus\nthe car\tdas Auto\n", encoding="utf-8")
    source = Pieces(["<pad>", "<unk>", "<s>", "</s>", "red", "house", "car", "door", "the"],
                    b"en")
    target = Pieces(["<pad>", "<unk>", "<s>", "</s>", "rotes", "rote", "Haus", "Auto", "Tür",
                     "das"], b"de")
    found = shortlist.build(corpus, source, target, frequent=3, per_piece=2, mask_spans=False)
    t = target.ids
    # "rotes" is with "red" in 2 of its 3 pairs and nowhere else: Dice 0.8;
    # "rote" 1 of 3 and alone (0.5), "Haus" 1 of 3 and elsewhere (0.4).
    assert list(found.table[source.ids["red"]]) == [t["rotes"], t["rote"]]
    assert list(found.table[source.ids["door"]]) == [t["rote"], t["Tür"]]
    assert list(found.table[PAD]) == [PAD, PAD], "a piece never seen lists nothing"
    # Frequent: Haus, Auto, rotes, das (2 pairs each): the lower ids win the tie.
    assert list(found.frequent) == sorted([t["rotes"], t["Haus"], t["Auto"]])
    assert not found.joint
    with pytest.raises(ValueError, match="per_piece >= 1"):
        shortlist.build(corpus, source, target, frequent=3, per_piece=0)
