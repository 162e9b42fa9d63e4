"""An exported translator loaded in process, as TF Serving runs it: text in, text out.

`translate po` and `translate serve` call an export of `translate export`
this way when no TF Serving runs (`translate.serving` is the client of one
that does): TensorFlow Text's op libraries (SentencePiece, regex split), and
the SavedModel loaded as TF Serving loads it, its MetaGraph into a session, each
call running one of its SignatureDefs by their input and output tensor names
(`serving_default`, beam search; `translate_n_best`, the same search's n best
hypotheses; `translate_greedy`; and, for a masking model, the glossary
signatures). Nothing of the training run is needed.

Why a session rather than `tf.saved_model.load`: the object-graph loader
rebuilds every traced function of the export in Python (some 380 for an
export with every signature), 5.5 s on 2 CPU cores, where importing the
MetaGraph takes 1.7 s, and `translate po` is a command a translator waits
for. The graph run is the same either way.

Why not `import tensorflow_text`: the graph needs TensorFlow Text's kernels,
not its Python package, whose Keras layers import Keras (`_import_tensorflow`).
"""

import importlib.util
import os
import sys
from pathlib import Path

from translate import batching
from translate.machine import warn_if_bfloat16_is_slow
from translate.signatures import (
    GLOSSARY_INPUT_KEYS, GLOSSARY_SIGNATURE, INPUT_KEY, MATCH_INPUT_KEY, MATCH_SIGNATURE, MATCH_TWINS,
    N_BEST_GLOSSARY_SIGNATURE, N_BEST_MATCH_SIGNATURE, N_BEST_OUTPUT_KEYS, N_BEST_SIGNATURE,
    OUTPUT_KEYS, SERVING_SIGNATURE, export_settings, resolve_export)


# TensorFlow Text's op libraries an export's graph uses (`translate.export`:
# the SentencePiece tokenizer and detokenizer, `regex_split_with_offsets` for
# masking); a graph that needs another of its ops falls back to the package.
TEXT_OP_LIBRARIES = ("_sentencepiece_tokenizer.so", "_regex_split_ops.so")


def _import_tensorflow():
    """TensorFlow with TensorFlow Text's ops registered, without Keras when it can.

    A fresh `import tensorflow, tensorflow_text` spends a third of its time
    (9-10 s on 2 cores; ~4 s of it) importing Keras, which an export's graph
    never runs: TensorFlow's `__init__` imports it eagerly unless
    `TF_USE_LEGACY_KERAS` asks for tf_keras (when tf_keras is not installed
    it goes on without either; the variable is set for the import only, so
    `tf.keras` later in the process is Keras 3 as usual), and TensorFlow
    Text's Keras layers need it, where its op libraries, loaded as the
    package itself loads them, do not. Where TensorFlow is imported already,
    or tf_keras installed, only the op libraries are loaded.

    Returns:
        The `tensorflow` module.
    """
    if "tensorflow" not in sys.modules and importlib.util.find_spec("tf_keras") is None:
        previous = os.environ.get("TF_USE_LEGACY_KERAS")
        os.environ["TF_USE_LEGACY_KERAS"] = "1"
        try:
            import tensorflow  # noqa: F401 (imported here, with the variable set)
        finally:
            if previous is None:
                del os.environ["TF_USE_LEGACY_KERAS"]
            else:
                os.environ["TF_USE_LEGACY_KERAS"] = previous
    import tensorflow as tf

    ops = Path(importlib.util.find_spec("tensorflow_text").origin).parent / "python" / "ops"
    for name in TEXT_OP_LIBRARIES:
        tf.load_op_library(str(ops / name))
    return tf


# The ops whose `config_proto` attribute configures their function's optimization.
_CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall")


def _without_grappler(meta_graph):
    """Turns Grappler off in every function call of `meta_graph` (in place)."""
    from tensorflow.core.protobuf import config_pb2

    nodes = [node for function in meta_graph.graph_def.library.function
             for node in function.node_def]
    for node in [*meta_graph.graph_def.node, *nodes]:
        if node.op in _CALL_OPS and "config_proto" in node.attr:
            config = config_pb2.ConfigProto.FromString(node.attr["config_proto"].s)
            config.graph_options.rewrite_options.disable_meta_optimizer = True
            node.attr["config_proto"].s = config.SerializeToString()


def _unregistered_op(error):
    return "Op type not registered" in str(error)


