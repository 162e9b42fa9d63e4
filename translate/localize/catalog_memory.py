"""The catalog's own translations as a memory, ahead of the corpus's.

A new release adds messages to a catalog that is mostly translated; its
translated entries, and those of the project's other catalogs or of the
previous release (`translate po --memory-po`), are the best evidence of how
this project says things. `CatalogMemory` holds the translated, non-fuzzy
entries of such catalogs, their message contexts included, and offers each
untranslated message, best first:

1. **Exact**: the same msgid (and msgid_plural) in the same context; then in
   another context, which the comment says (a context exists because the
   same English needs different translations, so it is worth a look).
2. **Near**: a msgid that differs only in case, whitespace, punctuation,
   numbers or placeholder names (`near_key` equal). The stored translation
   is repaired where that is safe, and the comment says what was:
   - placeholder names, by position (`%(user)s` -> `%(name)s`, `{0}` ->
     `{count}`): each stored placeholder must map to one new one, and the
     stored translation must hold exactly the stored message's placeholders;
   - numbers, by position, outside placeholders: each changed number must
     map to one new number and occur in the translation as often as in the
     stored message;
   - the final punctuation (`Name` -> `Name:`, `Saving.` -> `Saving...`):
     the stored message's final punctuation is replaced at the translation's
     end (or added to it), when the translation ends as the stored message
     did;
   - case: a message that now starts with a capital gets a capital at the
     translation's start; other case changes keep the translation as it is
     (German capitals are grammar, not style);
   - whitespace inside is the translator's; the ends are the message's
     (`translate.localize.suggestions.dress`, as for every suggestion).
   A difference that cannot be repaired so (punctuation inside the message,
   a number the translation does not hold) is no near match: the entry goes
   on to the fuzzy matches.
3. **Fuzzy**: the most similar stored message by the corpus memory's
   character n-gram similarity (`translate.memory.TranslationMemory`), used
   above the same threshold as the corpus memory, singular messages only.

Every offer still passes the checks of every suggestion, and is filled as
fuzzy, like any other.
"""

import dataclasses
import re
import unicodedata
from pathlib import Path

from translate.corpus import normalize
from translate.localize.catalogs import entry_state, nplurals, read_catalog
from translate.memory import TranslationMemory, floor_similarity, usable
from translate.placeholders import PLACEHOLDER_PATTERN, find_placeholders

_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)*")
_SPACE = re.compile(r"\s+")
# Placeholders and numbers stand for one token each in a near key.
_PLACEHOLDER_TOKEN, _NUMBER_TOKEN = "\x01", "\x02"


@dataclasses.dataclass(frozen=True)
class StoredEntry:
    """A translated entry of a memory catalog.

    Attributes:
        context: its msgctxt, or None.
        source: its msgid.
        plural: its msgid_plural, or None.
        targets: its msgstr, or its msgstr[0..n-1] for a plural entry.
        where: `<catalog file name>:<line>`, for the origin comment.
    """

    context: str | None
    source: str
    plural: str | None
    targets: tuple
    where: str


@dataclasses.dataclass(frozen=True)
class Offer:
    """A stored translation offered for a message.

    Attributes:
        targets: the (repaired) translation, or one per plural form.
        kind: "exact", "near" or "fuzzy".
        note: what the origin comment says after "catalog memory", e.g.
            "exact match (de.po:12)" or "near match, numbers repaired (de.po:40)".
        similarity: the stored message's similarity (1.0 for exact and near).
    """

    targets: tuple
    kind: str
    note: str
    similarity: float = 1.0


def _is_punctuation(char):
    return unicodedata.category(char).startswith("P")


def _strip_punctuation(text):
    return "".join(c for c in text if not _is_punctuation(c))


def near_key(text):
    """What two messages that differ only in case, whitespace, punctuation,
    numbers or placeholder names share; None when nothing but those is left
    (a message of only numbers or placeholders has no near matches)."""
    text = PLACEHOLDER_PATTERN.sub(lambda m: _PLACEHOLDER_TOKEN if m.group() not in ("{{", "}}")
                                   else m.group(), text)
    text = _NUMBER.sub(_NUMBER_TOKEN, text)
    key = _SPACE.sub("", _strip_punctuation(text)).casefold()
    return key if any(c.isalpha() for c in key) else None


def _final_punctuation(text):
    """The run of punctuation a message ends with (before its end whitespace)."""
    core = text.rstrip()
    end = len(core)
    while end and _is_punctuation(core[end - 1]) and not _in_placeholder(core, end - 1):
        end -= 1
    return core[end:]


