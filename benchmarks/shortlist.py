"""Exports side by side (e.g. with and without `--shortlist`): quality, and
what a batch of 8 gains over 8 calls of one.

    python benchmarks/shortlist.py CORPUS_DIR EXPORT_DIR [EXPORT_DIR ...]
        [--groups 12] [--rounds 3]

Each export is loaded in this process (`translate.exported.ExportedModel`,
`serving_default`):

- Quality: BLEU and chrF (`translate.evaluation.score`) on the corpus's dev and test splits, in
  batches of 64, and how many translations differ from the first export's.
- Speed: `--groups` groups of 8 test messages of 8-12 words; each group is
  translated one message per call and then in one call of 8, `--rounds`
  times, the exports taking turns (so that on a shared machine all see the
  same load). Printed: the median time of a message alone, of a call of 8,
  and the ratio of the 8 single calls' total time to the calls of 8's.
  That ratio is what batching can give the endpoint (`benchmarks/endpoint.py`).

Figures are seconds of this CPU (printed first): compare them only within
one run.
"""

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from translate.evaluation import read_tsv_pairs, score  # noqa: E402
from translate.exported import ExportedModel  # noqa: E402
from translate.machine import describe  # noqa: E402


def quality(models, corpus_dir):
    """Prints each export's BLEU / chrF per split."""
    for split in ("dev", "test"):
        sources, references = read_tsv_pairs(f"{corpus_dir}/{split}.tsv")
        first = None
        for path, model in models:
            hypotheses = model.translate(sources, batch_size=64)
            first = first or hypotheses
            differ = sum(a != b for a, b in zip(first, hypotheses))
            scores = score(hypotheses, references)
            print(f"{split} {path}: BLEU {scores['bleu']:.2f} chrF {scores['chrf']:.2f}; "
                  f"{differ} of {len(hypotheses)} differ from the first export's", flush=True)


def batch_gain(models, corpus_dir, groups, rounds):
    """Prints each export's time alone, in a call of 8, and the ratio."""
    sources = [s for s in read_tsv_pairs(f"{corpus_dir}/test.tsv")[0]
               if 8 <= len(s.split()) <= 12] or read_tsv_pairs(f"{corpus_dir}/test.tsv")[0]
    eights = [sources[i * 8:(i + 1) * 8] for i in range(groups)]
    eights = [g for g in eights if len(g) == 8] or [(sources * 8)[:8]]
    for _, model in models:  # traced and warm before timing
        model.translate(eights[0], batch_size=8)
        model.translate(eights[0][:1], batch_size=1)
    alone = [[] for _ in models]
    together = [[] for _ in models]
    for _ in range(rounds):
        for i, (_, model) in enumerate(models):
            for group in eights:
                start = time.perf_counter()
                for sentence in group:
                    model.translate([sentence], batch_size=1)
                alone[i].append(time.perf_counter() - start)
                start = time.perf_counter()
                model.translate(group, batch_size=8)
                together[i].append(time.perf_counter() - start)
    for (path, _), single, eight in zip(models, alone, together):
        print(f"{path}: a message alone {1000 * statistics.median(single) / 8:.1f} ms, "
              f"8 in one call {1000 * statistics.median(eight):.1f} ms; "
              f"8 calls of one / one call of 8: {sum(single) / sum(eight):.2f}x", flush=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("corpus_dir")
    parser.add_argument("exports", nargs="+", metavar="EXPORT_DIR")
    parser.add_argument("--groups", type=int, default=12)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    print(f"CPU: {describe()}")
    models = [(path, ExportedModel(path)) for path in args.exports]
    quality(models, args.corpus_dir)
    batch_gain(models, args.corpus_dir, args.groups, args.rounds)


if __name__ == "__main__":
    main()
