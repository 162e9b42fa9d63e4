"""Export a training run as a SavedModel for TensorFlow Serving: text in, text out.

`export(run_dir, base_dir)` writes `base_dir/<name>/<version>/`, the layout
TF Serving's `--model_base_path=base_dir/<name>` watches. The SavedModel needs
only TensorFlow and TensorFlow Text ops to load and run (no Python, nothing of
this project), and holds:

- `serving_default`: input `text` (`tf.string`, shape `[None]`, raw
  sentences); outputs `translation` (`tf.string`, `[None]`), `score`
  (`float32`, `[None]`, the length-normalised log-probability that
  `translate.decoding` defines) and `format_ok` (`bool`, `[None]`: every
  protected span of the sentence came back exactly once, and the model read
  the whole sentence: it was not cut at `max_source_length`). Beam search, with
  the beam width and length penalty fixed at export (the run's config unless
  overridden); the translation is the best hypothesis with `format_ok`, or
  the best one when none has it.
- `translate_greedy`: the same with greedy search.
- `translate_n_best`: input `text`; outputs `translations` (`tf.string`,
  `[None, n]`), `scores` (`float32`, `[None, n]`) and `format_ok` (`bool`,
  `[None, n]`): the beam's `n` (the beam width) distinct hypotheses, best
  first, for a caller that checks them (`translate po`).
- a masking model's `translate_glossary` and `translate_n_best_glossary`: the
  same with a glossary as input (`translate.signatures`).
- a model that reads memory matches (`train.memory_matches`):
  `translate_match` and `translate_n_best_match`, with each sentence's match
  as a second input `match` (`translate.matches`; masked against the
  sentence in the graph, `translate.masking.mask_against`; "" for none).

Everything between the raw string and the translation is in the graph, per
sentence, so one odd input never fails its batch:

1. The input is cut to its first `max_input_bytes` bytes (64 per source
   token kept, 8192 for the default 128 tokens). SentencePiece pieces are at
   most 16 characters (64 bytes), so the cut changes nothing the model would
   see, unless the kept pieces are spread over more bytes than that (long
   runs of whitespace or control characters); it bounds the work on a huge
   input.
2. Invalid UTF-8 (and a character cut in half by step 1) becomes U+FFFD
   (`tf.strings.unicode_transcode(errors="replace")`).
3. A masking model (its vocabulary has the sentinels): the sentence's
   leading and trailing whitespace is set aside and its protected spans
   (`translate.spans`: placeholders, tags, entities, URLs, e-mail addresses,
   line breaks, tabs, runs of spaces) become the sentinels `｟1｠`, `｟2｠`...
   (`translate.masking`, the graph twin of `translate.spans.mask`).
4. Control characters (Unicode `Cc`: C0, DEL, C1, tabs and line breaks not
   masked) and Unicode separators (`Z`: spaces, no-break spaces, U+2028...)
   become spaces, runs of them one space, and the ends are stripped: the
   corpus cleaning's whitespace rule (`translate.corpus.clean.normalize`),
   plus control characters.
5. Tokenization with the run's SentencePiece model (its bytes embedded in the
   graph, `tensorflow_text.SentencepieceTokenizer`), truncation to the
   model's maximum source length (`max_source_length - 1` pieces, then EOS,
   exactly as `translate.inference.Translator.encode`), padding.
6. Search (`translate.decoding.n_best_search`, bounded per sentence), then the
   target pieces without PAD and EOS are detokenized (always valid UTF-8) and
   cleaned as the input was in step 4 (a lone space piece before a word
   writes no double space).
7. A masking model's hypotheses are unmasked: each sentinel becomes the
   source's span of that index (so reordered placeholders come back right;
   an invented one is dropped), the sentence's own leading and trailing
   whitespace goes around it, and `format_ok` says whether every span came
   back exactly once (false for every hypothesis of a sentence cut at step
   5: a translation of part of it). Python's `translate.inference.Translator`
   does the same and gives the same strings.

An input that is empty after cleaning translates to "" with score 0 (the model
is not asked to invent a sentence for it); an empty batch gives empty outputs.

Also written:

- `assets/decoding.json`: the decoding settings fixed in the graph (beam
  width, length penalty, length limits, maximum source length and input
  bytes, the output projection's precision: `float32`, or `bfloat16` when
  asked for, faster on a CPU that multiplies bfloat16 natively and slower on
  others), where the model came from, and, where known, its language pair
  (`"languages": {"source": "en", "target": "de"}`: given to `export`, or
  that of a gettext corpus, `translate.prepare.language_pair`; an export
  without it is still valid, `translate serve` then asks for the pair). It is a `tf.saved_model.Asset`, so it
  belongs to the SavedModel (listed in its asset file defs, copied by a
  re-save); TF Serving reads the version directory where it lies and needs
  nothing from it.
- `assets.extra/tf_serving_warmup_requests`: a TFRecord file of
  `tensorflow.serving.PredictionLog`s, `PredictRequest`s to
  `serving_default`, which TF Serving replays before it declares the
  version available.

Custom-code notes: gru_keras compiles some steps with XLA (`jit_compile`),
which TF Serving may lack; the export traces everything under
`gru_keras.use_xla(False)` and refuses to write a graph with any
`_XlaMustCompile=true` left (`xla_must_compile`). It also traces the GRUs
without cuDNN, so that an export made on a GPU machine runs on a CPU. TF
Serving's model server is built with the TF Text ops; a Python process must
`import tensorflow_text` before it loads the model, and so must
`saved_model_cli run`, which has no flag for op libraries: `python -c
"import tensorflow_text, sys; from tensorflow.python.tools.saved_model_cli
import main; sys.argv[0] = 'saved_model_cli'; sys.exit(main())" run ...`
(`saved_model_cli show` works as is).

The export is written into a hidden temporary directory beside the target
and renamed into place when complete (`translate.atomic.atomic_directory`),
so TF Serving, which ignores non-numeric names, never sees half a version.
"""

