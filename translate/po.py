"""`translate po`: fills the untranslated entries of a gettext catalog through
an exported model.

The model is an export of `translate export` (a SavedModel version
directory, or a model directory whose highest numbered version is taken, as
TF Serving serves it), loaded the way TF Serving runs it: `import
tensorflow_text` (its SentencePiece ops), `tf.saved_model.load` and one of
its signatures (`serving_default`, beam search, or `translate_greedy`). Nothing
of the training run is needed.

What is filled, and how:

- Only untranslated messages: an empty `msgstr` (every `msgstr[i]` empty for
  a plural entry). Translated and fuzzy entries, obsolete entries (`#~`),
  the header and every comment are kept as they were; a plural entry with
  some forms translated and others not is kept too (counted in
  `partial_plurals`), so that no translator's work is overwritten.
- With a translation memory, the memory's match is used where it is usable
  (`translate.memory.usable`: similar enough, the same placeholders);
  elsewhere the model's translation. The threshold is the one given, or, as
  `translate evaluate --memory` does, the one that maximises dev chrF of
  memory + this exported model on the memory corpus's dev split
  (`translate.assist.dev_threshold`; not cached, since an export directory is
  not written to: pass it explicitly to skip the dev translation).
- Each filled entry is flagged `fuzzy` (a draft for a translator to review;
  msgfmt leaves fuzzy entries out of the .mo) and gets a translator comment
  saying where the draft came from, after any comment it had:
  `machine translation: memory, similarity 0.87` or
  `machine translation: model gru-keras translator/3 (serving_default)`.
- A translation whose placeholders differ from the message's
  (`translate.placeholders.same_placeholders`: the same multiset, order
  free) is not written: the entry stays untranslated and is counted in
  `kept_placeholders` (its msgid listed in `placeholder_msgids`), since a
  lost `%s` crashes or misleads the program at run time. So is an empty
  translation (`kept_empty`), and one that cannot be written as it is
  (`kept_unwritable`): the catalog's declared charset cannot encode it, or
  it holds a control character that a .po string cannot escape (such as
  U+0007; tabs, line breaks and the like are escaped).
- The model sees each message as `translate prepare` stored its training
  data (whitespace runs as single spaces, no leading or trailing
  whitespace); the message's own leading and trailing whitespace (a final
  "\\n", indentation) is put back around the translation, as `msgfmt
  --check` requires of a message and its translation.
- A message context (`msgctxt`) is not shown to the model (it was trained
  without contexts, see `translate.corpus.gettext`); identical messages are
  translated once.
- Plural entries (`msgid_plural`): the model translates `msgid` for
  `msgstr[0]` and `msgid_plural` for every other form, as many forms as the
  header's `Plural-Forms: nplurals=N` (2, gettext's own default, when the
  header declares none); with `nplurals=1` (e.g. Japanese) the one form is
  the translation of `msgid_plural`, the text that must hold a count's
  placeholder. Each form's placeholders are checked against its own source.
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

from translate import assist, batching
from translate.atomic import atomic_file
from translate.corpus import CorpusError, normalize, read_tsv
from translate.corpus.gettext import load_po
from translate.memory import TranslationMemory, usable
from translate.placeholders import same_placeholders
from translate.signatures import (  # noqa: F401 (resolve_export re-exported)
    INPUT_KEY, N_BEST_OUTPUT_KEYS, N_BEST_SIGNATURE, OUTPUT_KEYS, SERVING_SIGNATURE,
    SignatureNotFound, resolve_export)

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
        signature: the signature to call: "serving_default" (beam search) or
            "translate_greedy" (greedy search).

    Attributes:
        path: the version directory loaded.
        signature: the signature's name.
        signatures: the names of all the SavedModel's signatures.
        label: `<model name>/<version> (<signature>)`, e.g.
            "translator/3 (serving_default)", as written in the comments.

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
        self.label = f"{self.path.parent.name}/{self.path.name} ({signature})"
        self._tf = tf
        self._loaded = tf.saved_model.load(str(self.path))
        if signature not in self._loaded.signatures:
            raise ValueError(f"{self.path} has no signature {signature!r}; it has "
                             f"{sorted(self._loaded.signatures)}.")
        self._function = self._loaded.signatures[signature]
        self.signatures = sorted(self._loaded.signatures)

    def translate(self, sentences, batch_size=64, progress=None):
        """Translations of `sentences`, in order.

        Sentences go to the signature in batches of similar length (less
        padding for the search).

        Args:
            sentences: a list of strings.
            batch_size: sentences per call of the signature.
            progress: optional wrapper of the batch iterator (a progress bar).

        Returns:
            A list of strings, one per sentence.

        Raises:
            ValueError: `batch_size` is below 1.
        """
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")

        def translate_batch(batch):
            text = self._tf.constant(batch, self._tf.string)
            translations = self._function(**{INPUT_KEY: text})[OUTPUT_KEYS[0]].numpy()
            return [t.decode("utf-8") for t in translations]
        return batching.by_length(translate_batch, sentences, batch_size, progress)

    def n_best(self, sentences, batch_size=64):
        """The n best translations of each sentence, best first.

        Through the export's `translate_n_best` signature (n is fixed in
        it), in batches of similar length.

        Args:
            sentences: a list of strings.
            batch_size: sentences per call of the signature.

        Returns:
            A list with one list of n strings per sentence, in order.

        Raises:
            SignatureNotFound: the export has no `translate_n_best` (the
                signatures it has are named).
            ValueError: `batch_size` is below 1.
        """
        if N_BEST_SIGNATURE not in self.signatures:
            raise SignatureNotFound(f"{self.path} has no signature {N_BEST_SIGNATURE!r}; it has "
                                    f"{self.signatures}.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        function = self._loaded.signatures[N_BEST_SIGNATURE]

        def n_best_batch(batch):
            text = self._tf.constant(batch, self._tf.string)
            rows = function(**{INPUT_KEY: text})[N_BEST_OUTPUT_KEYS[0]].numpy().tolist()
            return [[t.decode("utf-8") for t in row] for row in rows]
        return batching.by_length(n_best_batch, sentences, batch_size)


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
        kept_placeholders: kept untranslated: the translation lost, added or
            altered a placeholder.
        kept_empty: kept untranslated: the translation was empty.
        kept_unwritable: kept untranslated: the catalog's charset cannot
            encode the translation, or it holds a control character that
            polib cannot escape.
        partial_plurals: plural entries with some forms translated and others
            empty, kept as they were.
        memory_threshold: the similarity from which the memory was used, or
            None without a memory.
        placeholder_msgids: the msgids counted in `kept_placeholders`.
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
    kept_placeholders: int = 0
    kept_empty: int = 0
    kept_unwritable: int = 0
    partial_plurals: int = 0
    memory_threshold: float | None = None
    placeholder_msgids: list = dataclasses.field(default_factory=list)
    catalog: str | None = None
    out: str | None = None
    model: str | None = None
    filled_entries: list = dataclasses.field(default_factory=list, repr=False)

    @property
    def filled(self):
        """Messages filled, from the memory or the model."""
        return self.from_memory + self.from_model

    def as_dict(self):
        """The summary as a JSON-ready dict (`filled` included)."""
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)
                  if f.name != "filled_entries"}
        return {**fields, "placeholder_msgids": list(self.placeholder_msgids),
                "filled": self.filled}


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
    """The translation with the source's leading and trailing whitespace."""
    core = translation.strip()
    if not core:
        return ""
    lead = source[:len(source) - len(source.lstrip())]
    trail = source[len(source.rstrip()):]
    return lead + core + trail


