"""The tf.data pipeline: in-graph tokenization, BOS/EOS, length filter,
token-budget buckets, seeded determinism."""

import numpy as np
import pytest
import tensorflow as tf

from messages import synthetic_pairs, write_tsv
from translate import dataset
from translate.tokenizer import SPECIAL_IDS, load_processor, tf_tokenizer, train_tokenizers

PAD, BOS, EOS = SPECIAL_IDS["pad"], SPECIAL_IDS["bos"], SPECIAL_IDS["eos"]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    pairs = synthetic_pairs(300)
    pairs.append(("a " * 80, "b " * 80))  # too long for max_length=32: dropped
    tsv = write_tsv(root / "train.tsv", pairs)
    info = train_tokenizers(tsv, root, vocab_size=600)
    return tsv, pairs, root / info["source"]


def batches(corpus, **kwargs):
    tsv, _, model = corpus
    tok = tf_tokenizer(model)
    settings = dict(batch_tokens=256, max_length=32, seed=3)
    settings.update(kwargs)
    return list(dataset.make_dataset(str(tsv), tok, tok, **settings))


def test_batches_hold_what_teacher_forcing_needs(corpus):
    _, pairs, model = corpus
    sp = load_processor(model)
    expected = {tuple(sp.encode(s)): tuple(sp.encode(t)) for s, t in pairs}
    seen = 0
    for inputs, target_out in batches(corpus, shuffle=False):
        source, target_in = inputs["source"].numpy(), inputs["target_in"].numpy()
        target_out = target_out.numpy()
        assert source.dtype == target_in.dtype == target_out.dtype == np.int32
        assert source.shape[1] <= 32 and target_in.shape[1] <= 32
        assert target_in.size <= 256 or len(source) == 1, "token budget"
        for s, ti, to in zip(source, target_in, target_out):
            s, ti, to = s[s != PAD], ti[ti != PAD], to[to != PAD]
            assert s[-1] == EOS and ti[0] == BOS and to[-1] == EOS
            np.testing.assert_array_equal(ti[1:], to[:-1])
            assert expected[tuple(s[:-1])] == tuple(to[:-1])
            seen += 1
    assert seen == len(pairs) - 1, "every pair once, the overlong one dropped"


def test_same_seed_same_batches_other_seed_other_order(corpus):
    def flat(bs):
        return [b[1].numpy().tolist() for b in bs]
    assert flat(batches(corpus, seed=5)) == flat(batches(corpus, seed=5))
    assert flat(batches(corpus, seed=5)) != flat(batches(corpus, seed=6))


def test_lengths_are_bucketed(corpus):
    widths = {b[1].shape[1] for b in batches(corpus)}
    assert len(widths) > 1, "batches of different lengths (buckets)"


def real_lengths(inputs):
    """Each pair's longer side (source or target_in), without padding."""
    return np.maximum(np.sum(inputs["source"].numpy() != PAD, 1),
                      np.sum(inputs["target_in"].numpy() != PAD, 1))


@pytest.mark.parametrize("width", [1, 3, 8])
def test_a_batch_holds_pairs_of_one_bucket(corpus, width):
    lengths = [real_lengths(inputs) for inputs, _ in batches(corpus, bucket_width=width)]
    assert sum(map(len, lengths)) == len(corpus[1]) - 1, "every pair once"
    for batch in lengths:
        # Bucket boundaries width + 1, 2 width + 1, ...: one bucket per batch.
        assert len(set((batch - 1) // width)) == 1, batch


def test_narrower_buckets_pad_less(corpus):
    def padding(width):
        targets = [out.numpy() for _, out in batches(corpus, bucket_width=width)]
        return 1 - sum(int(np.sum(t != PAD)) for t in targets) / sum(t.size for t in targets)
    assert padding(1) < padding(4) < padding(16)


def test_the_pipeline_is_not_autotuned(corpus):
    # Deleting an autotuned iterator waits for its tuning thread's next
    # wake-up (up to a minute after an epoch): Keras leaves each epoch's
    # iterators to the garbage collector, which stalled training wherever it
    # ran. Determinism is kept too.
    tsv, _, model = corpus
    tok = tf_tokenizer(model)
    options = dataset.make_dataset(str(tsv), tok, tok, batch_tokens=256, max_length=32).options()
    assert options.autotune.enabled is False
    assert options.deterministic is True


@pytest.mark.parametrize("kwargs,message", [
    (dict(max_length=1), "max_length"),
    (dict(batch_tokens=16, max_length=32), "batch_tokens"),
    (dict(bucket_width=0), "bucket_width"),
])
def test_bad_settings_are_named(corpus, kwargs, message):
    with pytest.raises(ValueError, match=message):
        batches(corpus, **kwargs)
