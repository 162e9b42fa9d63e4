"""SentencePiece subword models: training, loading, and the in-graph tokenizer.

Models are trained with these fixed choices:

* Special ids (`SPECIAL_IDS`): pad 0, unk 1, bos 2 (`<s>`), eos 3 (`</s>`).
* Protected spans are masked (`translate.spans`): the models train on
  `mask_pair`'s text, and the sentinels `｟1｠` ... `｟32｠` are user-defined
  symbols (ids 4 to 35), each one atomic piece; a model with them is a
  masking model (`masks_spans`), whose every user masks before tokenizing
  and unmasks after detokenizing. Every placeholder of the training corpus
  (`translate.placeholders`) is a user-defined symbol too, so that one left
  unmasked (past the 32nd span of a message) is still one piece.
* `MATCH_SEPARATOR` (`｟match｠`, id 36 of a masking model) is a user-defined
  symbol too: a model that reads its memory match (`translate.matches`)
  sees it between the message and the match's translation.
* `normalization_rule_name="identity"`: no Unicode rewriting. NFKC
  (`nmt_nfkc`) would turn `…` into `...` (181 messages of the German
  system catalogs) and `µ` into `μ`, so a model could never write them.
  With identity, `decode(encode(x)) == x` for whitespace-normalised text
  (single spaces, none leading or trailing); SentencePiece's own whitespace
  rule still collapses runs of spaces and strips the ends. Unicode
  composition (NFC) belongs to corpus cleaning, before training.
* `byte_fallback=True`: a character outside the vocabulary is spelled as
  UTF-8 byte pieces `<0x..>` instead of becoming `<unk>`, so nothing is
  lost (a file name in Cyrillic, an emoji). It costs 256 ids.
* `hard_vocab_limit=False`: `vocab_size` is an upper bound, so a small
  corpus gives a smaller vocabulary instead of an error.
* When the corpus has more than `max_sentences` sentences, training uses a
  uniform random sample of that many, drawn here (reservoir sampling with
  `random.Random(seed)`, corpus order kept), so the same seed gives the
  same model byte for byte. SentencePiece 0.2.3's own sampler ignores
  `set_random_generator_seed` and its sample changes from one process to
  the next, so it only stands guard (`input_sentence_size`,
  `shuffle_input_sentence`) and never has more to sample from.
"""

import io
import random
import types
from pathlib import Path

import sentencepiece as spm

from translate.atomic import atomic_file
from translate import spans
from translate.placeholders import placeholder_inventory

SPECIAL_IDS = types.MappingProxyType({"pad": 0, "unk": 1, "bos": 2, "eos": 3})
"""Ids of the special pieces in every model: `pad` (0) pads batches and is
masked out, `unk` (1) is unknown text (rare, thanks to byte fallback),
`bos` (2, `<s>`) starts and `eos` (3, `</s>`) ends a sequence. Models do not
add bos/eos themselves; the input pipeline does."""

SENTINEL_IDS = tuple(range(len(SPECIAL_IDS), len(SPECIAL_IDS) + spans.MAX_SPANS))
"""Ids of the sentinels `｟1｠` ... `｟32｠` in a masking model (`masks_spans`):
the user-defined symbols come right after the special pieces, in order."""

MATCH_SEPARATOR = "\uff5fmatch\uff60"  # ｟match｠
"""Between a message and its translation memory match's translation in the
input of a model that reads matches (`translate.matches`); one reserved piece
of every tokenizer trained here (`reads_matches`)."""

MODEL_TYPES = ("unigram", "bpe")
"""The SentencePiece algorithms `train_sentencepiece` accepts."""

NORMALIZATION_RULE = "identity"
"""SentencePiece normalization of every model (see the module docstring)."""

# Characters SentencePiece cannot take in a user-defined symbol: whitespace
# becomes the meta symbol "▁" before symbols are matched.
_UNUSABLE_IN_SYMBOL = frozenset(" \t\n\r\u2581")