class ExportedModel:
    """An exported translator, loaded as TF Serving loads it: text in, text out.

    Args:
        export_dir: a version or model directory (see `resolve_export`).
        signature: the signature `translate` calls: "serving_default" (beam
            search) or "translate_greedy" (greedy search).
        optimize: let Grappler, TensorFlow's graph optimizer, rewrite the
            graph, as TF Serving does: on 2 CPU cores it adds ~2-3 s to the
            load and a signature's first call, and makes single-sentence
            calls 20-40% faster after (a server's case); batches of 64 run as
            fast without. False for a command that makes a few calls
            (`translate po`).

    Attributes:
        path: the version directory loaded.
        signature: the signature's name.
        name: `<model name>/<version>`, e.g. "translator/3".
        label: `<name> (<signature>)`, e.g. "translator/3 (serving_default)",
            as written in the comments.
        has_n_best: whether the export has the `translate_n_best` signature.
        n_best_label: the label of what `n_best` calls.
        has_glossary: whether the export has the glossary signatures (a
            masking model's export, made since they exist).
        reads_matches: whether the export has the match signatures (a model
            trained to read each sentence's memory match).
        min_match_similarity: the least similarity of a match it should be
            given (`translate.matches.given`), as its settings record.
        precision: its output projection's, as its settings record
            ("float32", or "bfloat16": a warning where this CPU does not
            multiply bfloat16 natively).
        signatures: the names of all the SavedModel's signatures.

    Raises:
        FileNotFoundError: no export there (see `resolve_export`).
        ValueError: the SavedModel has no such signature (those it has are
            named).
    """

    def __init__(self, export_dir, signature=SERVING_SIGNATURE, optimize=True):
        tf = _import_tensorflow()
        self._optimize = optimize
        self.path = resolve_export(export_dir)
        self.signature = signature
        self.name = f"{self.path.parent.name}/{self.path.name}"
        self.label = f"{self.name} ({signature})"
        self._tf = tf
        try:
            meta_graph = self._load()
        except (ValueError, tf.errors.NotFoundError) as error:
            if not _unregistered_op(error):
                raise
            self._session.close()
            import tensorflow_text  # noqa: F401 (all its ops: a graph from elsewhere)
            meta_graph = self._load()
        self._signature_defs = {name: meta_graph.signature_def[name]
                                for name in meta_graph.signature_def
                                if not name.startswith("__")}  # `__saved_model_init_op`
        if signature not in self._signature_defs:
            raise ValueError(f"{self.path} has no signature {signature!r}; it has "
                             f"{sorted(self._signature_defs)}.")
        self.signatures = sorted(self._signature_defs)
        self.has_n_best = N_BEST_SIGNATURE in self._signature_defs
        self.n_best_label = (f"{self.name} ({N_BEST_SIGNATURE})" if self.has_n_best
                             else self.label)
        self.has_glossary = N_BEST_GLOSSARY_SIGNATURE in self._signature_defs
        self.reads_matches = N_BEST_MATCH_SIGNATURE in self._signature_defs
        settings = export_settings(self.path)
        self.min_match_similarity = settings.get("min_match_similarity", 0.0)
        self.precision = settings.get("precision", "float32")
        if self.precision == "bfloat16":
            warn_if_bfloat16_is_slow(self.path)

    def _load(self):
        """The export's MetaGraph, imported into a new session (`self._session`).

        Without `optimize`, Grappler is off in the session and in the graph's
        function calls, whose own `config_proto` TensorFlow stored at export
        (`_without_grappler`).
        """
        from tensorflow.python.saved_model import loader_impl  # the v1 loader's, unwrapped

        tf = self._tf
        graph = tf.Graph()
        config = tf.compat.v1.ConfigProto()
        config.graph_options.rewrite_options.disable_meta_optimizer = not self._optimize
        self._session = tf.compat.v1.Session(graph=graph, config=config)
        loader = loader_impl.SavedModelLoader(str(self.path))
        if not self._optimize:
            _without_grappler(loader.get_meta_graph_def_from_tags([tf.saved_model.SERVING]))
        with graph.as_default():
            return loader.load(self._session, [tf.saved_model.SERVING])

    @property
    def fingerprint(self):
        """A string that changes whenever the export's graph or weights do.

        TensorFlow's own SavedModel fingerprint (`fingerprint.pb`: hashes of
        the graph, the signatures, the object graph and the checkpoint),
        with the version directory's path for an export written without one.
        """
        tf = self._tf
        try:
            return tf.saved_model.experimental.read_fingerprint(str(self.path)).singleprint()
        except (ValueError, FileNotFoundError, tf.errors.NotFoundError):
            return f"{self.path.resolve()}@{(self.path / 'saved_model.pb').stat().st_mtime_ns}"

    def glossary_label(self, n_best=True):
        """The label of what a call with a glossary runs."""
        if not self.has_glossary:
            return self.n_best_label if n_best else self.label
        return f"{self.name} ({N_BEST_GLOSSARY_SIGNATURE if n_best else GLOSSARY_SIGNATURE})"

    def match_label(self, n_best=True):
        """The label of what a call with memory matches runs."""
        if not self.reads_matches:
            return self.n_best_label if n_best else self.label
        return f"{self.name} ({N_BEST_MATCH_SIGNATURE if n_best else MATCH_SIGNATURE})"

    def _glossary_inputs(self, glossary):
        """The glossary signatures' extra inputs for a `Glossary`."""
        return dict(zip(GLOSSARY_INPUT_KEYS, (list(glossary.sources), list(glossary.targets))))

    def _outputs(self, signature):
        """The output keys of a signature."""
        return set(self._signature_defs[signature].outputs)

    def _by_length(self, signature, outputs, sentences, batch_size, progress, extra=None,
                   matches=None):
        """`signature`'s `outputs` for `sentences` (as lists), batched by
        length; `extra`: inputs for every batch, `matches`: one per sentence."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        signature_def = self._signature_defs[signature]
        fetches = [signature_def.outputs[key].name for key in outputs]

        def run(batch, batch_matches):
            inputs = {INPUT_KEY: batch, **(extra or {})}
            if batch_matches is not None:
                inputs[MATCH_INPUT_KEY] = batch_matches
            feeds = {signature_def.inputs[key].name: value for key, value in inputs.items()}
            found = self._session.run(fetches, feeds)
            return list(zip(*(value.tolist() for value in found)))
        return batching.by_length_with_matches(run, sentences, matches, batch_size, progress)

    def _with_matches(self, signature, glossary, matches):
        """The signature that reads `matches`, when the export has it and
        nothing else is asked for (a glossary signature reads none)."""
        if matches is None or not self.reads_matches or glossary:
            return signature, None
        return MATCH_TWINS.get(signature), matches

    def translate(self, sentences, batch_size=64, progress=None, glossary=None, matches=None):
        """Translations of `sentences`, in order.

        Sentences go to the signature in batches of similar length (less
        padding for the search).

        Args:
            sentences: a list of strings.
            batch_size: sentences per call of the signature.
            progress: optional wrapper of the batch iterator (a progress bar).
            glossary: a `translate.glossary.Glossary`, or None: with one (and
                beam search asked for), the export's `translate_glossary`
                signature, when it has one.
            matches: each sentence's memory match's translation ("" for
                none), read by an export that `reads_matches` (beam search,
                no glossary: `translate_match`); ignored by others.

        Returns:
            A list of strings, one per sentence.

        Raises:
            ValueError: `batch_size` is below 1, or `matches` is not one per
                sentence.
        """
        signature, extra = self.signature, None
        if glossary and self.has_glossary and self.signature == SERVING_SIGNATURE:
            signature, extra = GLOSSARY_SIGNATURE, self._glossary_inputs(glossary)
        reading, matches = self._with_matches(signature, glossary, matches)
        found = self._by_length(reading or signature, OUTPUT_KEYS[:1], sentences, batch_size,
                                progress, extra, matches if reading else None)
        return [text.decode("utf-8") for (text,) in found]

    def n_best(self, sentences, batch_size=64, progress=None, with_format=False,
               glossary=None, matches=None):
        """The hypotheses of each sentence, best first.

        From the `translate_n_best` signature; an export without it (one
        written before it existed) gives one hypothesis per sentence, from
        `signature`.

        Args:
            sentences, batch_size, progress: as `translate`.
            with_format: also return each hypothesis's `format_ok`.
            glossary: a `translate.glossary.Glossary` whose terms the export
                masks (`translate_n_best_glossary`), or None. An export
                without the glossary signatures ignores it (the caller's
                glossary check still prefers hypotheses with the terms).
            matches: as `translate` (`translate_n_best_match`).

        Returns:
            One list per sentence: strings, or with `with_format` `(text,
            format_ok)` pairs (`format_ok` None without the n-best
            signature, which alone reports it).

        Raises:
            ValueError: `batch_size` is below 1.
        """
        if not self.has_n_best:
            return [[(text, None) if with_format else text]
                    for text in self.translate(sentences, batch_size, progress)]
        signature, extra = N_BEST_SIGNATURE, None
        if glossary and self.has_glossary:
            signature, extra = N_BEST_GLOSSARY_SIGNATURE, self._glossary_inputs(glossary)
        reading, matches = self._with_matches(signature, glossary, matches)
        signature = reading or signature
        # An n-best signature without `format_ok` (one not made by `translate
        # export`) reports no format: None, as without the signature.
        keys = [key for key in (N_BEST_OUTPUT_KEYS[0], N_BEST_OUTPUT_KEYS[2])
                if key in self._outputs(signature)]
        found = self._by_length(signature, keys, sentences, batch_size, progress, extra,
                                matches if reading else None)
        rows = []
        for texts, *format_ok in found:
            flags = format_ok[0] if format_ok else [None] * len(texts)
            rows.append([(t.decode("utf-8"), None if ok is None else bool(ok)) if with_format
                         else t.decode("utf-8") for t, ok in zip(texts, flags)])
        return rows


