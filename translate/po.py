"""`translate po`: fills the untranslated entries of a gettext catalog through
an exported model.

The model is an export of `translate export` (a SavedModel version
directory, or a model directory whose highest numbered version is taken, as
TF Serving serves it), loaded the way TF Serving runs it: `import
tensorflow_text` (its SentencePiece ops), `tf.saved_model.load` and one of
its signatures (`serving_default`, beam search, `translate_n_best`, the
same search's n best hypotheses, or `translate_greedy`). Nothing of the
training run is needed.

What is filled, and how:

- Only untranslated messages: an empty `msgstr` (every `msgstr[i]` empty for
  a plural entry). Translated and fuzzy entries, obsolete entries (`#~`),
  the header and every comment are kept as they were; a plural entry with
  some forms translated and others not is kept too (counted in
  `partial_plurals`), so that no translator's work is overwritten.
- Every suggestion, the memory's and the model's, must pass before it is
  written. This module's own rules: it is not empty; its placeholders are
  the message's (`translate.placeholders.same_placeholders`: the same
  multiset, order free), since a lost `%s` crashes or misleads the program
  at run time; the export did not flag it (`format_ok` of
  `translate_n_best`: a protected span of the message did not come back
  exactly once); it can be written as it is (the catalog's declared charset
  encodes it, and it holds no control character that a .po string cannot
  escape, such as U+0007; tabs, line breaks and the like are escaped). And
  Translate Toolkit's checks, those `pofilter` runs (`translate.checks`:
  printf, brace fields, variables, tags, escapes, line breaks, tabs,
  brackets, numbers, URLs, e-mails, whitespace at the ends, double spaces,
  and accelerators with a known marker), for the catalog's `Language`. And,
  for an entry with a format flag (`c-format`, `python-format`, ...),
  GNU gettext's `msgfmt --check-format` where it is installed
  (`translate.msgfmt`): the check a translator's build runs.
- With a translation memory, the memory's match is offered first where it
  is usable (`translate.memory.usable`: similar enough, the same
  placeholders); a match that fails a check is not used (counted in
  `memory_rejected`) and the message goes to the model. The threshold is
  the one given, or, as `translate evaluate --memory` does, the one that
  maximises dev chrF of memory + this exported model on the memory corpus's
  dev split (`translate.assist.dev_threshold`; not cached, since an export
  directory is not written to: pass it explicitly to skip the dev
  translation).
- The model gives each message its hypotheses, best first (the export's
  `translate_n_best`; one, from the signature asked for, when the export
  has no n-best signature or greedy search is asked for). The first that
  passes is written. When none passes, the entry stays untranslated and is
  counted under the worst problem of the best hypothesis: `kept_placeholders`
  (its msgid listed in `placeholder_msgids`), `kept_format`, `kept_msgfmt`, `kept_empty`,
  `kept_unwritable`, or `kept_failed_checks` (only the toolkit's checks
  failed; msgid in `check_msgids`); `kept_checks` counts, per check, the
  kept entries whose best hypothesis failed that check.
- Each filled entry is flagged `fuzzy` (a draft for a translator to review;
  msgfmt leaves fuzzy entries out of the .mo) and gets a translator comment
  saying where the draft came from, after any comment it had:
  `machine translation: memory, similarity 0.87`,
  `machine translation: model gru-keras translator/3 (translate_n_best)`,
  or, when a hypothesis after the first was taken,
  `machine translation: model gru-keras translator/3 (translate_n_best,
  hypothesis 2 of 4)`.
- The model is given each message as it is written (an export cleans its
  input itself: one of this project's exports keeps the lines and the
  whitespace at the ends; older ones collapse whitespace, and then a
  multi-line message comes back on one line and fails the `newlines`
  check). The message's own leading and trailing whitespace (a final
  "\\n", indentation) is then made the translation's, as `msgfmt --check`
  requires: a no-op for a translation that has it already.
- Keyboard accelerators (`_File`, `&File`, `~File`) are handled where the
  catalog's convention is given (`accelerator`): the marker is removed
  before translation and put back after it, by the rules of
  `translate.accelerators`, and the `accelerators` check verifies it.
- A message context (`msgctxt`) is not shown to the model (it was trained
  without contexts, see `translate.corpus.gettext`); identical messages are
  translated once.
- Plural entries (`msgid_plural`): the model translates `msgid` for
  `msgstr[0]` and `msgid_plural` for every other form, as many forms as the
  header's `Plural-Forms: nplurals=N` (2, gettext's own default, when the
  header declares none); with `nplurals=1` (e.g. Japanese) the one form is
  the translation of `msgid_plural`, the text that must hold a count's
  placeholder. Each form is checked against its own source, and each takes
  its own first passing hypothesis.
  The memory holds singular messages only, so plural entries come from the
  model. A translator should review them most carefully: the model was
  trained on singular messages, and the forms beyond the second are copies.

Only the filled entries change, and in them only three things: a comment
line is added after the translator comments, `fuzzy` is added to the flags
(a `#, fuzzy` line where there were none), and the `msgstr` lines are
replaced. The catalog's text is edited at the lines polib parsed them from;
every other byte is kept, including the header's order, line wrapping and
escapes. (Saving through polib instead would re-wrap every long string at
its own width, move header fields, and turn an escape it does not know, such
as the `\\a` in bash's catalog, into other text; polib still reads such a
message as a backslash and a letter, so that is what the model is given.)
The edited text is parsed again and must hold exactly the intended catalog
before it is written, in the catalog's own charset and line endings,
atomically (`translate.atomic`): it appears complete or not at all, so
filling a catalog in place cannot leave it half written. `translate po`
writes `--out`, or the catalog itself only with `--in-place`: overwriting a
translator's file is never the default.

`catalog_from_tsv` makes a catalog to try this on: the first messages of a
corpus split as a .po file with empty translations.
"""

