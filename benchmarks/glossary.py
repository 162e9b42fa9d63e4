"""Glossaries on other projects' catalogs: are the project's terms used?

    python benchmarks/glossary.py --model runs/demo/export/translator \\
        --heldout runs/heldout/apps [--json runs/glossary/apps.json]
    python benchmarks/glossary.py --model EXPORT --tsv runs/demo/corpus/dev.tsv \\
        --terms-from runs/demo/corpus/train.tsv      # the choice: Debian's own data

Each catalog (or the TSV) gets a glossary of the terms its human translators
use consistently (`build_glossary`: an English word in at least `--min-count`
messages whose German word is in at least 90% of their human translations,
and at least half of the translations with that German word have the
English word). The glossary files a project keeps are of this kind: the
words its translators agreed on. Then, on the messages that have a term,
three systems side by side, all through the export loaded as TF Serving
loads it:

- `none`: `serving_default`, today's translation (no glossary);
- `check`: `translate_n_best` and the glossary check alone: the first
  hypothesis that keeps every span and has every term, else the first that
  keeps every span (what `translate po --glossary` does with an export that
  has no glossary signature);
- `glossary`: `translate_glossary`, what `translate po --glossary` uses: the
  check first; a message none of whose hypotheses has its terms takes those
  of its form with each term masked like a span and written as its target
  (both forms searched in one batch).

For each: the share of those messages whose translation has every term's
target (case-insensitively, as the glossary check reads it), chrF against
the human translations of the same messages, and batch-1 latency (p50 over
the same messages, the signatures interleaved; the CPU is printed).

Held-out catalogs are for measuring only. How the glossary signature works
was chosen on Debian's own dev split (`--tsv runs/demo/corpus/dev.tsv
--terms-from runs/demo/corpus/train.tsv`: 551 terms, 513 dev messages with
one; the masking demo export of 2026-12-02, 1,399 steps), where four ways
were measured (terms followed / chrF on those messages): no glossary 80.3% /
52.3; the check alone 85.0% / 52.8; every term masked 98.6% / 47.8 (a masked
term is not inflected or compounded: "Pakete" becomes "Paket", "Metainfo-Datei"
"Metainfo Datei"); the check, then masking where it fails, 98.8% / 52.9. The
last is the glossary signature.
"""

import argparse
import collections
import json
import platform
import re
import statistics
import sys
import time
from pathlib import Path

import polib

from translate import evaluation, spans
from translate.atomic import atomic_file
from translate.corpus import read_tsv
from translate.glossary import Entry, Glossary
from translate.inference import choose

STOPWORDS = set("""
about above after again against also another because been before being below between both
cannot could does doing down during each even every from further have having here into itself
just more most must never next only other over please same should since some such than that
their them then there these they this those through under until upon used uses using very
want were what when where which while will with within without would your yours
""".split())

_ENGLISH = re.compile(r"[A-Za-z][a-z]{3,}")
_GERMAN = re.compile(r"[A-Za-zÄÖÜäöüß]{3,}")


def words(text, pattern):
    """The words of a message outside its protected spans."""
    return pattern.findall(re.sub(spans.SENTINEL_PATTERN, " ", spans.mask(text).text))


