"""What filling a catalog did: `FillSummary`, counted per source and per check."""

import dataclasses

from translate import accelerators
from translate.localize.suggestions import PROBLEMS


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
        from_memory: filled with the corpus memory's match.
        from_catalog: filled from the catalog memory (this catalog's and the
            other catalogs' translated entries): `catalog_exact` +
            `catalog_near` + `catalog_fuzzy`.
        catalog_exact: ... with the translation of the same message (in this
            context, or another).
        catalog_near: ... with the repaired translation of a message that
            differs only in case, whitespace, punctuation, numbers or
            placeholder names.
        catalog_fuzzy: ... with the translation of a similar message, above
            the threshold.
        catalog_rejected: catalog memory offers not used, since they failed
            a check.
        catalog_memory: the translated entries in the catalog memory, or
            None without one.
        from_model: filled with the model's translation (plural entries
            included).
        plurals: plural entries filled (from the catalog memory or the model).
        fallbacks: entries filled with a hypothesis after the model's first
            (counted in `from_model`).
        by_segments: entries filled with their segments' translations
            joined (`translate.localize.segments`: first where a message
            has two segments or more, else when no hypothesis of the whole
            passed; counted in `from_model`).
        memory_rejected: usable corpus memory matches not used, since they
            failed a check.
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
            polib cannot escape, or a broken character (U+FFFD, which the
            message lacks: byte pieces that stop short of a character).
        kept_failed_checks: kept untranslated: the best hypothesis failed
            only Translate Toolkit's checks.
        kept_checks: for each toolkit check, the entries kept untranslated
            whose best hypothesis failed it (an entry can count under
            several checks, and under one of the `kept_*` above too).
        partial_plurals: plural entries with some forms translated and others
            empty, kept as they were.
        memory_threshold: the similarity from which a fuzzy match was used,
            or None without one.
        threshold_cached: whether `memory_threshold` came from the user
            cache (True), was chosen on the memory corpus's dev split now
            (False), or was given or not needed (None).
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
    from_catalog: int = 0
    catalog_exact: int = 0
    catalog_near: int = 0
    catalog_fuzzy: int = 0
    catalog_rejected: int = 0
    catalog_memory: int | None = None
    from_model: int = 0
    plurals: int = 0
    fallbacks: int = 0
    by_segments: int = 0
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
    threshold_cached: bool | None = None
    checks: list | None = None
    placeholder_msgids: list = dataclasses.field(default_factory=list)
    check_msgids: list = dataclasses.field(default_factory=list)
    catalog: str | None = None
    out: str | None = None
    model: str | None = None
    filled_entries: list = dataclasses.field(default_factory=list, repr=False)

    @property
    def filled(self):
        """Messages filled, from a memory or the model."""
        return self.from_memory + self.from_catalog + self.from_model

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


def count_kept(summary, entry, forms):
    """Counts an entry none of whose suggestions passed, under its best one's problems."""
    failing = [f for f in forms if f.pick is None]
    # Under the whole message's first hypothesis (a candidate joined from
    # segments comes before it).
    verdicts = [f.verdicts[1 if f.segments and len(f.verdicts) > 1 else 0]
                if f.verdicts else None for f in failing]
    problems = [v[0] or "failed_checks" if v else "empty" for v in verdicts]
    reason = min(problems, key=PROBLEMS.index)
    setattr(summary, f"kept_{reason}", getattr(summary, f"kept_{reason}") + 1)
    if reason == "placeholders":
        summary.placeholder_msgids.append(entry.msgid)
    elif reason == "failed_checks":
        summary.check_msgids.append(entry.msgid)
    for check in {name for v in verdicts if v for name in v[1]}:
        summary.kept_checks[check] = summary.kept_checks.get(check, 0) + 1


def count_terms(summary, glossary, entry, forms, accelerator):
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
