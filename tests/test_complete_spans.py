"""Searches with `complete_spans`: every hypothesis of a masking model writes
each sentinel of its source exactly once and no other, whatever the model
prefers, so a masked placeholder or tag is never dropped or doubled."""

import keras
import numpy as np
import pytest

from translate import decoding, shortlist
from translate.model import Seq2Seq
from translate.tokenizer import SENTINEL_IDS, SPECIAL_IDS

PAD, EOS = SPECIAL_IDS["pad"], SPECIAL_IDS["eos"]
VOCAB = 60
S1, S2, S3 = SENTINEL_IDS[:3]
# Two spans; none; the third alone; the first, and text past the separator
# holding it again (a match masked against its message).
SOURCES = [[40, S1, 41, S2, 42, EOS], [43, 44, EOS], [45, S3, 46, EOS],
           [47, S1, 48, 36, 49, S1, EOS]]


def padded(rows):
    width = max(len(r) for r in rows)
    return np.array([r + [PAD] * (width - len(r)) for r in rows], "int32")


@pytest.fixture(params=["plain", "copy"])
def model(request):
    """A model that would end at once, or write sentinels anywhere."""
    keras.utils.set_random_seed(5)
    m = Seq2Seq(VOCAB, VOCAB, embedding_dim=16, units=16, dropout=0.0,
                copy=request.param == "copy")
    probe = padded(SOURCES)
    m({"source": probe, "target_in": probe})
    for w in m.trainable_weights:
        w.assign(w * 3.0)
    bias = m.projection.bias.numpy()
    bias[EOS] += 6.0
    bias[list(SENTINEL_IDS[:4])] += 8.0
    m.projection.bias.assign(bias)
    return m


def every_piece():
    return shortlist.Shortlist(shortlist.Lists(
        frequent=np.arange(4, VOCAB, dtype="int32"),
        table=np.zeros((VOCAB, 1), "int32"), joint=True), VOCAB)


def a_short_list():
    """Lists that hold the first four sentinels (sources lacking them too)."""
    rng = np.random.default_rng(0)
    return shortlist.Shortlist(shortlist.Lists(
        frequent=np.array([*SENTINEL_IDS[:4], 50, 51, 52], "int32"),
        table=rng.integers(37, VOCAB, size=(VOCAB, 2)).astype("int32"), joint=True), VOCAB)


SEARCHES = {
    "greedy": lambda m, s, **kw: [h[:, None] for h in decoding.greedy_search(m, s, **kw)[:2]],
    "beam": lambda m, s, **kw: [h[:, None] for h in decoding.beam_search(
        m, s, beam_width=3, **kw)[:2]],
    # The beams and the greedy row: every candidate keeps its spans.
    "n_best": lambda m, s, **kw: decoding.n_best_search(m, s, beam_width=3, n_best=4,
                                                        greedy_row=True, **kw),
}
LISTS = {"none": lambda: None, "every piece": every_piece, "short": a_short_list}


def sentinels(ids):
    return sorted(int(t) for t in ids if t in SENTINEL_IDS)


def complete(ids, source):
    """The hypothesis writes its source's sentinels once each, and no other."""
    return sentinels(ids) == sorted(set(sentinels(source)))


@pytest.mark.parametrize("search", SEARCHES)
def test_without_the_constraint_this_model_drops_and_invents_sentinels(model, search):
    ids, _ = SEARCHES[search](model, padded(SOURCES))
    best = ids.numpy()[:, 0]
    assert not all(complete(h, s) for h, s in zip(best, SOURCES))


@pytest.mark.parametrize("lists", LISTS)
@pytest.mark.parametrize("search", SEARCHES)
def test_every_hypothesis_writes_each_sentinel_of_its_source_once(model, search, lists):
    ids, scores = SEARCHES[search](model, padded(SOURCES), shortlist=LISTS[lists](),
                                   complete_spans=True)
    ended = []
    for hypotheses, hypothesis_scores, source in zip(ids.numpy(), scores.numpy(), SOURCES):
        for h, score in zip(hypotheses, hypothesis_scores):
            # One stopped at its length limit owing a sentinel scores about
            # NEG_INF, below every complete one (n-best's empty ones too).
            if score > decoding.NEG_INF / 1000:
                ended.append(h)
                assert complete(h, source), (h, source)
    # (A random model may fail to write a sentinel before its limit.)
    assert sum(bool(sentinels(h)) for h in ended) >= 2


@pytest.mark.parametrize("search", SEARCHES)
def test_a_sentence_is_constrained_alone_as_in_its_batch(model, search):
    ids, scores = SEARCHES[search](model, padded(SOURCES), complete_spans=True)
    for i, source in enumerate(SOURCES):
        alone_ids, alone_scores = SEARCHES[search](model, padded([source]),
                                                   complete_spans=True)
        alone, together = alone_ids.numpy()[0], ids.numpy()[i]
        width = min(alone.shape[-1], together.shape[-1])
        np.testing.assert_array_equal(alone[..., :width], together[..., :width])
        assert not alone[..., width:].any() and not together[..., width:].any()
        np.testing.assert_allclose(alone_scores.numpy()[0], scores.numpy()[i], rtol=1e-5)
