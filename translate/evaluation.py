"""Scoring translations: sacrebleu BLEU and chrF, and placeholder accuracy.

`score` computes corpus-level BLEU and chrF with sacrebleu's metric objects
(`sacrebleu.metrics.BLEU()` and `CHRF()`, default settings: BLEU with the
13a tokenizer and exponential smoothing, chrF with character 6-grams and
beta 2) and returns the numbers with each metric's signature, the string
that makes a reported score reproducible
(`nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0`).

`placeholder_accuracy` asks the question that matters most for software
messages: of the sources that have placeholders (`%s`, `{0}`, `$HOME`, ...;
the pattern is `translate.placeholders`), how many translations carry all of
them over exactly, as a multiset (order free, counts exact).

`check_rates` counts the failures of Translate Toolkit's checks (those
`pofilter` runs, `translate.checks`) per 100 sentences: of a system's
translations, and, to compare, of the human references of the same
sentences, which fail some too.

`read_tsv_pairs` reads a corpus split (`dev.tsv`, `test.tsv`) into the two
lists these functions take.
"""

import sacrebleu

from translate.corpus import read_tsv
from translate.placeholders import find_placeholders, same_placeholders


def check_texts(values, name):
    """Returns a sequence of strings as a list, or raises an error naming it.

    Args:
        values: the sequence to check.
        name: what to call it in an error message, e.g. "hypotheses".

    Returns:
        `values` as a list.

    Raises:
        TypeError: `values` is a single string (a common slip), or an
            element is not a string (its index is named).
    """
    if isinstance(values, str):
        raise TypeError(f"{name} must be a sequence of strings, not one string.")
    values = list(values)
    for i, value in enumerate(values):
        if not isinstance(value, str):
            raise TypeError(f"{name}[{i}] must be a str, got {type(value).__name__}.")
    return values


def check_parallel(first, second, first_name, second_name):
    """Checks that two sequences of strings are non-empty and of one length.

    Args:
        first, second: sequences of strings (e.g. hypotheses and references).
        first_name, second_name: their names, for the error messages.

    Returns:
        `(first, second)` as lists.

    Raises:
        TypeError: a sequence is a single string, or holds a non-string.
        ValueError: the lengths differ (the message names both sizes), or
            both are empty.
    """
    first = check_texts(first, first_name)
    second = check_texts(second, second_name)
    if len(first) != len(second):
        raise ValueError(f"{first_name} and {second_name} differ in length: "
                         f"{len(first)} {first_name}, {len(second)} {second_name}.")
    if not first:
        raise ValueError(f"{first_name} and {second_name} are empty: nothing to score.")
    return first, second


def score(hypotheses, references):
    """Corpus-level BLEU and chrF of translations against one reference each.

    Args:
        hypotheses: the system's translations, a sequence of strings.
        references: the reference translations, in the same order.

    Returns:
        A dict: `bleu` and `chrf` (floats, 0-100), `bleu_signature` and
        `chrf_signature` (sacrebleu's signature strings), `sentences` (the
        number of pairs scored).

    Raises:
        TypeError: an argument is a single string or holds a non-string.
        ValueError: the lengths differ or there is nothing to score.
    """
    hypotheses, references = check_parallel(hypotheses, references,
                                            "hypotheses", "references")
    bleu = sacrebleu.metrics.BLEU()
    chrf = sacrebleu.metrics.CHRF()
    return {
        "bleu": bleu.corpus_score(hypotheses, [references]).score,
        "chrf": chrf.corpus_score(hypotheses, [references]).score,
        "bleu_signature": str(bleu.get_signature()),
        "chrf_signature": str(chrf.get_signature()),
        "sentences": len(hypotheses),
    }


def chrf(hypotheses, references):
    """Corpus-level chrF alone (sacrebleu's `CHRF()` defaults).

    Args:
        hypotheses: the system's translations, a sequence of strings.
        references: the reference translations, in the same order.

    Returns:
        The chrF score, a float from 0 to 100.

    Raises:
        TypeError: an argument is a single string or holds a non-string.
        ValueError: the lengths differ or there is nothing to score.
    """
    hypotheses, references = check_parallel(hypotheses, references,
                                            "hypotheses", "references")
    return sacrebleu.metrics.CHRF().corpus_score(hypotheses, [references]).score


SIMILARITY_BANDS = ((0.0, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0))
"""Fuzzy bands of memory match similarity, each `[low, high)`; the last
includes 1.0 (exact matches)."""


