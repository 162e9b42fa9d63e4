"""Serving speed of an export: batch-1 latency and batch-64 throughput per signature.

    python benchmarks/serving.py --export runs/export/translator [--tsv FILE]
        [--requests 200] [--warmup 20] [--batches 5] [--baseline OTHER_EXPORT]

The export is loaded the way TF Serving runs it: `import tensorflow_text` (the
SentencePiece ops), `tf.saved_model.load`, and its signatures called with a
`tf.string` batch; of this project only `translate.signatures` (names and
the version layout, no TensorFlow) is imported, so the timed path is the graph
alone (no HTTP or gRPC either: add the network on top). For
`serving_default` (beam search) and `translate_greedy`:

- batch 1: `--requests` requests of one message of about 10 words each (after
  `--warmup`), the median and 95th percentile latency; the two signatures
  take turns on each message, so that on a shared machine both see the same
  load;
- batch 64: `--batches` requests of 64 such messages, sentences per second.

With `--baseline`, another export's signatures take turns with these on the
same messages, and the batch-1 median ratios (this / baseline) are printed:
e.g. a masking model against one without masking, for what masking in the
graph costs.

Messages: the source column of `--tsv` (those of 8 to 12 words), or a built-in
list of software messages of about 10 words. Targets, on 2 CPU cores: greedy
median <= 20 ms for a 10-word message, beam median <= 3x greedy.
"""

import argparse
import itertools
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import tensorflow_text  # noqa: E402,F401 (registers the SentencePiece ops)

# Names and the version layout only: translate.signatures imports no TensorFlow.
from translate.signatures import SIGNATURES, resolve_export  # noqa: E402
import software_messages  # noqa: E402 (beside this file)

GREEDY_TARGET_MS = 20.0
BEAM_OVER_GREEDY_TARGET = 3.0

def export_version(path):
    """The version directory to time: `resolve_export`'s, or the highest
    version of the one model in a `translate export --out` base directory."""
    try:
        return resolve_export(path)
    except FileNotFoundError:
        models = [p for p in Path(path).iterdir() if p.is_dir()] if Path(path).is_dir() else []
        if len(models) != 1:
            raise
        return resolve_export(models[0])


def latencies(functions, messages, requests, warmup):
    """Seconds per batch-1 request of each function, `requests` each after `warmup`.

    The functions take turns on the same message, so that on a shared machine
    they see the same load and their ratio means something.
    """
    cycle = itertools.cycle(messages)
    for _ in range(warmup):
        batch = tf.constant([next(cycle)])
        for function in functions.values():
            function(text=batch)["translation"].numpy()
    times = {name: [] for name in functions}
    for _ in range(requests):
        batch = tf.constant([next(cycle)])
        for name, function in functions.items():
            start = time.perf_counter()
            function(text=batch)["translation"].numpy()
            times[name].append(time.perf_counter() - start)
    return {name: np.array(t) for name, t in times.items()}


def throughput(function, messages, batches, batch_size=64):
    """Sentences per second in requests of `batch_size` (one warm-up request first)."""
    cycle = itertools.cycle(messages)
    requests = [tf.constant([next(cycle) for _ in range(batch_size)])
                for _ in range(batches + 1)]
    function(text=requests[0])["translation"].numpy()
    start = time.perf_counter()
    for batch in requests[1:]:
        function(text=batch)["translation"].numpy()
    return batches * batch_size / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--export", required=True, metavar="DIR",
                        help="a version directory, or a directory of versions (the highest "
                             "is used)")
    software_messages.add_argument(parser)
    parser.add_argument("--requests", type=int, default=200,
                        help="batch-1 requests timed per signature")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests first")
    parser.add_argument("--batches", type=int, default=5,
                        help="batch-64 requests timed per signature")
    parser.add_argument("--baseline", metavar="DIR",
                        help="another export timed in turn with this one (ratios printed)")
    args = parser.parse_args(argv)
    if min(args.requests, args.batches) < 1 or args.warmup < 0:
        parser.error("--requests and --batches must be >= 1, --warmup >= 0")

    try:
        export_dir = export_version(args.export)
    except FileNotFoundError as error:
        parser.error(str(error))
    messages = software_messages.chosen(args)
    loaded = tf.saved_model.load(str(export_dir))
    settings_file = export_dir / "assets" / "decoding.json"
    beam = (json.loads(settings_file.read_text())["beam_width"]
            if settings_file.is_file() else "?")
    words = np.mean([len(m.split()) for m in messages])
    print(f"machine: {os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.2f}' for x in os.getloadavg())}, TensorFlow {tf.__version__}")
    print(f"export: {export_dir}; {len(messages)} messages of {words:.1f} words on average "
          f"({args.tsv or 'built-in'})")
    print("| signature | batch 1 median ms | batch 1 p95 ms | batch 64 sentences/s |\n"
          "|---|---|---|---|")
    functions = {name: loaded.signatures[name] for name in SIGNATURES}
    baseline = {}
    if args.baseline:
        other = tf.saved_model.load(str(export_version(args.baseline)))
        baseline = {f"baseline {name}": other.signatures[name] for name in SIGNATURES}
    times = latencies({**functions, **baseline}, messages, args.requests, args.warmup)
    medians = {}
    for name, function in {**functions, **baseline}.items():
        medians[name] = float(np.median(1000 * times[name]))
        rate = throughput(function, messages, args.batches)
        label = f"{name} (beam {beam})" if name.endswith("serving_default") else f"{name} (greedy)"
        print(f"| {label} | {medians[name]:.1f} | {np.percentile(1000 * times[name], 95):.1f} | "
              f"{rate:.1f} |", flush=True)
    for name in baseline:
        mine = name.split(" ", 1)[1]
        print(f"{mine}: batch 1 median {medians[mine] / medians[name]:.3f}x the baseline's "
              f"({args.baseline})")
    ratio = medians["serving_default"] / medians["translate_greedy"]
    print(f"beam {beam} / greedy median latency: {ratio:.2f}x")
    greedy_met = medians["translate_greedy"] <= GREEDY_TARGET_MS
    print(f"target greedy median <= {GREEDY_TARGET_MS:g} ms: "
          f"{'met' if greedy_met else 'NOT met'} ({medians['translate_greedy']:.1f} ms)")
    print(f"target beam median <= {BEAM_OVER_GREEDY_TARGET:g}x greedy: "
          f"{'met' if ratio <= BEAM_OVER_GREEDY_TARGET else 'NOT met'} ({ratio:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
