"""Glossaries: a project's terms, read from CSV, TBX or .po, matched and checked.

`Glossary.read(path)` loads one; `translate.spans.mask(text, terms=glossary)`
masks its terms (each becomes a sentinel the target term replaces); the
glossary check (`Glossary.missed`) tells which terms a translation lacks.
"""

from translate.glossary.files import Entry, GlossaryError, read_file
from translate.glossary.terms import Glossary

__all__ = ["Entry", "Glossary", "GlossaryError", "read_file"]