import bisect
import dataclasses
import math
import re
import tempfile
import unicodedata
from pathlib import Path

import polib

from translate import accelerators, assist, batching, msgfmt
from translate.atomic import atomic_file
from translate.checks import Checker
from translate.corpus import CorpusError, normalize, read_tsv
from translate.corpus.gettext import load_po
from translate.memory import TranslationMemory, usable
from translate.placeholders import same_placeholders
from translate.signatures import (  # noqa: F401 (resolve_export re-exported)
    GLOSSARY_INPUT_KEYS, GLOSSARY_SIGNATURE, INPUT_KEY, N_BEST_GLOSSARY_SIGNATURE,
    N_BEST_OUTPUT_KEYS, N_BEST_SIGNATURE, OUTPUT_KEYS, SERVING_SIGNATURE, resolve_export)

MODEL_NAME = "gru-keras"
"""How the model names itself in the translator comments."""

COMMENT_PREFIX = "machine translation:"

DEFAULT_NPLURALS = 2
"""Plural forms when the header declares none (gettext's own default,
`nplurals=2; plural=(n != 1);`)."""

_NPLURALS = re.compile(r"nplurals\s*=\s*([0-9]+)")
# A line with its ending; polib reads in universal-newline mode, so \r\n, \r
# and \n each end a line, as they do for its line numbers.
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_MSGSTR = re.compile(r"\s*msgstr\b")


