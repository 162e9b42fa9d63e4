"""Placeholders and SentencePiece tokenizers: atomic placeholders, fixed special
ids, and the in-graph TensorFlow Text tokenizer agreeing with the library.

Real text comes from the German gettext catalogs of the system when they are
installed (/usr/share/locale/de/LC_MESSAGES/*.mo); otherwise synthetic
messages stand in. Nothing is downloaded.
"""

import gettext
import json
import random
from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf
from sentencepiece import sentencepiece_model_pb2

from messages import TEMPLATES, synthetic_pairs
from translate.corpus.clean import normalize
from translate.placeholders import (PLACEHOLDER_PATTERN, find_placeholders,
                                    placeholder_inventory, same_placeholders)
from translate.spans import SENTINELS
from translate.tokenizer import (SENTINEL_IDS, SPECIAL_IDS, load_processor, sample_sentences,
                                 tf_tokenizer, train_sentencepiece, train_tokenizers,
                                 vocab_size)

CATALOGS = Path("/usr/share/locale/de/LC_MESSAGES")


def catalog_pairs(limit):
    """(msgid, msgstr) of the installed German catalogs, whitespace-normalised.

    Returns an empty list when no catalog can be read.
    """
    pairs = set()
    for path in sorted(CATALOGS.glob("*.mo")):
        try:
            with open(path, "rb") as f:
                catalog = gettext.GNUTranslations(f)._catalog
        except (OSError, UnicodeDecodeError, ValueError):
            continue  # e.g. a catalog in a legacy charset
        for key, value in catalog.items():
            msgid = key[0] if isinstance(key, tuple) else key
            msgid, msgstr = normalize(msgid.split("\x04")[-1]), normalize(value)
            if msgid and msgstr and len(msgid) < 300 and len(msgstr) < 300:
                pairs.add((msgid, msgstr))
    pairs = sorted(pairs)
    random.Random(0).shuffle(pairs)
    return pairs[:limit]


@pytest.fixture(scope="module")
def real_pairs():
    return catalog_pairs(600) or synthetic_pairs(600, seed=1)


@pytest.fixture(scope="module")
def sentences(real_pairs):
    """A few hundred real sentences (both languages), held out of training."""
    held_out = real_pairs[-200:]
    return [s for pair in held_out for s in pair]


@pytest.fixture(scope="module")
def corpus(tmp_path_factory, real_pairs):
    path = tmp_path_factory.mktemp("corpus") / "train.tsv"
    pairs = synthetic_pairs(400) + real_pairs[:-200]
    path.write_text("".join(f"{s}\t{t}\n" for s, t in pairs), encoding="utf-8")
    return path, pairs


@pytest.fixture(scope="module", params=[("unigram", True), ("unigram", False),
                                        ("bpe", True), ("bpe", False)],
                ids=["unigram-joint", "unigram-separate", "bpe-joint", "bpe-separate"])
def trained(request, tmp_path_factory, corpus):
    model_type, joint = request.param
    out_dir = tmp_path_factory.mktemp(f"{model_type}-{joint}")
    info = train_tokenizers(corpus[0], out_dir, vocab_size=1000, model_type=model_type,
                            joint=joint)
    return info, out_dir


# ------------------------------------------------------------ placeholders
@pytest.mark.parametrize("text, expected", [
    ("Could not open file %s", ["%s"]),
    ("%d %i %u %x %X %o %c %p %m %f %e %g", ["%d", "%i", "%u", "%x", "%X", "%o", "%c", "%p",
                                              "%m", "%f", "%e", "%g"]),
    ("%lu %ld %lld %zu %hhd %jd %Lf %Zd %I64u", ["%lu", "%ld", "%lld", "%zu", "%hhd", "%jd",
                                                 "%Lf", "%Zd", "%I64u"]),
    ("%5.2f %-10s %05d %+d %#x %.*s %*d %'d", ["%5.2f", "%-10s", "%05d", "%+d", "%#x",
                                                "%.*s", "%*d", "%'d"]),
    ("%1$s of %2$d", ["%1$s", "%2$d"]),
    ("%(name)s is %(count)5d, %(x)r", ["%(name)s", "%(count)5d", "%(x)r"]),
    ("100%% done", ["%%"]),
    ("%%s is literal", ["%%"]),
    ("match%%0Acertain", ["%%"]),
    ("{0} {name} {0:>5} {} {user.name} {items[0]} {0!r} {:,} {x:.2f}",
     ["{0}", "{name}", "{0:>5}", "{}", "{user.name}", "{items[0]}", "{0!r}", "{:,}", "{x:.2f}"]),
    ("Hello %{user}", ["%{user}"]),
    ("in ${prefix}/bin and ${binary:Version}", ["${prefix}", "${binary:Version}"]),
    ("$HOME and $line", ["$HOME", "$line"]),
    ("Smartcard daemon for @GNUPG@", ["@GNUPG@"]),
    ("50%sale", ["%s"]),  # ambiguous; taken as a conversion
])
def test_placeholders_found(text, expected):
    assert find_placeholders(text) == expected