import contextlib
import functools
import inspect
import json
import tempfile
from pathlib import Path

import keras
import tensorflow as tf
import tensorflow_text as tf_text
from tensorflow.core.protobuf import saved_model_pb2

import gru_keras
from translate import decoding, masking, matches, prepare, rundir
from translate import shortlist as shortlist_lib
from translate.atomic import atomic_directory
from translate.inference import BYTES_PER_SOURCE_TOKEN, Translator
from translate.signatures import (  # noqa: F401 (re-exported)
    FORMAT_OK_KEY, GLOSSARY_INPUT_KEYS, GLOSSARY_SIGNATURE, GREEDY_SIGNATURE, INPUT_KEY,
    MATCH_INPUT_KEY, MATCH_SIGNATURE, N_BEST_GLOSSARY_SIGNATURE, N_BEST_MATCH_SIGNATURE,
    N_BEST_OUTPUT_KEYS, N_BEST_SIGNATURE, OUTPUT_KEYS, SERVING_SIGNATURE, SETTINGS_ASSET,
    TERMS_OK_KEY, versions)
from translate.tokenizer import SPECIAL_IDS

PAD, EOS = SPECIAL_IDS["pad"], SPECIAL_IDS["eos"]

WARMUP_FILE = "tf_serving_warmup_requests"

WARMUP_SENTENCES = ("Could not open file %s.", "Deleted {count} items.",
                    "See the manual for details on how to configure the network printer.")

def next_version(model_dir):
    """1 + the highest integer version under `model_dir` (1 if none).

    Only names made of ASCII digits count, as for TF Serving; hidden
    temporary directories and other names are ignored.
    """
    found = versions(model_dir)
    return int(found[-1].name) + 1 if found else 1


def clean_text(text, max_bytes):
    """The in-graph input cleanup (steps 1-3 of the module docstring).

    Args:
        text: a `tf.string` tensor of any shape.
        max_bytes: bytes kept of each string.

    Returns:
        A `tf.string` tensor of the same shape: valid UTF-8, no control
        characters, single spaces, no leading or trailing space.
    """
    text = tf.strings.substr(text, 0, max_bytes, unit="BYTE")
    text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace",
                                        replacement_char=0xFFFD)
    text = tf.strings.regex_replace(text, r"[\p{Cc}\p{Z}]+", " ")
    return tf.strings.strip(text)