class ExportedModel:
    """An exported translator, loaded as TF Serving loads it: text in, text out.

    Args:
        export_dir: a version or model directory (see `resolve_export`).
        signature: the signature `translate` calls: "serving_default" (beam
            search) or "translate_greedy" (greedy search).

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
        signatures: the names of all the SavedModel's signatures.

    Raises:
        FileNotFoundError: no export there (see `resolve_export`).
        ValueError: the SavedModel has no such signature (those it has are
            named).
    """

    def __init__(self, export_dir, signature=SERVING_SIGNATURE):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401 (registers the SentencePiece ops of the graph)

        self.path = resolve_export(export_dir)
        self.signature = signature
        self.name = f"{self.path.parent.name}/{self.path.name}"
        self.label = f"{self.name} ({signature})"
        self._tf = tf
        self._loaded = tf.saved_model.load(str(self.path))
        if signature not in self._loaded.signatures:
            raise ValueError(f"{self.path} has no signature {signature!r}; it has "
                             f"{sorted(self._loaded.signatures)}.")
        self._function = self._loaded.signatures[signature]
        self.signatures = sorted(self._loaded.signatures)
        self.has_n_best = N_BEST_SIGNATURE in self._loaded.signatures
        self.n_best_label = (f"{self.name} ({N_BEST_SIGNATURE})" if self.has_n_best
                             else self.label)
        self.has_glossary = N_BEST_GLOSSARY_SIGNATURE in self._loaded.signatures

    def glossary_label(self, n_best=True):
        """The label of what a call with a glossary runs."""
        if not self.has_glossary:
            return self.n_best_label if n_best else self.label
        return f"{self.name} ({N_BEST_GLOSSARY_SIGNATURE if n_best else GLOSSARY_SIGNATURE})"

    def _glossary_inputs(self, glossary):
        """The glossary signatures' extra inputs for a `Glossary`."""
        tf = self._tf
        return dict(zip(GLOSSARY_INPUT_KEYS, (tf.constant(glossary.sources, tf.string),
                                              tf.constant(glossary.targets, tf.string))))

    def _by_length(self, function, outputs, sentences, batch_size, progress, extra=None):
        """`function`'s `outputs` (decoded) for `sentences`, batched by length."""
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")

        def run(batch):
            found = function(**{INPUT_KEY: self._tf.constant(batch, self._tf.string)},
                             **(extra or {}))
            return list(zip(*(found[key].numpy().tolist() for key in outputs)))
        return batching.by_length(run, sentences, batch_size, progress)

    def translate(self, sentences, batch_size=64, progress=None, glossary=None):
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

        Returns:
            A list of strings, one per sentence.

        Raises:
            ValueError: `batch_size` is below 1.
        """
        function, extra = self._function, None
        if glossary and self.has_glossary and self.signature == SERVING_SIGNATURE:
            function = self._loaded.signatures[GLOSSARY_SIGNATURE]
            extra = self._glossary_inputs(glossary)
        found = self._by_length(function, OUTPUT_KEYS[:1], sentences, batch_size, progress,
                                extra)
        return [text.decode("utf-8") for (text,) in found]

    def n_best(self, sentences, batch_size=64, progress=None, with_format=False,
               glossary=None):
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
        extra = None
        if glossary and self.has_glossary:
            function = self._loaded.signatures[N_BEST_GLOSSARY_SIGNATURE]
            extra = self._glossary_inputs(glossary)
        else:
            function = self._loaded.signatures[N_BEST_SIGNATURE]
        # An n-best signature without `format_ok` (one not made by `translate
        # export`) reports no format: None, as without the signature.
        keys = [key for key in (N_BEST_OUTPUT_KEYS[0], N_BEST_OUTPUT_KEYS[2])
                if key in function.structured_outputs]
        found = self._by_length(function, keys, sentences, batch_size, progress, extra)
        rows = []
        for texts, *format_ok in found:
            flags = format_ok[0] if format_ok else [None] * len(texts)
            rows.append([(t.decode("utf-8"), None if ok is None else bool(ok)) if with_format
                         else t.decode("utf-8") for t, ok in zip(texts, flags)])
        return rows


@dataclasses.dataclass
class FillSummary:
    """What filling a catalog did.

    Attributes:
        entries: the catalog's messages (the header and obsolete entries not
            counted).
        translated: messages already translated, kept as they were.
        fuzzy: messages already fuzzy, kept as they were.
        untranslated: the untranslated messages found (those `fill_catalog`
            tries to fill).
        from_memory: filled with the translation memory's match.
        from_model: filled with the model's translation (plural entries
            included).
        plurals: plural entries filled (counted in `from_model`).
        fallbacks: entries filled with a hypothesis after the model's first
            (counted in `from_model`).
        memory_rejected: usable memory matches not used, since they failed a
            check (the model translated those messages).
        memory_glossary_rejected: usable memory matches not used, since they
            lack a glossary term of their message.
        glossary_entries: filled entries whose message has a glossary term.
        glossary_followed: of those, the entries whose translation has every
            term's target.
        glossary_missed: the others (filled all the same, the comment naming
            the terms missed).
        glossary_missed_terms: for each source term, the filled entries that
            miss it.
        kept_placeholders: kept untranslated: the best hypothesis lost,
            added or altered a placeholder (and no other passed).
        kept_format: kept untranslated: the export flagged the best
            hypothesis (`format_ok` false).
        kept_msgfmt: kept untranslated: `msgfmt --check-format` rejects the
            best hypothesis for the entry's format flag (`translate.msgfmt`).
        kept_empty: kept untranslated: the best hypothesis was empty.
        kept_unwritable: kept untranslated: the catalog's charset cannot
            encode the best hypothesis, or it holds a control character that
            polib cannot escape.
        kept_failed_checks: kept untranslated: the best hypothesis failed
            only Translate Toolkit's checks.
        kept_checks: for each toolkit check, the entries kept untranslated
            whose best hypothesis failed it (an entry can count under
            several checks, and under one of the `kept_*` above too).
        partial_plurals: plural entries with some forms translated and others
            empty, kept as they were.
        memory_threshold: the similarity from which the memory was used, or
            None without a memory.
        checks: the toolkit checks run, or None when they were not.
        placeholder_msgids: the msgids counted in `kept_placeholders`.
        check_msgids: the msgids counted in `kept_failed_checks`.
        catalog, out, model: the catalog read, the catalog written and the
            model's label, where `fill_po` filled them; otherwise None.
        filled_entries: the entries filled, in catalog order (the parsed
            `polib.POEntry` objects; not in `as_dict`).
    """

    entries: int = 0
    translated: int = 0
    fuzzy: int = 0
    untranslated: int = 0
    from_memory: int = 0
    from_model: int = 0
    plurals: int = 0
    fallbacks: int = 0
    memory_rejected: int = 0
    memory_glossary_rejected: int = 0
    glossary_entries: int = 0
    glossary_followed: int = 0
    glossary_missed: int = 0
    glossary_missed_terms: dict = dataclasses.field(default_factory=dict)
    kept_placeholders: int = 0
    kept_format: int = 0
    kept_msgfmt: int = 0
    kept_empty: int = 0
    kept_unwritable: int = 0
    kept_failed_checks: int = 0
    kept_checks: dict = dataclasses.field(default_factory=dict)
    partial_plurals: int = 0
    memory_threshold: float | None = None
    checks: list | None = None
    placeholder_msgids: list = dataclasses.field(default_factory=list)
    check_msgids: list = dataclasses.field(default_factory=list)
    catalog: str | None = None
    out: str | None = None
    model: str | None = None
    filled_entries: list = dataclasses.field(default_factory=list, repr=False)

    @property
    def filled(self):
        """Messages filled, from the memory or the model."""
        return self.from_memory + self.from_model

    @property
    def kept(self):
        """Untranslated messages left so, since no suggestion passed."""
        return (self.kept_placeholders + self.kept_format + self.kept_msgfmt + self.kept_empty
                + self.kept_unwritable + self.kept_failed_checks)

    def as_dict(self):
        """The summary as a JSON-ready dict (`filled` and `kept` included)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.name != "filled_entries"}
        return {**fields, "placeholder_msgids": list(self.placeholder_msgids),
                "check_msgids": list(self.check_msgids), "kept_checks": dict(self.kept_checks),
                "glossary_missed_terms": dict(self.glossary_missed_terms),
                "filled": self.filled, "kept": self.kept}


