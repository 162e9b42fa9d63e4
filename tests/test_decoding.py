"""Greedy and beam search: consistency with the model, beam width 1 is
greedy, beam never scores below greedy, padding changes nothing, bounded."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from translate import decoding
from translate.model import Seq2Seq
from translate.tokenizer import SPECIAL_IDS

PAD, BOS, EOS = SPECIAL_IDS["pad"], SPECIAL_IDS["bos"], SPECIAL_IDS["eos"]
SOURCES = [[5, 6, 7, 8, EOS], [9, 10, EOS], [11, 12, 13, 14, 15, 16, EOS], [17, EOS]]


def padded(rows):
    width = max(len(r) for r in rows)
    return np.array([r + [PAD] * (width - len(r)) for r in rows], "int32")


def random_sources(seed, count):
    rng = np.random.default_rng(seed)
    return padded([list(rng.integers(3, 40, size=rng.integers(1, 12))) + [EOS]
                   for _ in range(count)])


def searched_rows(model, sources, width, greedy_row):
    """`decoding._beams`'s scores and each sentence's rows of token ids."""
    limits = dict(max_length_ratio=2.0, max_length_extra=10, max_length=256)
    scores, lengths, history, _ = decoding._beams(model, sources, width, 0.6, limits,
                                                  alignments=False, greedy_row=greedy_row)
    rows = decoding._finish(history, lengths - 1).numpy()
    return scores.numpy(), rows.reshape(len(sources), scores.shape[1], -1)


@pytest.fixture(params=[1, 2], ids=["seed1", "seed2"])
def model(request):
    keras.utils.set_random_seed(request.param)
    m = Seq2Seq(40, 40, embedding_dim=16, units=16, dropout=0.0,
                attention="additive" if request.param == 1 else "multiplicative")
    probe = padded(SOURCES)
    m({"source": probe, "target_in": probe})
    # Sharper distributions than a fresh init, so that EOS can win early.
    for w in m.trainable_weights:
        w.assign(w * 3.0)
    return m


def test_greedy_follows_the_models_own_argmax(model):
    ids, _, _ = decoding.greedy_search(model, padded(SOURCES))
    for row, source in zip(ids.numpy(), SOURCES):
        out = [t for t in row if t != PAD]
        target_in = np.array([[BOS] + out], "int32")
        logits = model({"source": np.array([source], "int32"), "target_in": target_in})
        scores = logits.numpy()[0]
        scores[:, [PAD, BOS]] = -np.inf  # never produced
        expected = list(np.argmax(scores, -1))
        limit = int(np.ceil(len(source) * 2.0)) + 10
        if len(out) + 1 < limit:  # ended by EOS, not by the limit
            assert expected == out + [EOS]
        else:
            assert expected[:-1] == out


def test_beam_width_one_is_greedy(model):
    g = decoding.greedy_search(model, padded(SOURCES))
    b = decoding.beam_search(model, padded(SOURCES), beam_width=1)
    for x, y in zip(g, b):
        np.testing.assert_allclose(x.numpy(), y.numpy())


@pytest.mark.parametrize("width", [2, 4])
def test_beam_never_scores_below_greedy(model, width):
    _, greedy_scores, _ = decoding.greedy_search(model, padded(SOURCES))
    _, beam_scores, _ = decoding.beam_search(model, padded(SOURCES), beam_width=width,
                                             greedy_row=True)
    assert np.all(beam_scores.numpy() >= greedy_scores.numpy() - 1e-6)


@pytest.mark.parametrize("width", [2, 3])
def test_the_greedy_row_of_the_beam_loop_is_greedy_search(model, width):
    # Each sentence's greedy row finds `greedy_search`'s hypothesis and
    # score, unless it stopped once its beams were done and it could no
    # longer beat their best (then `greedy_search`'s score is below it).
    # Both happen on these random sentences.
    sources = random_sources(0, 64)
    scores, rows = searched_rows(model, sources, width, greedy_row=True)
    greedy_ids, greedy_scores, _ = decoding.greedy_search(model, sources)
    _, beam_scores, _ = decoding.beam_search(model, sources, beam_width=width,
                                             greedy_row=True)
    seen = set()
    for i, (ids, score) in enumerate(zip(greedy_ids.numpy(), greedy_scores.numpy())):
        if scores[i, width] > 2 * decoding.NEG_INF:
            np.testing.assert_array_equal(rows[i, width][:len(ids)], ids)
            np.testing.assert_allclose(scores[i, width], score, rtol=1e-5)
            seen.add("searched")
        else:
            assert score < scores[i, :width].max(), "stopped, though it could have won"
            seen.add("stopped")
        assert beam_scores.numpy()[i] == pytest.approx(max(score, scores[i, :width].max()),
                                                       rel=1e-5)
    assert seen == {"searched", "stopped"}


@pytest.mark.parametrize("width", [2, 3])
def test_without_the_greedy_row_the_answer_is_the_best_of_the_same_beams(model, width):
    # The greedy row only adds a candidate: the beams are those searched
    # beside it, and without it the answer and the n-best list are theirs.
    sources = random_sources(1, 32)
    with_scores, beams = searched_rows(model, sources, width, greedy_row=True)
    scores, alone = searched_rows(model, sources, width, greedy_row=False)
    assert scores.shape == (len(sources), width)
    np.testing.assert_allclose(scores, with_scores[:, :width], rtol=1e-6)
    np.testing.assert_array_equal(alone, beams[:, :width, :alone.shape[-1]])
    best = scores.argmax(1)
    ids, answer, _ = decoding.beam_search(model, sources, beam_width=width, greedy_row=False)
    np.testing.assert_allclose(answer.numpy(), scores.max(1), rtol=1e-6)
    for i, row in enumerate(ids.numpy()):
        np.testing.assert_array_equal(row[:alone.shape[-1]], alone[i, best[i], :row.shape[0]])
    _, n_scores = decoding.n_best_search(model, sources, beam_width=width, n_best=width,
                                         greedy_row=False)
    np.testing.assert_allclose(n_scores.numpy(), -np.sort(-scores, 1), rtol=1e-6)
    with pytest.raises(ValueError, match=f"between 1 and {width} "):
        decoding.n_best_search(model, sources, beam_width=width, n_best=width + 1,
                               greedy_row=False)


def test_beam_without_alignments_finds_the_same_translations(model):
    source = padded(SOURCES)
    ids, scores, attention = decoding.beam_search(model, source, beam_width=3)
    fast_ids, fast_scores, _ = decoding.beam_search(model, source, beam_width=3,
                                                    alignments=False)
    np.testing.assert_array_equal(fast_ids.numpy(), ids.numpy())
    np.testing.assert_allclose(fast_scores.numpy(), scores.numpy())
    # With alignments, each output token's weights sum to one over the source.
    produced = ids.numpy() != PAD
    np.testing.assert_allclose(attention.numpy().sum(-1)[produced], 1.0, rtol=1e-5)


@pytest.mark.parametrize("search", ["greedy", "beam"])
def test_padding_in_a_batch_changes_nothing(model, search):
    decode = tf.function(
        (lambda s: decoding.greedy_search(model, s)) if search == "greedy"
        else (lambda s: decoding.beam_search(model, s, beam_width=3)))
    batch_ids, batch_scores, _ = decode(padded(SOURCES))
    for i, source in enumerate(SOURCES):
        ids, scores, _ = decode(np.array([source], "int32"))
        alone = [t for t in ids.numpy()[0] if t != PAD]
        together = [t for t in batch_ids.numpy()[i] if t != PAD]
        assert alone == together
        np.testing.assert_allclose(scores.numpy()[0], batch_scores.numpy()[i], atol=1e-5)


def test_pad_and_bos_are_never_produced(model):
    # A model that prefers PAD everywhere still yields real tokens.
    model.projection.bias.assign(np.where(np.arange(40) == PAD, 50.0, 0.0))
    for search in (decoding.greedy_search,
                   lambda m, s: decoding.beam_search(m, s, beam_width=3)):
        ids = search(model, padded(SOURCES))[0].numpy()
        for row in ids:
            length = int((row != PAD).sum())
            assert length > 0, "real tokens, though the model prefers PAD"
            assert (row[:length] != PAD).all(), "PAD only after the last real token"
        assert not (ids == BOS).any()


def test_output_length_is_bounded(model):
    ids, _, attention = decoding.beam_search(model, padded(SOURCES), beam_width=2,
                                             max_length_ratio=1.0, max_length_extra=2,
                                             max_length=5)
    lengths = (ids.numpy() != PAD).sum(axis=1)
    limits = np.minimum([len(s) + 2 for s in SOURCES], 5)
    assert np.all(lengths <= limits - 1), "room for EOS within the limit"
    assert attention.shape[2] == padded(SOURCES).shape[1]


def test_sentences_past_beam_rows_get_their_greedy_hypothesis_and_no_beams(model):
    def tokens(row):
        return [t for t in row if t != PAD]

    source = padded(SOURCES)
    greedy_ids, greedy_scores, _ = decoding.greedy_search(model, source)
    all_ids, all_scores = decoding.n_best_search(model, source, beam_width=3)
    ids, scores = decoding.n_best_search(model, source, beam_width=3, beam_rows=2)
    ids, scores = ids.numpy(), scores.numpy()
    for i in (0, 1):  # searched as when every sentence is
        assert [tokens(r) for r in ids[i]] == [tokens(r) for r in all_ids.numpy()[i]]
        np.testing.assert_allclose(scores[i], all_scores.numpy()[i], rtol=1e-6)
    for i in (2, 3):
        assert tokens(ids[i, 0]) == tokens(greedy_ids.numpy()[i])
        np.testing.assert_allclose(scores[i, 0], greedy_scores.numpy()[i], rtol=1e-6)
        assert np.all(scores[i, 1:] < decoding.NEG_INF / 2), "no beam was searched"


@pytest.mark.parametrize("width,k", [(8000, 4), (8001, 4), (3000, 1), (5000, 9)])
def test_top_k_rows_is_tensorflows_top_k(width, k):
    rng = np.random.default_rng(width)
    for x in (rng.normal(size=(37, width)),
              rng.integers(0, 3, size=(37, width))):  # ties everywhere
        x = tf.constant(x, tf.float32)
        values, indices = decoding.top_k_rows(x, k)
        expected_values, expected_indices = tf.math.top_k(x, k)
        np.testing.assert_array_equal(indices.numpy(), expected_indices.numpy())
        np.testing.assert_array_equal(values.numpy(), expected_values.numpy())


def test_searches_over_a_large_vocabulary_find_what_a_plain_top_k_finds(monkeypatch):
    # A vocabulary wide enough for top_k_rows's blocks (the fixture's is not).
    keras.utils.set_random_seed(3)
    m = Seq2Seq(2000, 2000, embedding_dim=16, units=16, dropout=0.0)
    m({"source": padded(SOURCES), "target_in": padded(SOURCES)})
    for w in m.trainable_weights:
        w.assign(w * 3.0)

    def search():
        ids, scores = decoding.n_best_search(m, padded(SOURCES), beam_width=4)
        return ids.numpy(), scores.numpy()
    ids, scores = search()
    monkeypatch.setattr(decoding, "top_k_rows", lambda x, k: tf.math.top_k(x, k))
    plain_ids, plain_scores = search()
    np.testing.assert_array_equal(ids, plain_ids)
    np.testing.assert_allclose(scores, plain_scores, rtol=1e-6)