@pytest.mark.parametrize("text", [
    "100% done",
    "50% off, 10% more",
    "at 100%.",
    "10%-20% discount",
    "costs $5 or $1",
    "{{literal braces}}",
    "{heads,tags} and {auto|manual}",
    "mail user@example.org now",
    "<file> and <b>bold</b>",
    "% s",
])
def test_no_placeholder_in_prose(text):
    assert find_placeholders(text) == []


def test_placeholders_hold_no_whitespace():
    # A placeholder is one SentencePiece user symbol: it may not hold spaces.
    assert PLACEHOLDER_PATTERN.search("{0: >5}") is None
    assert find_placeholders("% d %(x) s {: d} %- s %(a b)s") == []


def test_same_placeholders_is_a_multiset_comparison():
    assert same_placeholders("%s of %d", "%d von %s")
    assert not same_placeholders("%s of %s", "%s von")
    assert not same_placeholders("{0}", "{1}")
    assert same_placeholders("no placeholders", "keine Platzhalter")


def test_inventory_most_frequent_first():
    texts = ["%s %d", "%d {0}", "%d", "{0}"]
    assert placeholder_inventory(texts) == ["%d", "{0}", "%s"]
    assert placeholder_inventory(texts, min_count=2) == ["%d", "{0}"]
    with pytest.raises(ValueError):
        placeholder_inventory(texts, min_count=0)


# -------------------------------------------------------------- tokenizers
def test_special_ids_are_fixed(trained):
    info, _ = trained
    assert dict(SPECIAL_IDS) == {"pad": 0, "unk": 1, "bos": 2, "eos": 3}
    assert info["special_ids"] == dict(SPECIAL_IDS)
    for side in ("source", "target"):
        sp = load_processor(info[side])
        assert (sp.pad_id(), sp.unk_id(), sp.bos_id(), sp.eos_id()) == (0, 1, 2, 3)
        assert [sp.id_to_piece(i) for i in range(4)] == ["<pad>", "<unk>", "<s>", "</s>"]
        # What the searches' `complete_spans` counts on.
        assert [sp.piece_to_id(s) for s in SENTINELS] == list(SENTINEL_IDS)


def test_training_result_and_files(trained):
    info, out_dir = trained
    json.dumps(info)  # serialisable, for a manifest
    names = sorted(p.name for p in out_dir.iterdir())
    if info["joint"]:
        assert info["source"] == info["target"] == str(out_dir / "spm.model")
        assert names == ["spm.model", "spm.vocab"]
    else:
        assert (info["source"], info["target"]) == (str(out_dir / "source.model"),
                                                    str(out_dir / "target.model"))
        assert names == ["source.model", "source.vocab", "target.model", "target.vocab"]
    for side in ("source", "target"):
        assert info["vocab_size"][side] == vocab_size(info[side]) <= 1000
        proto = sentencepiece_model_pb2.ModelProto()
        proto.ParseFromString(Path(info[side]).read_bytes())
        assert proto.normalizer_spec.name == "identity"
        assert proto.trainer_spec.byte_fallback