def _problem(source, text, encoding):
    """Why `text` cannot be written as the translation of `source`, or None."""
    if not text:
        return "empty"
    if not same_placeholders(source, text):
        return "placeholders"
    # polib escapes only these control characters; any other would go into the
    # file raw (and no translation needs one).
    if any(unicodedata.category(c) == "Cc" and c not in "\t\n\r\v\b\f" for c in text):
        return "unwritable"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "unwritable"
    return None


def _mark(entry, comment):
    """Flags a filled entry fuzzy and records where its draft came from."""
    entry.fuzzy = True
    entry.tcomment = f"{entry.tcomment}\n{comment}" if entry.tcomment else comment


def fill_catalog(catalog, translate, *, model_label, memory=None, threshold=None):
    """Fills the untranslated messages of a parsed catalog, in place.

    The rules (fuzzy flag, comments, placeholders, whitespace, plurals) are
    the module docstring's.

    Args:
        catalog: a `polib.POFile`; its untranslated entries are changed.
        translate: `f(sentences) -> translations`, a list of strings in, a
            list of as many strings out (e.g. `ExportedModel.translate`, or
            a TF Serving client's `translate`). Called once, with each
            distinct message left to it (whitespace-normalised), or not at
            all when none is left.
        model_label: how the comment names the model, e.g.
            "translator/3 (serving_default)".
        memory: a `translate.memory.TranslationMemory`, or None.
        threshold: the similarity from which a memory match is used; needed
            with `memory`.

    Returns:
        A `FillSummary`.

    Raises:
        ValueError: `memory` without a `threshold`, or `translate` returned
            a different number of translations than it was given.
    """
    if memory is not None and threshold is None:
        raise ValueError("a translation memory needs a similarity threshold.")
    summary = FillSummary(memory_threshold=None if memory is None else float(threshold))
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
    from_memory = {}
    for entry, match in zip(singular, matches):
        if usable(entry.msgid, match, threshold):
            from_memory[id(entry)] = match

    sources = {}  # normalised message -> translation, in first-seen order
    for entry in todo:
        if id(entry) in from_memory:
            continue
        texts = _plural_sources(entry, forms) if entry.msgid_plural else [entry.msgid]
        for text in texts:
            sources.setdefault(normalize(text), None)
    queries = [text for text in sources if text]
    translations = list(translate(queries)) if queries else []
    if len(translations) != len(queries):
        raise ValueError(f"the model returned {len(translations)} translations for "
                         f"{len(queries)} messages.")
    sources.update(zip(queries, translations))

    for entry in todo:
        match = from_memory.get(id(entry))
        if match is not None:
            originals, drafts = [entry.msgid], [match.target]
            # Rounded down (the 1e-9 absorbs float error, 0.29 * 100 < 29): "1.00"
            # only for an exact match.
            similarity = (1.0 if match.similarity >= 1.0 else
                          min(math.floor(match.similarity * 100 + 1e-9), 99) / 100)
            comment = f"{COMMENT_PREFIX} memory, similarity {similarity:.2f}"
        else:
            originals = _plural_sources(entry, forms) if entry.msgid_plural else [entry.msgid]
            drafts = [sources[normalize(s)] or "" for s in originals]
            comment = f"{COMMENT_PREFIX} model {MODEL_NAME} {model_label}"
        texts = [_dress(s, d) for s, d in zip(originals, drafts)]
        problems = [p for p in (_problem(s, t, encoding) for s, t in zip(originals, texts))
                    if p]
        if problems:
            # The worst reason first: a placeholder problem is what a
            # translator most needs to hear about.
            reason = min(problems, key=["placeholders", "empty", "unwritable"].index)
            setattr(summary, f"kept_{reason}", getattr(summary, f"kept_{reason}") + 1)
            if reason == "placeholders":
                summary.placeholder_msgids.append(entry.msgid)
            continue
        if entry.msgid_plural:
            entry.msgstr_plural = dict(enumerate(texts))
            summary.plurals += 1
        else:
            entry.msgstr = texts[0]
        _mark(entry, comment)
        summary.filled_entries.append(entry)
        if match is not None:
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
            batch_size=64, signature=SERVING_SIGNATURE, progress=None):
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
        signature: "serving_default" (beam search) or "translate_greedy".
        progress: optional wrapper of the model's batch iterator.

    Returns:
        A `FillSummary` (with `catalog`, `out` and `model` set).

    Raises:
        FileNotFoundError: no such catalog, no export, or no memory corpus.
        translate.corpus.CorpusError: the catalog cannot be read or parsed,
            or the memory corpus is malformed.
        ValueError: a bad signature, batch size or threshold, or a threshold
            without a memory corpus.
        RuntimeError: see `write_filled`.
    """
    # Argument errors first, before minutes of loading and translating.
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if memory_threshold is not None and memory_corpus is None:
        raise ValueError("a memory threshold was given without a memory corpus.")
    catalog = read_catalog(catalog_path)
    model = ExportedModel(export_dir, signature)
    tm = threshold = None
    if memory_corpus is not None:
        tm = TranslationMemory.from_corpus(memory_corpus)
        threshold = (memory_threshold if memory_threshold is not None
                     else assist.dev_threshold(model, memory_corpus, tm=tm))

    def translate(sentences):
        return model.translate(sentences, batch_size, progress=progress)

    summary = fill_catalog(catalog, translate, model_label=model.label, memory=tm,
                           threshold=threshold)
    write_filled(catalog_path, catalog, summary.filled_entries, out)
    summary.catalog, summary.out, summary.model = str(catalog_path), str(out), model.label
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
