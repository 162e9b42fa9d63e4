"""A glossary's terms: matching them in messages, and checking translations.

Matching (the same in the Python path and the exported graph, see
`translate.masking`): a source term matches as a whole word (an ASCII word
boundary where the term starts or ends with a letter, digit or `_`),
case-insensitively, also with a plural `-s` (`page` matches `Pages`). Longer
terms are tried first, so `web page` wins over `page`. A term inside a
protected span (a placeholder, tag, URL, ...) is not a term: the span
pattern is tried first at each position (`translate.spans.mask`).

A translation follows a term when it contains the term's target,
case-insensitively (German compounds may contain it: `Startseite` has
`Seite`); the target is what term masking writes, as given.
"""

import re

from translate import spans as spans_lib
from translate.glossary.files import read_file, unique

_WORD = re.compile("[A-Za-z0-9_]")
META_PATTERN = r"([\\.^$|?*+()\[\]{}])"
"""The characters a term's regular expression escapes (the graph uses this too)."""
_META = re.compile(META_PATTERN)


def escape(term):
    """`term` as a literal in a regular expression, for `re` and RE2 alike."""
    return _META.sub(r"\\\1", term)


def term_source(term, boundary):
    """The regular expression of one term: whole word, optional plural -s.

    Args:
        term: the source term.
        boundary: how a word boundary is spelled: `\\b` for RE2, `(?a:\\b)`
            for Python (whose `\\b` is Unicode-aware; RE2's is ASCII).
    """
    starts, ends = bool(_WORD.match(term[:1])), bool(_WORD.match(term[-1:]))
    return ((boundary if starts else "") + escape(term)
            + ("(?:s)?" + boundary if ends else ""))


def ordered(entries):
    """Longest source first (stable), the order terms are tried in."""
    return sorted(entries, key=lambda entry: -len(entry.source))


def missed_targets(masked, translation):
    """The term targets of a masked source (`Masked.terms`) a translation lacks.

    The check the export makes in its graph (`translate.masking.terms_followed`),
    on the terms masking found: case-insensitive containment.
    """
    text = translation.lower()
    return [masked.targets[i] for i in masked.terms if masked.targets[i].lower() not in text]


class Glossary:
    """A project's terminology: source term -> the target every translation uses.

    Args:
        entries: `translate.glossary.files.Entry`s (repeats dropped,
            conflicts raise `GlossaryError`).
        skipped: entries a reader skipped, `(source, where, why)`.

    Attributes:
        entries: the terms, longest source first.
        skipped: as given.
    """

    def __init__(self, entries, skipped=()):
        self.entries = tuple(ordered(unique(entries)))
        self.skipped = tuple(skipped)
        self._targets = {}
        for entry in self.entries:
            self._targets.setdefault(entry.source.lower(), entry)
        if self.entries:
            terms = "|".join(term_source(e.source, "(?a:\\b)") for e in self.entries)
            self.python_pattern = f"(?i:{terms})"
        else:
            self.python_pattern = None
        self._pattern = re.compile(spans_lib.SPAN_PATTERN_SOURCE
                                   + ("|" + self.python_pattern if self.entries else ""))

    @classmethod
    def read(cls, paths, target_language=None):
        """Reads and merges glossary files (see `translate.glossary.files`).

        Args:
            paths: a path or a list of paths.
            target_language: for TBX files, the target language set.

        Raises:
            FileNotFoundError, GlossaryError: see `read_file`; conflicts
            across files are reported too.
        """
        paths = [paths] if isinstance(paths, (str, bytes)) or hasattr(paths, "suffix") else paths
        entries, skipped = [], []
        for path in paths:
            found = read_file(path, target_language)
            entries += found.entries
            skipped += found.skipped
        return cls(entries, skipped)

    def __len__(self):
        return len(self.entries)

    @property
    def sources(self):
        return [entry.source for entry in self.entries]

    @property
    def targets(self):
        return [entry.target for entry in self.entries]

    def entry(self, matched):
        """The entry a matched text is the term of (`Pages` -> page's entry)."""
        key = matched.lower()
        found = self._targets.get(key)
        if found is None and key.endswith("s"):
            found = self._targets.get(key[:-1])
        return found

    def target(self, matched):
        """What term masking writes for a matched text: its entry's target."""
        return self.entry(matched).target

    def is_term(self, matched):
        """Whether a match of `pattern` is a term (not a protected span)."""
        return spans_lib.SPAN_PATTERN.fullmatch(matched) is None

    @property
    def pattern(self):
        """Spans and terms in one compiled expression (spans tried first)."""
        return self._pattern

    def find(self, text):
        """The entries whose term occurs in `text` outside protected spans, in order, once each."""
        if not self.entries:
            return []
        _, core, _ = spans_lib.split_ends(text)
        found = []
        for match in self._pattern.finditer(core):
            if self.is_term(match.group()):
                entry = self.entry(match.group())
                if entry not in found:
                    found.append(entry)
        return found

    def missed(self, source, translation):
        """The entries of `source` whose target `translation` lacks.

        Args:
            source: the message.
            translation: a translation of it (its format is not looked at).

        Returns:
            A list of entries, empty when every term is followed.
        """
        text = translation.lower()
        return [entry for entry in self.find(source) if entry.target.lower() not in text]