def _in_placeholder(text, index):
    return any(m.start() <= index < m.end() for m in PLACEHOLDER_PATTERN.finditer(text))


def _mapping(old, new):
    """The position-wise map of two equally long lists, or None when one old
    item would map to two new ones (or two old ones to one new one)."""
    pairs = dict()
    for a, b in zip(old, new):
        if pairs.setdefault(a, b) != b:
            return None
    if len(set(pairs.values())) != len(pairs):
        return None
    return {a: b for a, b in pairs.items() if a != b}


def _replace(pattern, text, mapping, skip=None):
    """`text` with each match of `pattern` that `mapping` names replaced,
    all at once (so `1 -> 2, 2 -> 1` swaps)."""
    def sub(match):
        if skip is not None and skip(match.start()):
            return match.group()
        return mapping.get(match.group(), match.group())
    return pattern.sub(sub, text)


def _numbers(text):
    """The numbers of a message outside its placeholders, in order."""
    return [m.group() for m in _NUMBER.finditer(text) if not _in_placeholder(text, m.start())]


def repair(old_source, new_source, translation):
    """The translation of `old_source` made the translation of `new_source`.

    For two messages with the same `near_key`; the module docstring says
    which differences are repaired and how.

    Args:
        old_source: the stored message.
        new_source: the message to translate.
        translation: the stored translation of `old_source`.

    Returns:
        `(text, repaired)`: the repaired translation and the names of what
        was repaired ("placeholder names", "numbers", "punctuation",
        "case"), or None when a difference cannot be repaired safely.
    """
    repaired = []
    text = translation
    old_ph, new_ph = find_placeholders(old_source), find_placeholders(new_source)
    if sorted(find_placeholders(text)) != sorted(old_ph) or len(old_ph) != len(new_ph):
        return None
    mapping = _mapping(old_ph, new_ph)
    if mapping is None:
        return None
    if mapping:
        text = _replace(PLACEHOLDER_PATTERN, text, mapping)
        repaired.append("placeholder names")
    old_numbers, new_numbers = _numbers(old_source), _numbers(new_source)
    if len(old_numbers) != len(new_numbers):
        return None
    mapping = _mapping(old_numbers, new_numbers)
    if mapping is None:
        return None
    if mapping:
        found = _numbers(text)
        if any(found.count(n) != old_numbers.count(n) for n in mapping):
            return None
        text = _replace(_NUMBER, text, mapping, skip=lambda i: _in_placeholder(text, i))
        repaired.append("numbers")
    old_end, new_end = _final_punctuation(old_source), _final_punctuation(new_source)
    if _punctuation_inside(old_source, old_end) != _punctuation_inside(new_source, new_end):
        return None
    if old_end != new_end:
        core = text.rstrip()
        if old_end and not core.endswith(old_end):
            return None
        core = core[:len(core) - len(old_end)] if old_end else core
        text = core + new_end + text[len(text.rstrip()):]
        repaired.append("punctuation")
    old_first, new_first = _first_letter(old_source), _first_letter(new_source)
    if old_first is not None and new_first is not None and old_first.islower() \
            and new_first.isupper():
        at = next((i for i, c in enumerate(text) if c.isalpha()), None)
        if at is not None and text[at].islower():
            text = text[:at] + text[at].upper() + text[at + 1:]
            repaired.append("case")
    return text, repaired


def _punctuation_inside(text, end):
    """The punctuation of a message before its final run, outside placeholders."""
    core = text.rstrip()
    core = core[:len(core) - len(end)]
    return [c for i, c in enumerate(core) if _is_punctuation(c) and not _in_placeholder(core, i)]


def _first_letter(text):
    outside = PLACEHOLDER_PATTERN.sub(" ", text)
    return next((c for c in outside if c.isalpha()), None)