def build_glossary(pairs, min_count=5, consistency=0.9, precision=0.5):
    """The terms that the human translations of `pairs` use consistently.

    An English word (plural `-s` merged into its singular) of at least
    `min_count` messages is a term when a German noun (capitalised as the
    translations most often write it inside a sentence) is in at least `consistency` of their
    translations, read as the glossary check reads them (contained,
    case-insensitively: `Seite` is in `Seitenbaum`), and at least `precision`
    of the translations containing it have the English word. A German word
    serves one term: the English word it is most precise for.

    Args:
        pairs: `(source, translation)` pairs of one project.
        min_count, consistency, precision: as above.

    Returns:
        A `Glossary`.
    """
    english = collections.defaultdict(set)
    cases = collections.defaultdict(collections.Counter)
    lowered = [target.lower() for _, target in pairs]
    for i, (source, target) in enumerate(pairs):
        for word in {w.lower() for w in words(source, _ENGLISH)} - STOPWORDS:
            english[word].add(i)
        for word in words(target, _GERMAN)[1:]:  # a first word is capitalised anyway
            cases[word.lower()][word] += 1
    for word in [w for w in english if w.endswith("s") and w[:-1] in english]:
        english[word[:-1]] |= english.pop(word)
    nouns = [w for w, seen in cases.items() if seen.most_common(1)[0][0][0].isupper()]
    containing = {w: {i for i, text in enumerate(lowered) if w in text} for w in nouns}
    best = {}  # German word -> (precision, English word)
    for term, where in english.items():
        if len(where) < min_count:
            continue
        found = [(len(where & has) / len(has), -len(w), w) for w, has in containing.items()
                 if len(where & has) >= consistency * len(where)
                 and len(where & has) >= precision * len(has)]
        if found:
            score, _, word = max(found)
            if word not in best or score > best[word][0]:
                best[word] = (score, term)
    entries = [Entry(term, cases[word].most_common(1)[0][0],
                     f"{len(english[term])} messages")
               for word, (_, term) in sorted(best.items(), key=lambda item: item[1][1])]
    return Glossary(entries)


def catalog_pairs(path):
    """Translated, non-fuzzy singular messages of a catalog, as `(msgid, msgstr)`."""
    return [(e.msgid, e.msgstr) for e in polib.pofile(str(path))
            if e.msgid and e.msgstr and not e.fuzzy and not e.obsolete and not e.msgid_plural]


def follows(glossary, source, text):
    return not glossary.missed(source, text)


class Systems:
    """The three systems of the module docstring on one loaded export."""

    def __init__(self, export_dir):
        import tensorflow as tf
        import tensorflow_text  # noqa: F401

        self.tf = tf
        self.loaded = tf.saved_model.load(str(export_dir))
        if "translate_glossary" not in self.loaded.signatures:
            sys.exit(f"{export_dir} has no glossary signatures (export it again with a "
                     f"masking model).")

    def _call(self, name, texts, glossary=None):
        tf = self.tf
        inputs = {"text": tf.constant(texts, tf.string)}
        if glossary is not None:
            inputs.update(glossary_source=tf.constant(glossary.sources, tf.string),
                          glossary_target=tf.constant(glossary.targets, tf.string))
        return self.loaded.signatures[name](**inputs)

    def none(self, texts, glossary):
        out = self._call("serving_default", texts)
        return [t.decode("utf-8") for t in out["translation"].numpy()]

    def check(self, texts, glossary):
        out = self._call("translate_n_best", texts)
        chosen = []
        for source, row, oks in zip(texts, out["translations"].numpy(),
                                    out["format_ok"].numpy()):
            row = [t.decode("utf-8") for t in row]
            terms_ok = [follows(glossary, source, t) for t in row]
            chosen.append(row[choose(oks.tolist(), terms_ok)])
        return chosen

    def glossary(self, texts, glossary):
        out = self._call("translate_glossary", texts, glossary)
        return [t.decode("utf-8") for t in out["translation"].numpy()]


SYSTEMS = ("none", "check", "glossary")


def measure(systems, pairs, glossary, limit=None, batch_size=32, latency_messages=60):
    """The three systems on the messages of `pairs` that have a term (the
    first `limit` of them)."""
    measured = [(s, t) for s, t in pairs if glossary.find(s)][:limit]
    if not measured:
        return None
    sources, references = [s for s, _ in measured], [t for _, t in measured]
    rows = {"messages": len(pairs), "with_terms": len(measured), "terms": len(glossary),
            "human_following": sum(follows(glossary, s, t) for s, t in measured)}
    for name in SYSTEMS:
        run = getattr(systems, name)
        outputs = []
        for start in range(0, len(sources), batch_size):
            outputs += run(sources[start:start + batch_size], glossary)
        rows[name] = {"following": sum(follows(glossary, s, o) for s, o in zip(sources, outputs)),
                      "chrf": evaluation.chrf(outputs, references)}
    timings = collections.defaultdict(list)
    for source in sources[:latency_messages]:  # interleaved: the same load for each
        for name in ("none", "glossary"):
            began = time.perf_counter()
            getattr(systems, name)([source], glossary)
            timings[name].append(time.perf_counter() - began)
    for name in ("none", "glossary"):
        rows[name]["p50_ms"] = 1000 * statistics.median(timings[name])
    return rows