def source_ids(tokenizer, cleaned, max_source_length, reads_matches=False):
    """Padded `(batch, length)` int32 ids (pieces truncated, then EOS), and
    `(batch,)` bool: whether a sentence's message was cut, its pieces before
    the match separator (a model that `reads_matches`), or all, more than
    the `max_source_length - 1` kept."""
    pieces = tokenizer.tokenize(cleaned)
    ids = pieces[:, : max_source_length - 1]
    eos = tf.RaggedTensor.from_tensor(tf.fill([tf.shape(cleaned)[0], 1], EOS),
                                      row_splits_dtype=ids.row_splits.dtype)
    lengths = pieces.row_lengths()
    if reads_matches:
        positions = tf.ragged.range(lengths)
        separator = tf.equal(pieces, tokenizer.string_to_id(matches.MATCH_SEPARATOR))
        lengths = tf.minimum(lengths, tf.reduce_min(
            tf.where(separator, positions, positions * 0 + lengths[:, None]), axis=1))
    cut = lengths > max_source_length - 1
    return tf.concat([ids, eos], axis=1).to_tensor(default_value=PAD), cut


def _decode(cleaned, masked, termed, *, model, source_tokenizer, target_tokenizer, search,
            settings, beam_rows=None):
    """One search over a non-empty batch of cleaned inputs.

    Returns `(translations, scores, format_ok, terms_ok)`, each `[batch, n]`:
    unmasked against `masked` (a `masking.mask` result, or None for a model
    without masking), and `terms_ok` read against `termed` (the sources'
    term-masked forms; true without). `beam_rows`: as for
    `decoding.n_best_search` (None: all).
    """
    batch = tf.shape(cleaned)[0]
    source, cut = source_ids(source_tokenizer, cleaned, settings["max_source_length"],
                             settings.get("reads_matches", False))
    ids, score = search(model, source, beam_rows)
    width = tf.shape(ids)[1]
    flat = tf.reshape(ids, [batch * width, -1])
    keep = tf.not_equal(flat, PAD) & tf.not_equal(flat, EOS)
    text = target_tokenizer.detokenize(tf.ragged.boolean_mask(flat, keep))
    # Valid UTF-8 out whatever byte pieces the model chose (JSON clients).
    text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace",
                                        replacement_char=0xFFFD)
    # Cleaned as its input was (`masking.clean`): a model that writes a lone
    # space piece before a word ("▁", "▁Datei") means no double space, and a
    # catalog's checks (pofilter's doublespacing) would reject one.
    text = masking.clean(text)
    valid = tf.reshape(score, [-1]) > decoding.NEG_INF / 2  # a beam that never scored
    rows = tf.repeat(tf.range(batch), width)
    if masked is not None:
        text, ok = masking.unmask(text, masked, rows)
    else:
        ok = tf.ones_like(valid)
    text = tf.where(valid, text, "")
    # A hypothesis of a message the model read only part of is no
    # translation of it, whatever its spans.
    ok = ok & ~tf.gather(cut, rows)
    follows = (masking.terms_followed(text, termed, rows) if termed is not None
               else tf.ones_like(valid))
    return (tf.reshape(text, [batch, width]), tf.cast(score, tf.float32),
            tf.reshape(ok & valid, [batch, width]), tf.reshape(follows, [batch, width]))


def _read_matches(cleaned, match, masked, settings):
    """The model's input with each sentence's match after it (`matches.join`):
    `match` cut and made valid UTF-8 as the sentences are, masked against
    its sentence (a masking model) or cleaned."""
    match = tf.strings.substr(match, 0, settings["max_input_bytes"], unit="BYTE")
    match = tf.strings.unicode_transcode(match, "UTF-8", "UTF-8", errors="replace",
                                         replacement_char=0xFFFD)
    read = (masking.mask_against(match, masked) if masked is not None
            else clean_text(match, settings["max_input_bytes"]))
    joined = cleaned + (" " + matches.MATCH_SEPARATOR + " ") + read
    return tf.where(tf.equal(read, "") | tf.equal(cleaned, ""), cleaned, joined)


