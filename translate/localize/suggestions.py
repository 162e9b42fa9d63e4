"""Judging suggestions: the rules every memory match and model hypothesis must pass.

A `Form` is one text to write (a message, or one plural form) with its
candidates, best first; `judge` gives each candidate its verdict: this
package's own rules (`problem`: not empty, the message's placeholders, the
export's `format_ok`, writable in the catalog's charset, no broken
character), Translate Toolkit's checks (`translate.checks`, those `pofilter`
runs), GNU gettext's `msgfmt --check-format` for an entry with a format flag
(`translate.msgfmt`) and, with a glossary, the terms each candidate misses. `Form.pick` is the
first candidate that passes (and has every term, where one does).
"""

import dataclasses
import unicodedata

from translate import accelerators, msgfmt
from translate.placeholders import same_placeholders


def dress(source, translation):
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
PROBLEMS = ("placeholders", "format", "msgfmt", "empty", "unwritable", "failed_checks")

REPLACEMENT = "\ufffd"


def problem(source, text, encoding, format_ok=None):
    """Why `text` cannot be written as the translation of `source` by this
    module's own rules (one of `PROBLEMS` but the toolkit's), or None."""
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
    # U+FFFD is what decoding writes for byte pieces that stop short of a
    # character (a model's "..." cut off): a broken text, not a translation.
    if REPLACEMENT in text and REPLACEMENT not in source:
        return "unwritable"
    try:
        text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return "unwritable"
    return None


@dataclasses.dataclass
class Form:
    """One text to write (a message, or one plural form) and its suggestions.

    `candidates` are `(text, format_ok)`, best first; `judge` fills
    `verdicts`: for each candidate, its `problem` and its toolkit failures.
    `segments` is how many segments the first candidate was translated in
    (`translate.localize.segments`), or 0 when every candidate is a
    hypothesis of the whole message.
    """

    source: str
    candidates: list
    verdicts: list = None
    missed: list = None
    flags: tuple = ()
    segments: int = 0

    @property
    def pick(self):
        """The index of the first candidate that passes and has every glossary
        term, else of the first that passes, or None."""
        passing = [i for i, (problem, failed) in enumerate(self.verdicts)
                   if problem is None and not failed]
        following = [i for i in passing if not (self.missed and self.missed[i])]
        return (following or passing or [None])[0]

    @property
    def by_segments(self):
        """Whether the pick is the candidate joined from segments."""
        return bool(self.segments) and self.pick == 0

    @property
    def hypothesis(self):
        """The pick's index among the whole message's hypotheses (0: the
        model's first), or None when there is no pick or it is joined from
        segments."""
        if self.pick is None or self.by_segments:
            return None
        return self.pick - (1 if self.segments else 0)

    @property
    def missed_terms(self):
        """The glossary entries the picked candidate lacks."""
        return list(self.missed[self.pick]) if self.missed and self.pick is not None else []


def judge(forms, encoding, checker, glossary=None, accelerator=None):
    """Sets each form's `verdicts` (the toolkit checks every pair in one call)
    and, with a glossary, the terms each candidate misses."""
    pairs = [(f.source, text) for f in forms for text, _ in f.candidates if text]
    found = iter(checker.failures(pairs) if checker is not None and pairs else ())
    for form in forms:
        form.verdicts = [(problem(form.source, text, encoding, ok),
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


def hypothesis_lists(results, count):
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