def test_each_placeholder_is_one_piece(trained, corpus):
    info, _ = trained
    _, pairs = corpus
    inventory = placeholder_inventory(s for pair in pairs for s in pair)
    assert info["placeholders"] == len(inventory) >= len(TEMPLATES)
    for side, column in (("source", 0), ("target", 1)):
        sp = load_processor(info[side])
        for placeholder in inventory:
            assert placeholder in sp.encode_as_pieces(f"x{placeholder}y {placeholder}")
            assert sp.piece_to_id(placeholder) != SPECIAL_IDS["unk"]
        protected = set(inventory)
        for pair in pairs:
            pieces = sp.encode_as_pieces(pair[column])
            assert [p for p in pieces if p in protected] == find_placeholders(pair[column])


def test_in_graph_tokenizer_matches_sentencepiece(trained, sentences):
    info, _ = trained
    for side in ("source", "target"):
        sp = load_processor(info[side])
        tokenizer = tf_tokenizer(info[side])
        ids = tokenizer.tokenize(tf.constant(sentences))
        assert ids.dtype == tf.int32
        assert ids.to_list() == sp.encode(sentences)
        assert all(row and row[0] != SPECIAL_IDS["bos"] and row[-1] != SPECIAL_IDS["eos"]
                   for row in ids.to_list())
        texts = [t.decode("utf-8") for t in tokenizer.detokenize(ids).numpy()]
        assert texts == [normalize(s) for s in sentences]


def test_round_trip_keeps_every_character(trained):
    info, _ = trained
    sp = load_processor(info["target"])
    text = "Speichern …  unter „%s“ — µs, 😀, Ünïcödé ✓  "
    ids = sp.encode(text)
    assert SPECIAL_IDS["unk"] not in ids  # byte fallback instead of <unk>
    assert sp.decode(ids) == normalize(text)  # identity rule: no NFKC, "…" stays


def test_sample_is_uniform_in_order_and_reproducible():
    lines = [f"line {i}" for i in range(1000)]
    sample = sample_sentences(iter(lines), 100, seed=1)
    assert len(sample) == 100 and len(set(sample)) == 100
    assert sample == sorted(sample, key=lines.index)  # corpus order kept
    assert sample == sample_sentences(lines, 100, seed=1)
    assert sample != sample_sentences(lines, 100, seed=2)
    assert max(map(lines.index, sample)) > 500  # not just the first lines
    assert sample_sentences(lines[:50], 100) == lines[:50]


def test_large_input_is_sampled(tmp_path):
    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyz"
    lines = [" ".join("".join(rng.choice(letters) for _ in range(7)) for _ in range(6))
             for _ in range(5000)]
    models = {name: train_sentencepiece(lines, tmp_path / name, max_sentences=size, seed=seed)
              for name, size, seed in [("full", 5000, 0), ("a", 500, 0), ("b", 500, 0),
                                       ("c", 500, 1)]}
    proto = sentencepiece_model_pb2.ModelProto()
    proto.ParseFromString(models["a"].read_bytes())
    assert proto.trainer_spec.input_sentence_size == 500
    assert proto.trainer_spec.shuffle_input_sentence
    # Random words: the vocabulary grows with the text actually trained on.
    assert vocab_size(models["a"]) < vocab_size(models["full"])
    model = {name: path.read_bytes() for name, path in models.items()}
    assert model["a"] == model["b"]  # same seed, same sample, same model
    assert model["a"] != model["c"]


def test_bad_arguments_are_refused(tmp_path):
    with pytest.raises(ValueError, match="model_type"):
        train_sentencepiece(["a"], tmp_path / "m", model_type="word")
    with pytest.raises(ValueError, match="whitespace"):
        train_sentencepiece(["a"], tmp_path / "m", user_symbols=["{0: >5}"])
    with pytest.raises(ValueError, match="no room"):
        train_sentencepiece(["a"], tmp_path / "m", vocab_size=100)
    bad = tmp_path / "bad.tsv"
    bad.write_text("only a source\n", encoding="utf-8")
    with pytest.raises(ValueError, match="bad.tsv:1"):
        train_tokenizers(bad, tmp_path / "out")
    assert not list(tmp_path.glob("**/*.model"))


def test_ids_are_within_the_vocabulary(trained, sentences):
    info, _ = trained
    ids = tf_tokenizer(info["source"]).tokenize(tf.constant(sentences))
    assert 0 <= np.min(ids.flat_values.numpy())
    assert np.max(ids.flat_values.numpy()) < info["vocab_size"]["source"]