def _hypotheses(text, *, terms=None, match=None, **decode):
    """Raw strings to `(translations, scores, format_ok, terms_ok)`, each `[batch, n]`.

    The search's `n` hypotheses per sentence, best first; unmasked for a
    masking model (`format_ok`: every span came back once), else as
    detokenized (`format_ok` true). With `terms`, a glossary's `(sources,
    targets)`: `terms_ok` says whether a hypothesis has every term's target
    (`translate.glossary`); a sentence none of whose hypotheses keeps its
    spans and has its terms takes its term-masked form's greedy translation
    (each term a sentinel written as the term's target; searched in the same
    batch, greedily) first, then its own first `n - 1`. Without, `terms_ok`
    is true. With `match` (`tf.string` `[batch]`), the
    model reads each sentence's memory match after it (`_read_matches`).
    `decode`: the keyword arguments of `_decode` after the inputs.
    """
    settings = decode["settings"]
    text = tf.strings.substr(text, 0, settings["max_input_bytes"], unit="BYTE")
    text = tf.strings.unicode_transcode(text, "UTF-8", "UTF-8", errors="replace",
                                        replacement_char=0xFFFD)
    masked = masking.mask(text) if settings["masking"] else None
    termed = masking.mask(text, terms=terms) if terms is not None else None
    cleaned = (masked["text"] if masked is not None
               else clean_text(text, settings["max_input_bytes"]))
    empty = tf.equal(cleaned, "")
    if match is not None:
        cleaned = _read_matches(cleaned, match, masked, settings)
    batch = tf.shape(cleaned)[0]

    def run():
        if termed is None:
            return _decode(cleaned, masked, termed, **decode)
        # Each sentence with a term is also searched with its terms masked,
        # greedily, in the same batch as the sentences themselves (one search,
        # not two in a row: the model alone misses most terms; the batch's
        # greedy search runs beside its beams anyway); a sentence keeps its
        # own hypotheses when one of them keeps its spans and has its terms.
        extra = tf.where(tf.reduce_any(termed["is_term"], axis=1))[:, 0]
        subset = {key: tf.gather(value, extra) for key, value in termed.items()}
        joined = lambda first: {key: tf.concat([first[key], subset[key]], 0)  # noqa: E731
                                for key in subset}
        both = _decode(tf.concat([cleaned, subset["text"]], 0), joined(masked),
                       joined(termed), beam_rows=batch, **decode)
        found = tuple(value[:batch] for value in both)
        again = ~tf.reduce_any(tf.gather(found[2] & found[3], extra), axis=1)
        rows = tf.boolean_mask(extra, again)[:, None]
        n = tf.shape(found[0])[1]
        return tuple(tf.tensor_scatter_nd_update(old, rows, tf.concat(
            [tf.boolean_mask(new[batch:], again)[:, :1], tf.gather_nd(old, rows)[:, :n - 1]], 1))
            for old, new in zip(found, both))

    def nothing():
        return (tf.zeros([0, 1], tf.string), tf.zeros([0, 1], tf.float32),
                tf.zeros([0, 1], tf.bool), tf.zeros([0, 1], tf.bool))

    translations, scores, ok, follows = tf.cond(batch > 0, run, nothing)
    # An input empty after cleaning translates to "" (the model is not asked
    # to invent a sentence for it).
    translations = tf.where(empty[:, None], "", translations)
    scores = tf.where(empty[:, None], 0.0, scores)
    ok = ok | empty[:, None]
    follows = follows | empty[:, None]
    return translations, scores, ok, follows


def _first(flags):
    """Per row, the index of the first true flag, or None-like -1."""
    return tf.where(tf.reduce_any(flags, axis=1),
                    tf.argmax(tf.cast(flags, tf.int32), axis=1, output_type=tf.int32), -1)


def _best(translations, scores, ok, follows, with_terms):
    """One translation per sentence (`translate.inference.choose`): the first
    hypothesis with `ok` and `follows`, else the first with `ok`, else the first."""
    both, alone = _first(ok & follows), _first(ok)
    pick = tf.where(both >= 0, both, tf.maximum(alone, 0))
    outputs = {OUTPUT_KEYS[0]: translations, OUTPUT_KEYS[1]: scores, FORMAT_OK_KEY: ok}
    if with_terms:
        outputs[TERMS_OK_KEY] = follows
    return {key: tf.ensure_shape(tf.gather(value, pick, batch_dims=1), [None])
            for key, value in outputs.items()}


def _traced_once(search, model):
    """`search(model, source, beam_rows=...)` as one `tf.function` of the
    source ids and `beam_rows` (`decoding.n_best_search`; the whole batch
    when not given), so that every signature calls the same traced search
    instead of tracing its own."""
    function = tf.function(lambda source, beam_rows: search(model, source,
                                                            beam_rows=beam_rows),
                           input_signature=[tf.TensorSpec([None, None], tf.int32),
                                            tf.TensorSpec([], tf.int32)],
                           autograph=False)
    return lambda _, source, beam_rows=None: function(
        source, tf.shape(source)[0] if beam_rows is None else beam_rows)