def nplurals(catalog):
    """The number of plural forms the catalog's header declares.

    Args:
        catalog: a `polib.POFile`.

    Returns:
        `N` of the header's `Plural-Forms: nplurals=N; ...`, or
        `DEFAULT_NPLURALS` when there is none (or it is not a positive
        number).
    """
    match = _NPLURALS.search(catalog.metadata.get("Plural-Forms", ""))
    count = int(match.group(1)) if match else 0
    return count if count >= 1 else DEFAULT_NPLURALS


def _plural_sources(entry, forms):
    """The source text of each plural form, `msgstr[0]` first."""
    if forms == 1:
        return [entry.msgid_plural]
    return [entry.msgid] + [entry.msgid_plural] * (forms - 1)


def _state(entry):
    """"translated", "fuzzy", "partial" or "untranslated" (a message entry)."""
    if entry.fuzzy:
        return "fuzzy"
    if entry.msgid_plural:
        filled = [bool(text) for text in entry.msgstr_plural.values()]
        if filled and all(filled):
            return "translated"
        return "partial" if any(filled) else "untranslated"
    return "translated" if entry.msgstr else "untranslated"


def _dress(source, translation):
    """The translation with the source's leading and trailing whitespace.

    Idempotent, so a no-op for an export that returns the source's
    whitespace itself: the translation's own ends are replaced, never added
    to.
    """
    core = translation.strip()
    if not core:
        return ""
    lead = source[:len(source) - len(source.lstrip())]
    trail = source[len(source.rstrip()):]
    return lead + core + trail


# Why a suggestion is not written, the worst first: what a translator most
# needs to hear about.
_PROBLEMS = ("placeholders", "format", "msgfmt", "empty", "unwritable", "failed_checks")


def _problem(source, text, encoding, format_ok=None):
    """Why `text` cannot be written as the translation of `source` by this
    module's own rules (one of `_PROBLEMS` but the toolkit's), or None."""
    if not text:
        return "empty"
    if not same_placeholders(source, text):
        return "placeholders"
    if format_ok is False:
        return "format"
    # polib escapes only these control characters; any other would go into the
    # file raw (and no translation needs one).
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\v\b\f" for c in text):
        return "unwritable"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "unwritable"
    return None


@dataclasses.dataclass
class _Form:
    """One text to write (a message, or one plural form) and its suggestions.

    `candidates` are `(text, format_ok)`, best first; `_judge` fills
    `verdicts`: for each candidate, its `_problem` and its toolkit failures.
    """

    source: str
    candidates: list
    verdicts: list = None
    missed: list = None
    flags: tuple = ()

    @property
    def pick(self):
        """The index of the first candidate that passes and has every glossary
        term, else of the first that passes, or None."""
        passing = [i for i, (problem, failed) in enumerate(self.verdicts)
                   if problem is None and not failed]
        following = [i for i in passing if not (self.missed and self.missed[i])]
        return (following or passing or [None])[0]

    @property
    def missed_terms(self):
        """The glossary entries the picked candidate lacks."""
        return list(self.missed[self.pick]) if self.missed and self.pick is not None else []


def _judge(forms, encoding, checker, glossary=None, accelerator=None):
    """Sets each form's `verdicts` (the toolkit checks every pair in one call)
    and, with a glossary, the terms each candidate misses."""
    pairs = [(f.source, text) for f in forms for text, _ in f.candidates if text]
    found = iter(checker.failures(pairs) if checker is not None and pairs else ())
    for form in forms:
        form.verdicts = [(_problem(form.source, text, encoding, ok),
                          next(found) if checker is not None and text else {})
                         for text, ok in form.candidates]
        if glossary is not None:
            # Terms are found in the message as the model reads it (a `_` marker
            # would glue itself to the word).
            plain = accelerators.remove(form.source, accelerator)[0]
            form.missed = [glossary.missed(plain, text) for text, _ in form.candidates]
    # msgfmt's own format check, on what passes the rules above.
    judged = [(form, i) for form in forms for i, (problem, _) in enumerate(form.verdicts)
              if problem is None and form.flags]
    for index in msgfmt.rejected([(form.flags, form.source, form.candidates[i][0])
                                  for form, i in judged]):
        form, i = judged[index]
        form.verdicts[i] = ("msgfmt", form.verdicts[i][1])


def _hypothesis_lists(results, count):
    """The n-best function's results as lists of `(text, format_ok)`."""
    results = list(results)
    if len(results) != count:
        raise ValueError(f"the model returned {len(results)} translations for {count} "
                         f"messages.")
    lists = []
    for i, hypotheses in enumerate(results):
        if isinstance(hypotheses, str):
            raise TypeError(f"translate_n_best must return a list of hypotheses per "
                            f"message; got a string for message {i}.")
        lists.append([(h, None) if isinstance(h, str) else (h[0], h[1]) for h in hypotheses])
    return lists