def report_line(name, rows):
    n = rows["with_terms"]
    cells = [f"{100 * rows[s]['following'] / n:.1f}% / {rows[s]['chrf']:.1f}" for s in SYSTEMS]
    cost = rows["glossary"]["p50_ms"] / rows["none"]["p50_ms"]
    return (f"| {name} | {rows['terms']} | {n} | {100 * rows['human_following'] / n:.1f}% | "
            + " | ".join(cells) + f" | {rows['none']['p50_ms']:.1f} / "
            f"{rows['glossary']['p50_ms']:.1f} ms ({cost:.2f}x) |")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="an export (version or model directory)")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--heldout", type=Path, help="a set of benchmarks/heldout.py")
    source.add_argument("--tsv", type=Path, help="a source<TAB>target file to measure on")
    parser.add_argument("--terms-from", type=Path,
                        help="with --tsv: build the glossary from this TSV (default: the TSV)")
    parser.add_argument("--min-count", type=int, default=5)
    parser.add_argument("--limit", type=int, default=150,
                        help="messages with a term measured per catalog (default: %(default)s)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)

    from translate.signatures import resolve_export

    export_dir = resolve_export(args.model)
    systems = Systems(export_dir)
    results = {"model": str(export_dir), "cpu": platform.processor() or platform.machine(),
               "min_count": args.min_count, "limit": args.limit, "sets": {}}
    if args.heldout:
        manifest = json.loads((args.heldout / "manifest.json").read_text(encoding="utf-8"))
        for catalog in manifest["catalogs"]:
            pairs = catalog_pairs(args.heldout / catalog["path"])
            glossary = build_glossary(pairs, args.min_count)
            rows = measure(systems, pairs, glossary, args.limit)
            if rows is not None:
                rows["entries"] = [(e.source, e.target) for e in glossary.entries]
                results["sets"][f"{catalog['package']} {Path(catalog['file']).stem}"] = rows
    else:
        pairs = [(r.source, r.target) for r in read_tsv(args.tsv)]
        basis = ([(r.source, r.target) for r in read_tsv(args.terms_from)]
                 if args.terms_from else pairs)
        glossary = build_glossary(basis, args.min_count)
        rows = measure(systems, pairs, glossary, args.limit)
        rows["entries"] = [(e.source, e.target) for e in glossary.entries]
        results["sets"][args.tsv.name] = rows

    totals = {"with_terms": 0, "human_following": 0, "terms": 0, "messages": 0}
    for rows in results["sets"].values():
        for key in totals:
            totals[key] += rows[key]
    print("| catalog | terms | messages with a term | human translations with every term | "
          "none: terms / chrF | check | glossary | batch-1 p50 none / glossary |")
    print("|---|---|---|---|---|---|---|---|")
    for name, rows in results["sets"].items():
        print(report_line(name, rows))
    if len(results["sets"]) > 1:
        n = totals["with_terms"]
        overall = {s: sum(r[s]["following"] for r in results["sets"].values()) for s in SYSTEMS}
        print("all: " + ", ".join(f"{s} {100 * overall[s] / n:.1f}%" for s in SYSTEMS)
              + f" of {n} messages with a term follow the glossary (human: "
              f"{100 * totals['human_following'] / n:.1f}%)")
        results["totals"] = {**totals, **{f"{s}_following": overall[s] for s in SYSTEMS}}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(args.json, encoding="utf-8") as f:
            json.dump(results, f, indent=1, ensure_ascii=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