_EXTRA_INPUTS = {None: (), "glossary": GLOSSARY_INPUT_KEYS, "match": (MATCH_INPUT_KEY,)}
"""A signature's inputs beside `INPUT_KEY`, by what it takes besides the text."""


def _spec(extra):
    return [tf.TensorSpec([None], tf.string, name=key)
            for key in (INPUT_KEY, *_EXTRA_INPUTS[extra])]


def _search_function(search, extra, **decode):
    """`_hypotheses` as a `tf.function` of its own: the signatures that share
    a search (the best translation and the n best) call it, so it is traced
    and saved once. `extra`: None, "glossary" or "match" (`_EXTRA_INPUTS`)."""
    if extra == "glossary":
        body = lambda text, glossary_source, glossary_target: _hypotheses(  # noqa: E731
            text, terms=(glossary_source, glossary_target), search=search, **decode)
    elif extra == "match":
        body = lambda text, match: _hypotheses(  # noqa: E731
            text, match=match, search=search, **decode)
    else:
        body = lambda text: _hypotheses(text, search=search, **decode)  # noqa: E731
    # autograph=False, as Keras's own export: the search is written with
    # explicit TensorFlow control flow.
    return tf.function(body, input_signature=_spec(extra), autograph=False)


def _signature_body(hypotheses, n_best, extra):
    """A signature's body: `hypotheses` (a `_search_function`), then its outputs."""
    glossary = extra == "glossary"

    def outputs(*inputs):
        found = hypotheses(*inputs)
        if n_best:
            keys = N_BEST_OUTPUT_KEYS + ((TERMS_OK_KEY,) if glossary else ())
            return {key: tf.ensure_shape(value, [None, None]) for key, value in zip(keys, found)}
        return _best(*found, with_terms=glossary)

    if glossary:
        return lambda text, glossary_source, glossary_target: outputs(
            text, glossary_source, glossary_target)
    if extra == "match":
        return lambda text, match: outputs(text, match)
    return lambda text: outputs(text)


def _gru_layers(model):
    """The `gru_keras.GRU` layers of a model, inside wrappers too."""
    found, stack = [], list(model.layers)
    while stack:
        layer = stack.pop()
        if isinstance(layer, gru_keras.GRU):
            found.append(layer)
        stack += [getattr(layer, attribute) for attribute in
                  ("forward_layer", "backward_layer", "layer")
                  if isinstance(getattr(layer, attribute, None), keras.layers.Layer)]
        stack += list(getattr(layer, "layers", ()))
    return found


@contextlib.contextmanager
def _without_cudnn(model):
    """Traces the GRUs' portable path even on a GPU: a cuDNN kernel in the
    graph would not run on a CPU-only TF Serving."""
    layers = _gru_layers(model)
    before = [layer.use_cudnn for layer in layers]
    for layer in layers:
        layer.use_cudnn = False
    try:
        yield
    finally:
        for layer, value in zip(layers, before):
            layer.use_cudnn = value


def _tf_variable(variable):
    value = getattr(variable, "value", variable)
    if not isinstance(value, tf.Variable):
        raise TypeError(f"expected a TensorFlow variable under {variable.path}, "
                        f"got {type(value).__name__}.")
    return value