def _mark(entry, comment):
    """Flags a filled entry fuzzy and records where its draft came from."""
    entry.fuzzy = True
    entry.tcomment = f"{entry.tcomment}\n{comment}" if entry.tcomment else comment


def _model_comment(model_label, forms):
    """The origin comment of a model translation: which hypotheses were taken."""
    comment = f"{COMMENT_PREFIX} model {MODEL_NAME} {model_label}"
    picks = [f.pick for f in forms]
    if any(picks):
        of = max(len(f.candidates) for f in forms)
        note = (f"hypothesis {picks[0] + 1} of {of}" if len(picks) == 1 else
                "hypotheses " + ", ".join(str(p + 1) for p in picks) + f" of {of}")
        comment = (f"{comment[:-1]}, {note})" if comment.endswith(")")
                   else f"{comment} ({note})")
    return comment + _missed_note(forms)


def _missed_note(forms):
    """`; glossary term missed: page -> Seite` for the terms the picks lack, or ""."""
    missed = []
    for form in forms:
        missed += [entry for entry in form.missed_terms if entry not in missed]
    if not missed:
        return ""
    terms = ", ".join(f"{entry.source} -> {entry.target}" for entry in missed)
    return f"; glossary term{'s' if len(missed) > 1 else ''} missed: {terms}"


def _count_kept(summary, entry, forms):
    """Counts an entry none of whose suggestions passed, under its best one's problems."""
    failing = [f for f in forms if f.pick is None]
    problems = [f.verdicts[0][0] or "failed_checks" if f.verdicts else "empty"
                for f in failing]
    reason = min(problems, key=_PROBLEMS.index)
    setattr(summary, f"kept_{reason}", getattr(summary, f"kept_{reason}") + 1)
    if reason == "placeholders":
        summary.placeholder_msgids.append(entry.msgid)
    elif reason == "failed_checks":
        summary.check_msgids.append(entry.msgid)
    for check in {name for f in failing if f.verdicts for name in f.verdicts[0][1]}:
        summary.kept_checks[check] = summary.kept_checks.get(check, 0) + 1


def _count_terms(summary, glossary, entry, forms, accelerator):
    """Counts a filled entry in the summary's glossary figures."""
    if not any(glossary.find(accelerators.remove(f.source, accelerator)[0]) for f in forms):
        return
    summary.glossary_entries += 1
    missed = {e.source for f in forms for e in f.missed_terms}
    if missed:
        summary.glossary_missed += 1
        for term in sorted(missed):
            summary.glossary_missed_terms[term] = summary.glossary_missed_terms.get(term, 0) + 1
    else:
        summary.glossary_followed += 1