def band_scores(similarities, references, systems):
    """BLEU and chrF of several systems per band of memory match similarity.

    Args:
        similarities: each sentence's memory match similarity (0 to 1).
        references: the reference translations.
        systems: `{name: translations}`, each in the order of `references`.

    Returns:
        A list, one dict per band of `SIMILARITY_BANDS` with sentences:
        `band` ("0.50-0.70"), `sentences`, and per system name `{"bleu",
        "chrf"}`.
    """
    rows = []
    for low, high in SIMILARITY_BANDS:
        inside = [i for i, s in enumerate(similarities)
                  if low <= s < high or (high == SIMILARITY_BANDS[-1][1] and s == high)]
        if not inside:
            continue
        row = {"band": f"{low:.2f}-{high:.2f}", "sentences": len(inside)}
        for name, outputs in systems.items():
            scores = score([outputs[i] for i in inside], [references[i] for i in inside])
            row[name] = {"bleu": scores["bleu"], "chrf": scores["chrf"]}
        rows.append(row)
    return rows


def placeholder_accuracy(sources, hypotheses):
    """The share of sources with placeholders whose translation keeps them all.

    A translation keeps its source's placeholders when both hold the same
    multiset (`translate.placeholders.same_placeholders`). Sources without
    placeholders are not counted either way (a translation that invents one
    is not caught here: chrF and BLEU see it).

    Args:
        sources: the source sentences, a sequence of strings.
        hypotheses: their translations, in the same order.

    Returns:
        A dict: `accuracy` (`reproduced / with_placeholders`, a float from 0
        to 1, or None when no source has a placeholder), `with_placeholders`
        (sources that have at least one), `reproduced` (of those, the
        translations with exactly the same ones), `sentences` (all pairs).

    Raises:
        TypeError: an argument is a single string or holds a non-string.
        ValueError: the lengths differ or both are empty.
    """
    sources, hypotheses = check_parallel(sources, hypotheses, "sources", "hypotheses")
    with_placeholders = reproduced = 0
    for source, hypothesis in zip(sources, hypotheses):
        if find_placeholders(source):
            with_placeholders += 1
            reproduced += same_placeholders(source, hypothesis)
    return {
        "accuracy": reproduced / with_placeholders if with_placeholders else None,
        "with_placeholders": with_placeholders,
        "reproduced": reproduced,
        "sentences": len(sources),
    }


def check_rates(checker, sources, translations):
    """How often translations fail each of a checker's checks.

    Args:
        checker: a `translate.checks.Checker` (anything with `checks` and
            `failures(pairs)`).
        sources: the source sentences, a sequence of strings.
        translations: their translations (hypotheses or references), in the
            same order.

    Returns:
        A dict: `sentences`; `counts` (for every check of `checker`, the
        translations failing it) and `per_100` (the same per 100
        sentences); `failing` and `failing_per_100`, the translations
        failing at least one check.

    Raises:
        TypeError: an argument is a single string or holds a non-string.
        ValueError: the lengths differ or both are empty.
        translate.toolkit.ToolkitMissing, translate.checks.CheckerError:
            from the checker.
    """
    sources, translations = check_parallel(sources, translations, "sources", "translations")
    failures = checker.failures(list(zip(sources, translations)))
    counts = {name: sum(name in failed for failed in failures) for name in checker.checks}
    failing = sum(bool(failed) for failed in failures)
    return {
        "sentences": len(sources),
        "counts": counts,
        "per_100": {name: 100 * n / len(sources) for name, n in counts.items()},
        "failing": failing,
        "failing_per_100": 100 * failing / len(sources),
    }


def term_rates(glossary, sources, translations):
    """How often translations use the glossary's terms where their source has one.

    Args:
        glossary: a `translate.glossary.Glossary` (anything with `find` and
            `missed`).
        sources, translations: as for `check_rates`.

    Returns:
        A dict: `with_terms` (sentences whose source has a term), `following`
        (of those, translations with every term's target), `rate`
        (`following / with_terms`, None when no source has a term) and
        `missed` (per source term, the translations lacking it).
    """
    sources, translations = check_parallel(sources, translations, "sources", "translations")
    with_terms = following = 0
    missed = {}
    for source, translation in zip(sources, translations):
        if not glossary.find(source):
            continue
        with_terms += 1
        lacking = glossary.missed(source, translation)
        following += not lacking
        for entry in lacking:
            missed[entry.source] = missed.get(entry.source, 0) + 1
    return {"with_terms": with_terms, "following": following,
            "rate": following / with_terms if with_terms else None,
            "missed": dict(sorted(missed.items(), key=lambda item: -item[1]))}


def read_tsv_pairs(path):
    """Reads a `source<TAB>target` file into two aligned lists.

    Args:
        path: a TSV file, e.g. a corpus directory's `test.tsv`.

    Returns:
        `(sources, references)`, two lists of strings of the same length.

    Raises:
        OSError: the file cannot be opened (FileNotFoundError if missing).
        translate.corpus.CorpusError: a malformed line (named by number).
    """
    sources, references = [], []
    for pair in read_tsv(path):
        sources.append(pair.source)
        references.append(pair.target)
    return sources, references