def build_module(model, source_proto, target_proto, settings, shortlist=None):
    """The `tf.Module` that is saved: model variables, tokenizers, signatures.

    Args:
        model: a trained `translate.model.Seq2Seq` (not tracked itself: only
            its variables are).
        source_proto, target_proto: serialized SentencePiece models (`bytes`).
        settings: see `decoding_settings`.
        shortlist: None, or `translate.shortlist.Lists` that every search
            keeps to (saved with the module).

    Returns:
        `(module, signatures)`; the signatures are concrete functions traced
        here, under `gru_keras.use_xla(False)` and without cuDNN.
    """
    module = tf.Module(name="translator")
    # The TensorFlow variables under Keras's: a Keras variable exports a second
    # copy of itself, which TF1's loader (and so TF Serving) restores while
    # the graph reads the first, uninitialized.
    module.model_variables = [_tf_variable(v) for v in model.variables]
    module.inference_variables = model.inference_variables
    module.source_tokenizer = tf_text.SentencepieceTokenizer(model=source_proto,
                                                             out_type=tf.int32)
    module.target_tokenizer = (
        module.source_tokenizer if target_proto == source_proto else
        tf_text.SentencepieceTokenizer(model=target_proto, out_type=tf.int32))
    if shortlist is not None:
        module.shortlist = shortlist_lib.Shortlist(shortlist, model.settings["target_vocab"])
    limits = dict(alpha=settings["length_penalty"],
                  max_length_ratio=settings["max_length_ratio"],
                  max_length_extra=settings["max_length_extra"],
                  max_length=settings["max_length"],
                  shortlist=getattr(module, "shortlist", None),
                  complete_spans=settings.get("complete_spans", False))
    beam = _traced_once(functools.partial(
        decoding.n_best_search, beam_width=settings["beam_width"], n_best=settings["n_best"],
        greedy_row=settings.get("greedy_row", False), **limits), model)
    greedy = _traced_once(functools.partial(decoding.n_best_search, beam_width=1, **limits),
                          model)
    searches = {SERVING_SIGNATURE: (beam, False, None),
                GREEDY_SIGNATURE: (greedy, False, None),
                N_BEST_SIGNATURE: (beam, True, None)}
    if settings["masking"]:  # terms are masked like spans: a masking model's
        searches.update({GLOSSARY_SIGNATURE: (beam, False, "glossary"),
                         N_BEST_GLOSSARY_SIGNATURE: (beam, True, "glossary")})
    if settings.get("reads_matches"):
        searches.update({MATCH_SIGNATURE: (beam, False, "match"),
                         N_BEST_MATCH_SIGNATURE: (beam, True, "match")})
    decode = dict(model=model, source_tokenizer=module.source_tokenizer,
                  target_tokenizer=module.target_tokenizer, settings=settings)
    shared = {}  # (search, extra inputs) -> its tf.function, traced once
    signatures = {}
    with gru_keras.use_xla(False), _without_cudnn(model):
        for name, (search, n_best, extra) in searches.items():
            key = (id(search), extra)
            if key not in shared:
                shared[key] = _search_function(search, extra, **decode)
            function = tf.function(_signature_body(shared[key], n_best, extra),
                                   input_signature=_spec(extra), autograph=False)
            setattr(module, name, function)
            signatures[name] = function.get_concrete_function()
    return module, signatures


def decoding_settings(run_dir, translator, beam_width=None, length_penalty=None,
                      languages=None):
    """The settings fixed in the graph (recorded in `assets/decoding.json`),
    and the `(source, target)` language pair where `languages` gives it or
    the run's corpus says it."""
    run_config = rundir.read_config(run_dir)
    decode = dict(run_config["decode"])
    if beam_width is not None:
        decode["beam_width"] = beam_width
    if length_penalty is not None:
        decode["length_penalty"] = length_penalty
    max_length = inspect.signature(decoding.beam_search).parameters["max_length"].default
    if languages is None:
        languages = prepare.language_pair(rundir.corpus_dir(run_dir))
    return {
        "beam_width": decode["beam_width"],
        "length_penalty": decode["length_penalty"],
        "max_length_ratio": decode["max_length_ratio"],
        "max_length_extra": decode["max_length_extra"],
        "max_length": max_length,
        "max_source_length": translator.max_source_length,
        "max_input_bytes": BYTES_PER_SOURCE_TOKEN * translator.max_source_length,
        "masking": translator.masks_spans,
        # Every hypothesis writes each span's sentinel once (translate.decoding).
        "complete_spans": translator.complete_spans,
        # Beam search follows each sentence's greedy hypothesis too.
        "greedy_row": translator.greedy_row,
        "reads_matches": translator.reads_matches,
        "min_match_similarity": translator.min_match_similarity,
        "n_best": decode["beam_width"],
        "signatures": {SERVING_SIGNATURE: "beam search, the best hypothesis with format_ok",
                       GREEDY_SIGNATURE: "greedy search",
                       N_BEST_SIGNATURE: "beam search, every hypothesis, best first",
                       **({GLOSSARY_SIGNATURE: "beam search with a glossary, the best "
                                               "hypothesis with format_ok and terms_ok",
                           N_BEST_GLOSSARY_SIGNATURE: "beam search with a glossary, every "
                                                      "hypothesis"}
                          if translator.masks_spans else {}),
                       **({MATCH_SIGNATURE: "beam search reading each sentence's memory "
                                            "match, the best hypothesis with format_ok",
                           N_BEST_MATCH_SIGNATURE: "beam search reading each sentence's "
                                                   "memory match, every hypothesis"}
                          if translator.reads_matches else {})},
        "inputs": {INPUT_KEY: "tf.string [None]",
                   **({key: "tf.string [None] (glossary signatures)"
                       for key in GLOSSARY_INPUT_KEYS} if translator.masks_spans else {}),
                   **({MATCH_INPUT_KEY: "tf.string [None] (match signatures; \"\": none)"}
                      if translator.reads_matches else {})},
        "outputs": {SERVING_SIGNATURE: {"translation": "tf.string [None]",
                                        "score": "float32 [None]", FORMAT_OK_KEY: "bool [None]"},
                    N_BEST_SIGNATURE: {"translations": "tf.string [None, n_best]",
                                       "scores": "float32 [None, n_best]",
                                       FORMAT_OK_KEY: "bool [None, n_best]"},
                    **({GLOSSARY_SIGNATURE: {"translation": "tf.string [None]",
                                             "score": "float32 [None]",
                                             FORMAT_OK_KEY: "bool [None]",
                                             TERMS_OK_KEY: "bool [None]"},
                        N_BEST_GLOSSARY_SIGNATURE: {
                            "translations": "tf.string [None, n_best]",
                            "scores": "float32 [None, n_best]",
                            FORMAT_OK_KEY: "bool [None, n_best]",
                            TERMS_OK_KEY: "bool [None, n_best]"}}
                       if translator.masks_spans else {})},
        "run_dir": str(Path(run_dir).resolve()),
        "tensorflow": tf.__version__,
        "tensorflow_text": tf_text.__version__,
        **({"languages": dict(zip(("source", "target"), languages))} if languages else {}),
    }