def fill_catalog(catalog, translate=None, *, model_label, translate_n_best=None, memory=None,
                 threshold=None, checker=None, accelerator=None, glossary=None):
    """Fills the untranslated messages of a parsed catalog, in place.

    The rules (checks, hypotheses, fuzzy flag, comments, whitespace,
    accelerators, plurals) are the module docstring's.

    Args:
        catalog: a `polib.POFile`; its untranslated entries are changed.
        translate: `f(sentences) -> translations`, a list of strings in, a
            list of as many strings out (e.g. `ExportedModel.translate`, or
            a TF Serving client's `translate`): one hypothesis per message.
            Give this or `translate_n_best`.
        model_label: how the comment names the model, e.g.
            "translator/3 (translate_n_best)".
        translate_n_best: `f(sentences) -> hypotheses`: for each sentence, a
            list of its hypotheses, best first, each a string or a `(text,
            format_ok)` pair (e.g. `ExportedModel.n_best` with
            `with_format`). Whichever is given is called once, with each
            distinct message left to it (as written, its accelerator
            removed), or not at all when none is left.
        memory: a `translate.memory.TranslationMemory`, or None.
        threshold: the similarity from which a memory match is used; needed
            with `memory`.
        checker: a `translate.checks.Checker` whose checks every suggestion
            must pass too, or None for this module's own rules alone.
        accelerator: the catalog's accelerator marker ("_", "&", "~"), or
            None.
        glossary: a `translate.glossary.Glossary`, or None. A memory match
            that lacks a term of its message is not used; of the model's
            hypotheses, the first that passes and has every term is taken,
            else the first that passes, and its comment names the terms it
            lacks. (Give `translate_n_best` the glossary too, e.g. the
            export's glossary signature, so that its hypotheses use it.)

    Returns:
        A `FillSummary`.

    Raises:
        ValueError: neither or both of `translate` and `translate_n_best`;
            `memory` without a `threshold`; an unknown accelerator marker;
            or the function returned a different number of results than it
            was given messages.
        TypeError: `translate_n_best` returned a string for a message.
        translate.toolkit.ToolkitMissing, translate.checks.CheckerError:
            from `checker`.
    """
    if (translate is None) == (translate_n_best is None):
        raise ValueError("give one of translate and translate_n_best.")
    if memory is not None and threshold is None:
        raise ValueError("a translation memory needs a similarity threshold.")
    accelerators.check_marker(accelerator)
    if translate is not None:
        def translate_n_best(sentences):
            return [[text] for text in translate(sentences)]
    summary = FillSummary(memory_threshold=None if memory is None else float(threshold),
                          checks=None if checker is None else list(checker.checks))
    forms = nplurals(catalog)
    encoding = catalog.encoding or "utf-8"

    todo = []
    for entry in catalog:
        if entry.obsolete or entry.msgid == "":
            continue
        summary.entries += 1
        state = _state(entry)
        if state == "partial":
            summary.partial_plurals += 1
        elif state != "untranslated":
            setattr(summary, state, getattr(summary, state) + 1)
        else:
            summary.untranslated += 1
            todo.append(entry)

    # The memory first: what it fills, the model need not translate.
    singular = [e for e in todo if not e.msgid_plural]
    matches = (memory.lookup([normalize(e.msgid) for e in singular])
               if memory is not None else [])
    offered = [(e, m, _Form(e.msgid, [(_dress(e.msgid, m.target), None)],
                            flags=tuple(e.flags)))
               for e, m in zip(singular, matches) if usable(e.msgid, m, threshold)]
    _judge([form for _, _, form in offered], encoding, checker, glossary, accelerator)
    from_memory = {}
    for entry, match, form in offered:
        if form.pick is None:
            summary.memory_rejected += 1
        elif form.missed_terms:
            summary.memory_glossary_rejected += 1
        else:
            from_memory[id(entry)] = match, form

    # Then the model, each distinct message (its accelerator removed) once.
    def sources(entry):
        return _plural_sources(entry, forms) if entry.msgid_plural else [entry.msgid]

    hypotheses = {}  # message given to the model -> its hypotheses, first-seen order
    for entry in todo:
        if id(entry) not in from_memory:
            for text in sources(entry):
                hypotheses.setdefault(accelerators.remove(text, accelerator)[0], [])
    queries = [text for text in hypotheses if text.strip()]
    if queries:
        hypotheses.update(zip(queries, _hypothesis_lists(translate_n_best(queries),
                                                         len(queries))))
    by_entry = {}
    for entry in todo:
        if id(entry) not in from_memory:
            by_entry[id(entry)] = [
                _Form(s, [(_dress(s, accelerators.restore(text, key)), ok)
                          for text, ok in hypotheses[plain]], flags=tuple(entry.flags))
                for s in sources(entry) for plain, key in [accelerators.remove(s, accelerator)]]
    _judge([f for entry_forms in by_entry.values() for f in entry_forms], encoding, checker,
           glossary, accelerator)

    for entry in todo:
        if id(entry) in from_memory:
            match, form = from_memory[id(entry)]
            # Rounded down (the 1e-9 absorbs float error, 0.29 * 100 < 29): "1.00"
            # only for an exact match.
            similarity = (1.0 if match.similarity >= 1.0 else
                          min(math.floor(match.similarity * 100 + 1e-9), 99) / 100)
            entry_forms = [form]
            comment = f"{COMMENT_PREFIX} memory, similarity {similarity:.2f}"
        else:
            entry_forms = by_entry[id(entry)]
            if any(f.pick is None for f in entry_forms):
                _count_kept(summary, entry, entry_forms)
                continue
            comment = _model_comment(model_label, entry_forms)
            summary.fallbacks += any(f.pick for f in entry_forms)
        texts = [f.candidates[f.pick][0] for f in entry_forms]
        if entry.msgid_plural:
            entry.msgstr_plural = dict(enumerate(texts))
            summary.plurals += 1
        else:
            entry.msgstr = texts[0]
        _mark(entry, comment)
        if glossary is not None:
            _count_terms(summary, glossary, entry, entry_forms, accelerator)
        summary.filled_entries.append(entry)
        if id(entry) in from_memory:
            summary.from_memory += 1
        else:
            summary.from_model += 1
    return summary


def read_catalog(path):
    """Parses a .po catalog with its declared charset.

    Args:
        path: the .po file.

    Returns:
        A `polib.POFile`.

    Raises:
        FileNotFoundError: there is no such file.
        translate.corpus.CorpusError: it cannot be read, is not valid .po
            syntax (the message names the file and the line polib gives), or
            cannot be decoded with its declared charset.
    """
    try:
        return load_po(path)
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such catalog.") from None
    except OSError as error:
        raise CorpusError(f"cannot be read: {error.strerror or error}", path) from None


def write_catalog(catalog, path):
    """Writes a whole catalog atomically, as polib lays it out.

    For a catalog made here (`catalog_from_tsv`); a catalog read from a file
    and filled is written by `write_filled`, which keeps its text.

    Args:
        catalog: a `polib.POFile`.
        path: the .po file to write (replaced if it exists).

    Raises:
        UnicodeEncodeError: a message cannot be encoded in the charset.
    """
    data = str(catalog).encode(catalog.encoding or "utf-8")
    with atomic_file(path, mode="wb") as f:
        f.write(data)