def train_sentencepiece(texts, model_prefix, vocab_size=8000, model_type="unigram",
                        max_sentences=200_000, seed=0, user_symbols=()):
    """Trains a SentencePiece model and writes `<prefix>.model`, `.vocab`.

    SentencePiece trains in memory; each file is then written atomically,
    `.vocab` (piece, tab, score per line, for people) first and `.model`
    last, so a reader never sees a half-written model.

    Args:
        texts: an iterable of sentences (`str`), read once (an iterator or
            generator is fine).
        model_prefix: path without extension, e.g. `out/spm`.
        vocab_size: the largest vocabulary wanted (specials, byte pieces and
            `user_symbols` included); smaller corpora give fewer pieces.
        model_type: "unigram" or "bpe".
        max_sentences: train on a random sample of at most this many.
        seed: seed of the sample (and of SentencePiece's random generator).
        user_symbols: strings that must each stay one piece (placeholders).
            Duplicates are dropped; a symbol must not contain whitespace.

    Returns:
        The `Path` of the `.model` file.

    Raises:
        ValueError: unknown `model_type`, `max_sentences` below 1, a symbol
            with whitespace, or a `vocab_size` with no room left after the
            specials, byte pieces and symbols.
        RuntimeError: SentencePiece failed, e.g. no training text, or fewer
            ids than the characters it must cover.
    """
    if model_type not in MODEL_TYPES:
        raise ValueError(f"model_type must be one of {MODEL_TYPES}, got {model_type!r}.")
    symbols = list(dict.fromkeys(user_symbols))
    for symbol in symbols:
        if not symbol or _UNUSABLE_IN_SYMBOL & set(symbol):
            raise ValueError(f"user symbol {symbol!r} is empty or contains whitespace.")
    reserved = len(SPECIAL_IDS) + 256 + len(symbols)
    if vocab_size <= reserved:
        raise ValueError(
            f"vocab_size {vocab_size} leaves no room for pieces: {len(SPECIAL_IDS)} specials, "
            f"256 byte pieces and {len(symbols)} user symbols take {reserved} ids.")

    proto = io.BytesIO()
    spm.set_random_generator_seed(seed)
    try:
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(sample_sentences(texts, max_sentences, seed)),
            model_writer=proto,
            vocab_size=vocab_size,
            model_type=model_type,
            hard_vocab_limit=False,
            input_sentence_size=max_sentences,
            shuffle_input_sentence=True,
            normalization_rule_name=NORMALIZATION_RULE,
            byte_fallback=True,
            user_defined_symbols=symbols,
            pad_id=SPECIAL_IDS["pad"],
            unk_id=SPECIAL_IDS["unk"],
            bos_id=SPECIAL_IDS["bos"],
            eos_id=SPECIAL_IDS["eos"],
            minloglevel=1,
        )
    except RuntimeError as error:
        raise RuntimeError(f"SentencePiece training for {model_prefix} failed: {error}") from error

    prefix = Path(model_prefix)
    processor = spm.SentencePieceProcessor(model_proto=proto.getvalue())
    with atomic_file(prefix.with_name(prefix.name + ".vocab"), encoding="utf-8") as f:
        for i in range(processor.get_piece_size()):  # SentencePiece's own format
            f.write(f"{processor.id_to_piece(i)}\t{processor.get_score(i):g}\n")
    model = prefix.with_name(prefix.name + ".model")
    with atomic_file(model, mode="wb") as f:
        f.write(proto.getvalue())
    return model


def sample_sentences(texts, max_sentences, seed=0):
    """Draws a uniform random sample of sentences, reproducibly.

    Reservoir sampling (Algorithm R) in one pass over `texts`, so a corpus
    larger than memory can be sampled; all sentences are kept, in order,
    when there are no more than `max_sentences`.

    Args:
        texts: an iterable of sentences.
        max_sentences: the sample size, at least 1.
        seed: seed of the `random.Random` that draws the sample.

    Returns:
        A list of at most `max_sentences` sentences, in corpus order.

    Raises:
        ValueError: `max_sentences` is less than 1.
    """
    if max_sentences < 1:
        raise ValueError(f"max_sentences must be positive, got {max_sentences}.")
    rng = random.Random(seed)
    kept = []  # (position, sentence)
    for position, text in enumerate(texts):
        if position < max_sentences:
            kept.append((position, text))
        else:
            slot = rng.randrange(position + 1)
            if slot < max_sentences:
                kept[slot] = (position, text)
    return [text for _, text in sorted(kept, key=lambda item: item[0])]


def _read_pairs(train_tsv):
    """Yields (source, target) from a `source<TAB>target` UTF-8 file.

    Raises:
        ValueError: a line without exactly one tab.
    """
    with open(train_tsv, encoding="utf-8", newline="\n") as f:
        for number, line in enumerate(f, start=1):
            fields = line.rstrip("\n").split("\t")
            if len(fields) != 2:
                raise ValueError(
                    f"{train_tsv}:{number}: expected source<TAB>target, found "
                    f"{len(fields)} field(s).")
            yield fields[0], fields[1]