class CatalogMemory:
    """The translated entries of catalogs, offered for a catalog's untranslated ones.

    Args:
        entries: `StoredEntry`s, best source first (the catalog being
            filled, then the others in the order given): on a tie, the
            first wins.

    Attributes:
        entries: as given.
    """

    def __init__(self, entries):
        self.entries = list(entries)
        self._exact = {}
        self._near = {}
        for stored in self.entries:
            self._exact.setdefault((stored.source, stored.plural), []).append(stored)
            if stored.plural is None:
                key = near_key(stored.source)
                if key is not None:
                    self._near.setdefault(key, []).append(stored)
        singular = [s for s in self.entries if s.plural is None]
        self._fuzzy = None
        if singular:
            try:
                self._fuzzy = TranslationMemory([normalize(s.source) for s in singular],
                                                [s.targets[0] for s in singular])
            except ValueError:  # no n-gram in any source (all blank)
                self._fuzzy = None

    @classmethod
    def from_catalogs(cls, catalog, others=(), catalog_name="this catalog", own=True):
        """The memory of a parsed catalog's translated entries and other catalogs'.

        Args:
            catalog: the `polib.POFile` being filled.
            others: paths of other .po catalogs (the project's other
                domains, a previous release).
            catalog_name: how comments name `catalog`.
            own: whether `catalog`'s own translated entries are in it (False:
                only the others'; `catalog` still gives the language and
                the number of plural forms).

        Returns:
            A `CatalogMemory`.

        Raises:
            FileNotFoundError, translate.corpus.CorpusError: an other catalog
                cannot be read (named with the line).
            ValueError: an other catalog declares another language than
                `catalog`. (One with another number of plural forms gives
                its singular entries only.)
        """
        language = _language(catalog)
        entries = list(_stored(catalog, catalog_name, nplurals(catalog))) if own else []
        for path in others:
            other = read_catalog(path)
            if language and _language(other) and _language(other) != language:
                raise ValueError(f"{path} is a catalog for {other.metadata.get('Language')!r}, "
                                 f"not {catalog.metadata.get('Language')!r}: it cannot be a "
                                 f"translation memory of this catalog.")
            # Plural entries only where the forms are the same.
            forms = nplurals(catalog) if nplurals(other) == nplurals(catalog) else None
            entries += _stored(other, Path(path).name, forms)
        return cls(entries)

    def __len__(self):
        return len(self.entries)

    def offers(self, context, source, plural=None, threshold=None):
        """What the memory offers for a message, best first.

        Args:
            context: the message's msgctxt, or None.
            source: its msgid.
            plural: its msgid_plural, or None.
            threshold: the similarity from which a fuzzy match is offered,
                or None for exact and near matches only.

        Returns:
            A list of `Offer`: the exact matches (this context first), the
            near matches (this context first), then the fuzzy match.
        """
        exact = sorted(self._exact.get((source, plural), []),
                       key=lambda s: s.context != context)
        offers = [Offer(s.targets, "exact",
                        f"exact match{_context_note(s, context)} ({s.where})") for s in exact]
        if plural is not None:
            return offers
        key = near_key(source)
        for stored in sorted(self._near.get(key, []) if key else [],
                             key=lambda s: s.context != context):
            if stored.source == source:
                continue
            fixed = repair(stored.source, source, stored.targets[0])
            if fixed is None:
                continue
            text, repaired = fixed
            done = f", {' and '.join(repaired)} repaired" if repaired else ""
            offers.append(Offer((text,), "near", f"near match{done}"
                                f"{_context_note(stored, context)} ({stored.where})"))
        if threshold is not None and self._fuzzy is not None:
            match = self._fuzzy.lookup([normalize(source)])[0]
            if match.similarity < 1.0 and usable(source, match, threshold):
                offers.append(Offer((match.target,), "fuzzy",
                                    f"similarity {floor_similarity(match.similarity):.2f}",
                                    match.similarity))
        return offers


def _context_note(stored, context):
    if stored.context == context:
        return ""
    return (f", other context {stored.context!r}" if stored.context is not None
            else ", no context")


def _language(catalog):
    """The primary language subtag of a catalog's `Language` ("de" of "de_DE"), or None."""
    language = (catalog.metadata.get("Language") or "").strip()
    return re.split(r"[-_@.]", language)[0].lower() or None


def _stored(catalog, name, forms):
    """A catalog's translated, non-fuzzy, non-obsolete entries as `StoredEntry`s
    (plural ones only when `forms` is their number of forms)."""
    for entry in catalog:
        if entry.obsolete or not entry.msgid or entry_state(entry) != "translated":
            continue
        if entry.msgid_plural:
            if forms is None or len(entry.msgstr_plural) != forms:
                continue
            targets = tuple(entry.msgstr_plural[i] for i in sorted(entry.msgstr_plural))
        else:
            targets = (entry.msgstr,)
        yield StoredEntry(entry.msgctxt, entry.msgid, entry.msgid_plural or None, targets,
                          f"{name}:{entry.linenum}")