def _msgstr_lines(entry, wrapwidth):
    """The `msgstr` (or `msgstr[i]`) lines polib writes for an entry."""
    lines = entry.__unicode__(wrapwidth).split("\n")
    first = next(i for i, line in enumerate(lines) if _MSGSTR.match(line))
    return [line for line in lines[first:] if line]


def _edit_block(block, entry, newline, wrapwidth):
    """An entry's lines with the comment, the fuzzy flag and the new msgstr."""
    keyword = next(i for i, line in enumerate(block) if not line.lstrip().startswith("#"))
    # Translator comments are "#" followed by anything but . : , | ~
    translator = [i for i, line in enumerate(block[:keyword])
                  if re.match(r"\s*#(?![.:,|~])", line)]
    at = translator[-1] + 1 if translator else 0
    comment = entry.tcomment.rsplit("\n", 1)[-1]
    block = block[:at] + [f"# {comment}{newline}"] + block[at:]
    keyword += 1
    flags = [i for i, line in enumerate(block[:keyword]) if line.lstrip().startswith("#,")]
    if flags:
        line = block[flags[0]]
        indent = line[:len(line) - len(line.lstrip())]
        block[flags[0]] = f"{indent}#, fuzzy,{line.lstrip()[2:]}"
    else:
        # After the extracted comments and references, before "#|" lines.
        previous = [i for i, line in enumerate(block[:keyword])
                    if line.lstrip().startswith("#|")]
        at = previous[0] if previous else keyword
        block = block[:at] + [f"#, fuzzy{newline}"] + block[at:]
    msgstr = next(i for i, line in enumerate(block) if _MSGSTR.match(line))
    ending = newline if _NEWLINE.search(block[-1]) else ""  # keep a missing final newline
    new = [line + newline for line in _msgstr_lines(entry, wrapwidth)]
    new[-1] = new[-1][:len(new[-1]) - len(newline)] + ending
    return block[:msgstr] + new


def splice(text, catalog, entries, wrapwidth=78):
    """The catalog's text with `entries` rewritten, every other line kept.

    Args:
        text: the text `catalog` was parsed from (decoded).
        catalog: the parsed `polib.POFile`, its `entries` already filled
            (fuzzy flag, comment, msgstr).
        entries: the filled entries (their `linenum`s locate them).
        wrapwidth: where polib wraps the new msgstr lines.

    Returns:
        The new text: in each filled entry, the last comment line of its
        `tcomment` added after its translator comments, `fuzzy` added to its
        flags, its `msgstr` lines replaced; the file's own line endings.
    """
    lines = _LINE.findall(text)
    found = _NEWLINE.search(text)
    newline = found.group() if found else "\n"
    starts = sorted(e.linenum for e in catalog)
    for entry in sorted(entries, key=lambda e: e.linenum, reverse=True):
        start = entry.linenum - 1
        after = bisect.bisect_right(starts, entry.linenum)  # the next entry's start
        end = starts[after] - 1 if after < len(starts) else len(lines)
        while end > start and not lines[end - 1].strip():
            end -= 1  # blank lines between entries stay as they are
        lines[start:end] = _edit_block(lines[start:end], entry, newline, wrapwidth)
    return "".join(lines)


def _parse_text(text, encoding):
    """polib's reading of a catalog's text, through a file as for the original."""
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "catalog.po"
        path.write_bytes(text.encode(encoding))
        return polib.pofile(str(path), encoding=encoding)


def _fields(entry):
    return (entry.msgctxt, entry.msgid, entry.msgid_plural, bool(entry.obsolete),
            entry.msgstr, dict(entry.msgstr_plural), entry.tcomment, entry.fuzzy)


def write_filled(catalog_path, catalog, entries, out):
    """Writes a filled catalog by editing the text it was read from.

    Args:
        catalog_path: the .po file `catalog` was parsed from (`read_catalog`).
        catalog: that `polib.POFile`, with `entries` filled (`fill_catalog`).
        entries: the filled entries (`FillSummary.filled_entries`).
        out: the .po file to write, atomically; `catalog_path` itself to fill
            it in place. An existing file keeps its permission bits.

    Raises:
        RuntimeError: the edited text does not parse back to the filled
            catalog (nothing is written).
    """
    encoding = catalog.encoding or "utf-8"
    text = Path(catalog_path).read_bytes().decode(encoding)
    edited = splice(text, catalog, entries, catalog.wrapwidth)
    check = _parse_text(edited, encoding)
    if ([_fields(e) for e in check] != [_fields(e) for e in catalog]
            or check.metadata != catalog.metadata):
        raise RuntimeError(f"filling {catalog_path} went wrong: the edited catalog does not "
                           f"parse back to the filled one; nothing written to {out}.")
    with atomic_file(out, mode="wb") as f:  # an existing file keeps its permissions
        f.write(edited.encode(encoding))