def train_tokenizers(train_tsv, out_dir, vocab_size=8000, model_type="unigram", joint=True,
                     max_sentences=200_000, seed=0, mask_spans=True):
    """Trains the source and target tokenizers of a parallel corpus.

    The placeholders found on either side are user symbols of every model
    trained, so a placeholder is one piece in source and target alike.

    Args:
        train_tsv: UTF-8 file of `source<TAB>target` lines, already clean.
        out_dir: directory for the models (created if needed).
        vocab_size: the largest vocabulary of each model.
        model_type: "unigram" or "bpe".
        joint: one model `spm.model` for both languages (sources and targets
            both train it); otherwise `source.model` and `target.model`.
        max_sentences: at most this many sentences sampled per model.
        seed: sampling seed.
        mask_spans: train on masked text, the sentinels reserved (see the
            module docstring); off, on the text as it is (no masking).

    Returns:
        A JSON-serialisable dict: `source` and `target` (model paths as
        `str`, the same path when joint), `vocab_size` (dict with the sizes
        reached, `source` and `target`), `vocab_size_requested`,
        `model_type`, `joint`, `max_sentences`, `seed`, `pairs` (lines
        read), `placeholders` (number of placeholder symbols), `masking`
        (`mask_spans`),
        `normalization_rule`, `byte_fallback` and `special_ids`.

    Raises:
        ValueError: a malformed line, an empty file, or a bad setting (see
            `train_sentencepiece`).
        OSError: `train_tsv` cannot be read or `out_dir` written.
    """
    # Two passes over the file, so only the training sample is held in memory.
    pairs = 0

    def every_sentence():
        nonlocal pairs
        for pair in _read_pairs(train_tsv):
            pairs += 1
            yield from pair

    found = placeholder_inventory(every_sentence())
    if not pairs:
        raise ValueError(f"{train_tsv} holds no sentence pairs.")
    symbols = [*spans.SENTINELS, MATCH_SEPARATOR, *found] if mask_spans else [
        MATCH_SEPARATOR, *found]

    def sides():
        for pair in _read_pairs(train_tsv):
            yield spans.mask_pair(*pair) if mask_spans else pair

    out_dir = Path(out_dir)
    settings = dict(vocab_size=vocab_size, model_type=model_type, max_sentences=max_sentences,
                    seed=seed, user_symbols=symbols)
    if joint:
        model = train_sentencepiece((s for pair in sides() for s in pair), out_dir / "spm",
                                    **settings)
        paths = {"source": model, "target": model}
    else:
        paths = {side: train_sentencepiece((pair[column] for pair in sides()),
                                           out_dir / side, **settings)
                 for column, side in enumerate(("source", "target"))}
    return {
        "source": str(paths["source"]),
        "target": str(paths["target"]),
        "vocab_size": {side: load_processor(path).get_piece_size()
                       for side, path in paths.items()},
        "vocab_size_requested": vocab_size,
        "model_type": model_type,
        "joint": joint,
        "max_sentences": max_sentences,
        "seed": seed,
        "pairs": pairs,
        "placeholders": len(found),
        "masking": mask_spans,
        "normalization_rule": NORMALIZATION_RULE,
        "byte_fallback": True,
        "special_ids": dict(SPECIAL_IDS),
    }


def load_processor(model_path):
    """Loads a trained model for use in Python.

    Args:
        model_path: a `.model` file.

    Returns:
        A `sentencepiece.SentencePieceProcessor`.

    Raises:
        OSError: the file cannot be read or is not a SentencePiece model.
    """
    processor = spm.SentencePieceProcessor()
    try:
        processor.load(str(model_path))
    except (OSError, RuntimeError) as error:
        raise OSError(f"cannot load SentencePiece model {model_path}: {error}") from error
    return processor


def masks_spans(model):
    """Tells whether a SentencePiece model is a masking model (has the sentinels).

    Args:
        model: a `.model` path or a loaded `SentencePieceProcessor`.

    Returns:
        True when every sentinel of `translate.spans.SENTINELS` is a piece of
        its own: text for it must be masked (`translate.spans.mask`).
    """
    if not isinstance(model, spm.SentencePieceProcessor):
        model = load_processor(model)
    unk = model.unk_id()
    return all(model.piece_to_id(s) != unk for s in spans.SENTINELS)


def reads_matches(model):
    """Tells whether a SentencePiece model has `MATCH_SEPARATOR` as a piece.

    Args:
        model: a `.model` path or a loaded `SentencePieceProcessor`.

    Returns:
        True when a model trained on this tokenizer can read a memory match
        after its message (tokenizers of older corpora cannot).
    """
    if not isinstance(model, spm.SentencePieceProcessor):
        model = load_processor(model)
    return model.piece_to_id(MATCH_SEPARATOR) != model.unk_id()


def vocab_size(model_path):
    """Returns the number of pieces (ids) of a trained model.

    Args:
        model_path: a `.model` file.

    Returns:
        The vocabulary size, an `int`; ids run from 0 to size - 1.

    Raises:
        OSError: the model cannot be loaded.
    """
    return load_processor(model_path).get_piece_size()


def tf_tokenizer(model_path):
    """Builds the in-graph tokenizer of a trained model.

    The model proto is embedded in the graph, so a SavedModel using it needs
    only TensorFlow Text, not this project or the `.model` file.

    Args:
        model_path: a `.model` file (any path `tf.io.gfile` reads).

    Returns:
        A `tensorflow_text.SentencepieceTokenizer` giving int32 ids, with no
        bos/eos added (the input pipeline adds them) and no sampling.

    Raises:
        tf.errors.NotFoundError: the file does not exist.
    """
    # Imported here: training and loading tokenizers need no TensorFlow.
    import tensorflow as tf
    import tensorflow_text as tf_text

    with tf.io.gfile.GFile(str(model_path), "rb") as f:
        proto = f.read()
    return tf_text.SentencepieceTokenizer(model=proto, out_type=tf.int32, nbest_size=0,
                                          alpha=1.0, reverse=False, add_bos=False,
                                          add_eos=False)