def write_warmup(path, model_name, sentences=WARMUP_SENTENCES):
    """Writes TF Serving's warm-up file: one request per sentence, one for all.

    Args:
        path: the file, `<export>/assets.extra/tf_serving_warmup_requests`.
        model_name: the name TF Serving serves the model under.
        sentences: the warm-up inputs.
    """
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    batches = [[s] for s in sentences] + [list(sentences) + [""]]
    with tf.io.TFRecordWriter(str(path)) as writer:
        for batch in batches:
            request = predict_pb2.PredictRequest(model_spec=model_pb2.ModelSpec(
                name=model_name, signature_name=SERVING_SIGNATURE))
            request.inputs[INPUT_KEY].CopyFrom(tf.make_tensor_proto(batch, dtype=tf.string))
            log = prediction_log_pb2.PredictionLog(
                predict_log=prediction_log_pb2.PredictLog(request=request))
            writer.write(log.SerializeToString())


def xla_must_compile(export_dir):
    """Functions and nodes of a SavedModel marked `_XlaMustCompile=true`.

    Returns:
        Their names (`function` or `function/node`); empty when none.
    """
    proto = saved_model_pb2.SavedModel.FromString(
        (Path(export_dir) / "saved_model.pb").read_bytes())

    def must(attrs):
        return "_XlaMustCompile" in attrs and attrs["_XlaMustCompile"].b

    found = []
    for meta in proto.meta_graphs:
        found += [n.name for n in meta.graph_def.node if must(n.attr)]
        for function in meta.graph_def.library.function:
            name = function.signature.name
            if must(function.attr):
                found.append(name)
            found += [f"{name}/{n.name}" for n in function.node_def if must(n.attr)]
    return found


