"""Messages of several sentences or lines, translated whole and in segments.

    python benchmarks/segments.py CORPUS_DIR EXPORT_DIR [EXPORT_DIR ...]
        [--splits dev test] [--memory]

For each export (`translate.exported.ExportedModel`, `serving_default`) and
split, the messages that `translate po --segments first` translates in
segments (`translate.localize.segments.parts_first`: two segments or more
that hold text) are translated whole, and segment by segment with the
translations joined (`segments.join`); printed: BLEU and chrF of each
against the references (`translate.evaluation.score`), and their
difference. With `--memory`, an export that reads memory matches gets each
message's (or segment's) match from the corpus's train split, as `translate
po --memory` gives it. This is the comparison `translate po`'s default was
chosen on (the dev split: the test split and held-out catalogs are for
reporting).
"""

import argparse
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from translate.corpus import normalize  # noqa: E402
from translate.evaluation import read_tsv_pairs, score  # noqa: E402
from translate.exported import ExportedModel  # noqa: E402
from translate.localize import segments  # noqa: E402
from translate.machine import describe  # noqa: E402
from translate.matches import given  # noqa: E402
from translate.memory import TranslationMemory  # noqa: E402


def compare(model, sources, references, memory=None):
    """`{"whole": scores, "segments": scores}` over the messages of `sources`
    that split (`segments.parts_first`), and how many there were.

    Args:
        model: an `ExportedModel`.
        sources, references: a split's messages and their translations.
        memory: a `TranslationMemory` whose matches an export that reads
            them gets, or None.

    Returns:
        `(count, {"whole": ..., "segments": ...})`, each `score`'s dict; an
        empty dict when no message splits.
    """
    def translate(texts):
        matches = None
        if memory is not None and model.reads_matches:
            matches = given(memory.lookup([normalize(t) for t in texts]),
                            model.min_match_similarity)
        return model.translate(texts, matches=matches)

    plans = [(parts, reference) for source, reference in zip(sources, references)
             for parts in [segments.parts_first(source)] if parts]
    if not plans:
        return 0, {}
    whole = translate(["".join(s + sep for s, sep in parts) for parts, _ in plans])
    queries = list(dict.fromkeys(s for parts, _ in plans for s, _ in parts
                                 if segments.has_text(s)))
    found = {q: [(text, None)] for q, text in zip(queries, translate(queries))}
    joined = [segments.join(parts, found)[0] for parts, _ in plans]
    refs = [reference for _, reference in plans]
    return len(plans), {"whole": score(whole, refs), "segments": score(joined, refs)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus", metavar="CORPUS_DIR")
    parser.add_argument("exports", nargs="+", metavar="EXPORT_DIR")
    parser.add_argument("--splits", nargs="+", default=["dev"], choices=("dev", "test"),
                        help="the corpus's splits to measure on (default: dev)")
    parser.add_argument("--memory", action="store_true",
                        help="give an export that reads memory matches the corpus's matches")
    args = parser.parse_args(argv)
    print(f"CPU: {describe()}")
    memory = TranslationMemory.from_corpus(args.corpus, cache=True) if args.memory else None
    for path in args.exports:
        model = ExportedModel(path, optimize=False)
        for split in args.splits:
            sources, references = read_tsv_pairs(f"{args.corpus}/{split}.tsv")
            count, scores = compare(model, sources, references, memory)
            if not count:
                print(f"{split} {path}: no message of several segments")
                continue
            whole, joined = scores["whole"], scores["segments"]
            print(f"{split} {path}: {count} messages of several segments; whole BLEU "
                  f"{whole['bleu']:.2f} chrF {whole['chrf']:.2f}; in segments BLEU "
                  f"{joined['bleu']:.2f} chrF {joined['chrf']:.2f} "
                  f"({joined['chrf'] - whole['chrf']:+.2f} chrF)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
