"""Reference points without a model: copy, translation memory, and both.

    python benchmarks/baselines.py CORPUS_DIR [--split test] [--json FILE]

CORPUS_DIR comes from `translate prepare` (e.g. `--gettext de`). Three
systems are scored on the same split (sacrebleu BLEU and chrF, corpus level,
and placeholder accuracy; `translate.evaluation`):

1. copy: the output is the source itself (many software messages keep
   names, options and placeholders, so this is not zero);
2. memory: the translation of the nearest train message
   (`translate.memory.TranslationMemory`), whatever its similarity and its
   placeholders;
3. memory >= t, else copy: the memory's translation where it is usable
   (similarity at least t and the same placeholders, `memory.usable`), the
   source elsewhere. t is chosen on the dev split by chrF with copy as the
   fallback (`memory.choose_threshold`), never on the split scored, unless
   that split is dev itself (then the table says so).

System 3 can score below system 2 in chrF: it never uses a match whose
placeholders differ from the source's (the copy is used there instead), and
a mismatched match is often a good translation but for one placeholder. It
buys placeholder accuracy with that chrF; a model in place of the copy is
meant to win it back. The dev chrF at threshold 0.00 in the printed curve is
that placeholder rule alone.

The memory holds train.tsv only. Lookup times are wall-clock seconds on this
machine, one process, the vectorising of the queries included.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

from translate import evaluation, memory


def timed(function, *args, **kwargs):
    """Runs `function` and returns `(result, seconds)`."""
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def run(corpus_dir, split):
    """Scores the three systems on `split`; returns a dict of everything shown."""
    corpus_dir = Path(corpus_dir)
    tm, build_s = timed(memory.TranslationMemory.from_corpus, corpus_dir)
    dev_sources, dev_references = evaluation.read_tsv_pairs(corpus_dir / "dev.tsv")
    dev_matches, dev_lookup_s = timed(tm.lookup, dev_sources)
    curve = memory.threshold_scores(dev_sources, dev_references, dev_matches)
    threshold = memory.choose_threshold(dev_sources, dev_references, dev_matches)

    if split == "dev":
        sources, references, matches, lookup_s = (dev_sources, dev_references,
                                                  dev_matches, dev_lookup_s)
    else:
        sources, references = evaluation.read_tsv_pairs(corpus_dir / f"{split}.tsv")
        matches, lookup_s = timed(tm.lookup, sources)
    combined, origins = memory.combine(sources, sources, matches, threshold)
    systems = {
        "copy": sources,
        "memory": [m.target for m in matches],
        f"memory >= {threshold:.2f}, else copy": combined,
    }
    rows = []
    for name, outputs in systems.items():
        row = {"system": name, **evaluation.score(outputs, references),
               "placeholders": evaluation.placeholder_accuracy(sources, outputs)}
        rows.append(row)
    return {
        "corpus": str(corpus_dir), "split": split, "sentences": len(sources),
        "memory_size": len(tm), "build_s": build_s, "lookup_s": lookup_s,
        "dev_lookup_s": dev_lookup_s, "dev_sentences": len(dev_sources),
        "threshold": threshold, "threshold_curve": curve,
        "memory_used": sum(o.kind == "memory" for o in origins),
        "exact_matches": sum(m.similarity == 1.0 for m in matches),
        "rows": rows,
    }


def report(result):
    """The result as markdown lines."""
    lines = [
        f"{result['corpus']}, split {result['split']} ({result['sentences']} sentences), "
        f"memory of {result['memory_size']} train pairs; machine: {os.cpu_count()} cores",
        "",
        "| system | BLEU | chrF | placeholder accuracy |",
        "|---|---|---|---|",
    ]
    for row in result["rows"]:
        p = row["placeholders"]
        accuracy = "n/a" if p["accuracy"] is None else f"{100 * p['accuracy']:.1f}%"
        lines.append(f"| {row['system']} | {row['bleu']:.2f} | {row['chrf']:.2f} | "
                     f"{accuracy} ({p['reproduced']}/{p['with_placeholders']}) |")
    chosen_on = ("on dev, the split scored here" if result["split"] == "dev"
                 else f"on dev ({result['dev_sentences']} sentences), not on {result['split']}")
    curve = ", ".join(f"{t:.2f}: {c:.1f}" for t, c in result["threshold_curve"])
    lines += [
        "",
        f"BLEU signature: {result['rows'][0]['bleu_signature']}",
        f"chrF signature: {result['rows'][0]['chrf_signature']}",
        f"threshold {result['threshold']:.2f}: chosen by chrF {chosen_on}, with copy "
        f"below it; memory used for {result['memory_used']} of {result['sentences']} "
        f"sentences ({result['exact_matches']} exact matches)",
        f"dev chrF by threshold: {curve}",
        f"memory built in {result['build_s']:.2f} s; lookup of {result['sentences']} "
        f"sentences: {result['lookup_s']:.2f} s "
        f"({result['sentences'] / result['lookup_s']:,.0f} sentences/s)",
    ]
    return lines


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpus_dir", help="a directory made by `translate prepare`")
    parser.add_argument("--split", choices=("test", "dev"), default="test",
                        help="the split scored (default: %(default)s)")
    parser.add_argument("--json", metavar="FILE", help="also write the numbers as JSON")
    args = parser.parse_args(argv)
    result = run(args.corpus_dir, args.split)
    print("\n".join(report(result)))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