def export(run_dir, base_dir, name="translator", version=None, force=False,
           beam_width=None, length_penalty=None, checkpoint="best", languages=None,
           precision="float32", shortlist=None, greedy_row=None, min_match_similarity=None):
    """Exports a training run as a TF Serving SavedModel (see the module doc).

    Args:
        run_dir: a run of `translate train`.
        base_dir: the model base directory; the export goes to
            `base_dir/<name>/<version>/`.
        name: the model's name (a directory name; also the warm-up
            requests' model name).
        version: a positive integer; default 1 + the highest existing one.
        force: replace an existing version.
        beam_width, length_penalty, greedy_row: override the run config's
            decoding settings (`greedy_row`: the beam searches also follow
            each sentence's greedy hypothesis; `decode.greedy_row`).
        checkpoint: "best" or "latest".
        languages: `(source, target)` language codes to record (e.g.
            `("en", "de")`); None records the corpus's own where it says
            them (a gettext corpus), else none.
        precision: of the output projection ("float32", or "bfloat16" for
            a server whose CPU multiplies bfloat16 natively:
            `Seq2Seq.set_inference_precision`), recorded in the settings.
        shortlist: None (every search may write any piece), or
            `(frequent, per_piece)`: every search keeps to each sentence's
            lexical shortlist (`translate.shortlist`), built from the run's
            training pairs; recorded in the settings.
        min_match_similarity: for a model that reads matches, the least
            similarity of a match its callers give it, recorded in the
            settings (None: the training's own; the command line chooses one
            on dev, `translate.assist.dev_match_floor`).

    Returns:
        The `Path` of the version directory written.

    Raises:
        FileExistsError: the version exists and `force` is false.
        FileNotFoundError: no run or no checkpoint at `run_dir`.
        ValueError: a bad name, version, beam width, length penalty,
            language pair, precision or shortlist.
        RuntimeError: the traced graph still asks for XLA (not written).
    """
    if not name or name.startswith(".") or "/" in name or "\\" in name:
        raise ValueError(f"name must be a plain directory name, got {name!r}.")
    model_dir = Path(base_dir) / name
    if version is None:
        version = next_version(model_dir)
    elif isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise ValueError(f"version must be a positive integer, got {version!r}.")
    if beam_width is not None and (isinstance(beam_width, bool) or
                                   not isinstance(beam_width, int) or beam_width < 1):
        raise ValueError(f"beam_width must be a positive integer, got {beam_width!r}.")
    if length_penalty is not None and not length_penalty >= 0:
        raise ValueError(f"length_penalty must be >= 0, got {length_penalty!r}.")
    if languages is not None and (len(languages) != 2 or not all(
            isinstance(code, str) and code.strip() for code in languages)):
        raise ValueError(f"languages must be two language codes (source, target), "
                         f"got {languages!r}.")
    if shortlist is not None and (len(shortlist) != 2 or not all(
            isinstance(n, int) and not isinstance(n, bool) and n >= 1 for n in shortlist)):
        raise ValueError(f"shortlist must be two positive integers (frequent, per_piece), "
                         f"got {shortlist!r}.")
    if min_match_similarity is not None and not 0.0 <= min_match_similarity <= 1.0:
        raise ValueError(f"min_match_similarity must be from 0 to 1, "
                         f"got {min_match_similarity!r}.")
    target = model_dir / str(version)
    if target.exists() and not force:
        raise FileExistsError(
            f"version {version} of model {name!r} already exists ({target}); "
            "pass force=True (--force) to replace it.")

    overrides = {key: value for key, value in (("beam_width", beam_width),
                                               ("length_penalty", length_penalty),
                                               ("greedy_row", greedy_row))
                 if value is not None}
    translator = Translator.from_run(run_dir, checkpoint=checkpoint, precision=precision,
                                     min_match_similarity=min_match_similarity, **overrides)
    settings = decoding_settings(run_dir, translator, beam_width, length_penalty, languages)
    settings["checkpoint"] = checkpoint
    settings["precision"] = precision
    lists = None
    if shortlist is not None:
        lists = shortlist_lib.build(
            rundir.corpus_dir(run_dir) / "train.tsv", translator.source, translator.target,
            frequent=shortlist[0], per_piece=shortlist[1], mask_spans=translator.masks_spans)
        settings["shortlist"] = {"frequent": shortlist[0], "per_piece": shortlist[1]}
    module, signatures = build_module(
        translator.model, translator.source.serialized_model_proto(),
        translator.target.serialized_model_proto(), settings, lists)

    with tempfile.TemporaryDirectory() as scratch, \
            atomic_directory(target, overwrite=force) as staging:
        settings_file = Path(scratch) / SETTINGS_ASSET
        settings_file.write_text(json.dumps(settings, indent=1) + "\n", encoding="utf-8")
        module.decoding_settings = tf.saved_model.Asset(str(settings_file))
        with gru_keras.use_xla(False):
            # gru_keras's custom gradients are saved too (traced here, so without
            # XLA): a Python tf.saved_model.load then warns of nothing.
            tf.saved_model.save(module, str(staging), signatures=signatures)
        write_warmup(staging / "assets.extra" / WARMUP_FILE, name)
        marked = xla_must_compile(staging)
        if marked:
            raise RuntimeError(
                f"the traced graph still asks for XLA in {len(marked)} place(s), e.g. "
                f"{marked[:3]}; TF Serving may not have the XLA JIT. Not exported.")
    return target