def fill_po(catalog_path, export_dir, out, *, memory_corpus=None, memory_threshold=None,
            batch_size=64, signature=SERVING_SIGNATURE, progress=None, checks=True,
            accelerator=None, glossary=None):
    """Fills a .po catalog through an exported model; writes the result.

    Args:
        catalog_path: the .po file to fill.
        export_dir: the exported model (see `resolve_export`).
        out: the .po file to write; `catalog_path` itself to fill it in
            place (written atomically either way).
        memory_corpus: a corpus directory whose `train.tsv` is the
            translation memory, or None.
        memory_threshold: the similarity from which the memory is used; None
            chooses it on `memory_corpus`'s dev split with this model
            (`translate.assist.dev_threshold`), which translates that split.
        batch_size: sentences per call of the signature.
        signature: "serving_default" (beam search: the export's n best
            hypotheses, `translate_n_best`, where it has them) or
            "translate_greedy" (one hypothesis).
        progress: optional wrapper of the model's batch iterator.
        checks: run Translate Toolkit's checks (`translate.checks`) for the
            catalog's `Language`; False for this module's own rules alone.
        accelerator: the catalog's accelerator marker ("_", "&", "~"), or
            None when its convention is not known.
        glossary: a `translate.glossary.Glossary` the suggestions follow
            (the export's glossary signatures mask its terms; see
            `fill_catalog`), or None.

    Returns:
        A `FillSummary` (with `catalog`, `out` and `model` set).

    Raises:
        FileNotFoundError: no such catalog, no export, or no memory corpus.
        translate.corpus.CorpusError: the catalog cannot be read or parsed,
            or the memory corpus is malformed.
        ValueError: a bad signature, batch size, threshold or accelerator
            marker, or a threshold without a memory corpus.
        translate.toolkit.ToolkitMissing: `checks` without Translate Toolkit
            installed (found before the model is loaded).
        translate.checks.CheckerError: the toolkit's process failed.
        RuntimeError: see `write_filled`.
    """
    # Argument errors first, before minutes of loading and translating.
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if memory_threshold is not None and memory_corpus is None:
        raise ValueError("a memory threshold was given without a memory corpus.")
    accelerators.check_marker(accelerator)
    catalog = read_catalog(catalog_path)
    with Checker(catalog.metadata.get("Language") or None, accelerator) as checker:
        if checks:
            checker.start()  # a missing toolkit is reported before the model loads
        model = ExportedModel(export_dir, signature)
        tm = threshold = None
        if memory_corpus is not None:
            tm = TranslationMemory.from_corpus(memory_corpus)
            threshold = (memory_threshold if memory_threshold is not None
                         else assist.dev_threshold(model, memory_corpus, tm=tm))
        n_best = signature == SERVING_SIGNATURE
        label = model.n_best_label if n_best else model.label
        if glossary:
            label = model.glossary_label(n_best)

        def translate_n_best(sentences):
            if n_best:
                return model.n_best(sentences, batch_size, progress=progress, with_format=True,
                                    glossary=glossary)
            return [[text] for text in model.translate(sentences, batch_size, progress=progress,
                                                       glossary=glossary)]

        summary = fill_catalog(catalog, model_label=label, translate_n_best=translate_n_best,
                               memory=tm, threshold=threshold,
                               checker=checker if checks else None, accelerator=accelerator,
                               glossary=glossary)
    write_filled(catalog_path, catalog, summary.filled_entries, out)
    summary.catalog, summary.out, summary.model = str(catalog_path), str(out), label
    return summary


def catalog_from_tsv(tsv, out, limit=None, *, references=False, language=None):
    """Writes the messages of a TSV file as a catalog to translate.

    For trying `translate po`: e.g. the first 50 messages of a corpus's
    `test.tsv` (never seen in training) as a .po file whose translations are
    empty.

    Args:
        tsv: a `source<TAB>target` file (a corpus split).
        out: the .po file to write (atomically, UTF-8).
        limit: the most entries written; None for all.
        references: also record each message's reference translation, as an
            extracted comment (`#. reference: ...`), to compare with what is
            filled in.
        language: the header's `Language` (e.g. "de"), or None to leave it
            out.

    Returns:
        The number of entries written. A source met before (a .po file may
        hold each msgid once) and an empty source are left out; each entry's
        `#:` reference names the TSV file and line.

    Raises:
        FileNotFoundError: there is no such TSV file.
        translate.corpus.CorpusError: a malformed line (named by number).
        ValueError: `limit` is not None or a positive integer.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                              or limit < 1):
        raise ValueError(f"limit must be a positive integer or None, got {limit!r}.")
    catalog = polib.POFile(wrapwidth=78)
    catalog.header = f"Messages of {Path(tsv).name} to translate, made by translate.po."
    catalog.metadata = {
        "Project-Id-Version": Path(tsv).stem,
        "MIME-Version": "1.0",
        "Content-Type": "text/plain; charset=UTF-8",
        "Content-Transfer-Encoding": "8bit",
        **({"Language": language} if language else {}),
    }
    seen = set()
    for pair in read_tsv(tsv):
        if limit is not None and len(catalog) >= limit:
            break
        if not pair.source or pair.source in seen:
            continue
        seen.add(pair.source)
        catalog.append(polib.POEntry(
            msgid=pair.source, msgstr="", occurrences=[(Path(tsv).name, str(pair.line))],
            comment=f"reference: {pair.target}" if references else ""))
    write_catalog(catalog, out)
    return len(catalog)
