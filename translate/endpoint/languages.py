"""The language pair an endpoint translates, in LibreTranslate's terms.

LibreTranslate's `GET /languages` lists every language it knows, each with
the codes it translates into: `[{"code": "en", "name": "English",
"targets": ["de"]}, ...]`. A client such as Weblate takes the codes of that
list as the languages it may ask for, and asks only for a pair whose two
codes are both listed, so the target is listed too (with no targets of its
own: this model translates one way).

Codes are BCP 47 tags as Weblate sends them (`de`, `pt-BR`: Weblate turns
its `pt_BR` into `pt-BR` for LibreTranslate); a request's code matches
regardless of case and of `_` against `-`. Names are the English names of
the CLDR (Babel's `Locale.get_display_name`), or the code itself where the
CLDR has none.
"""

import dataclasses


def canonical(code):
    """A code as compared: lower case, `-` between subtags (`pt_BR` -> `pt-br`)."""
    return code.strip().replace("_", "-").lower()


def english_name(code):
    """The English name of a language code (`de` -> "German"), else the code."""
    from babel import Locale, UnknownLocaleError

    try:
        name = Locale.parse(code.replace("-", "_")).get_display_name("en")
    except (UnknownLocaleError, ValueError, TypeError):
        return code
    return name or code


@dataclasses.dataclass(frozen=True)
class LanguagePair:
    """The one direction a model translates.

    Args:
        source: the source language's code (e.g. "en").
        target: the target language's code (e.g. "de").

    Raises:
        ValueError: a code is empty, or both are the same language.
    """

    source: str
    target: str

    def __post_init__(self):
        for side in ("source", "target"):
            code = getattr(self, side)
            if not isinstance(code, str) or not code.strip():
                raise ValueError(f"the {side} language must be a language code such as "
                                 f"'en', got {code!r}.")
            object.__setattr__(self, side, code.strip())
        if canonical(self.source) == canonical(self.target):
            raise ValueError(f"source and target are the same language ({self.source!r}).")

    def languages(self):
        """The answer of `GET /languages`, LibreTranslate's shape."""
        return [{"code": self.source, "name": english_name(self.source),
                 "targets": [self.target]},
                {"code": self.target, "name": english_name(self.target), "targets": []}]

    def problem(self, source, target):
        """What is wrong with a request's `source` and `target`, or None.

        Args:
            source, target: the request's codes (strings).

        Returns:
            None when they are this pair, else a sentence saying which code
            is not supported and what is.
        """
        supported = f"this server translates {self.source} to {self.target} only"
        if canonical(source) == "auto":
            return f"source 'auto' is not supported: no language detection; {supported}"
        if canonical(source) != canonical(self.source):
            return f"{source} is not supported as the source language: {supported}"
        if canonical(target) != canonical(self.target):
            return f"{target} is not supported as the target language: {supported}"
        return None

    def __str__(self):
        return f"{self.source} -> {self.target}"
