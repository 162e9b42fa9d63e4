"""The main job end to end, as `make demo` runs it.

    python examples/demo.py [--out runs/demo] [--lang de | --tsv CORPUS.tsv]
                            [--minutes 20] [--preset small]

Each step is a `translate` command, printed before it runs, so what the demo
does is what a user types:

1. `translate prepare`: the English->LANG corpus from this machine's gettext
   catalogs (or a TSV), SentencePiece included -> OUT/corpus/
2. `translate train`: the preset's model within the time budget -> OUT/run/
3. `benchmarks/baselines.py` and `translate evaluate` (beam 4, alone and
   with the translation memory): BLEU/chrF on the test split
4. `translate export`: a SavedModel version -> OUT/export/translator/<N>/
5. a handful of messages through the exported model, loaded the way TF
   Serving loads it (only TensorFlow and TensorFlow Text, by signature)
6. `translate align`: an attention heatmap; `translate po`: a sample
   catalog (a test-split slice with empty msgstrs) filled by the model
7. OUT/report/: metrics.json, curves.png, attention.png, the filled catalog

Running it again reuses what is done: the corpus, a finished training (an
interrupted one resumes with what is left of the budget), evaluations and
the export newer than the model's best weights.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
ROOT = Path(__file__).resolve().parents[1]

from translate import machine  # noqa: E402
from translate.atomic import atomic_file  # noqa: E402
from translate.rundir import BEST_WEIGHTS, read_metrics  # noqa: E402
from translate.signatures import resolve_export, versions  # noqa: E402

SAMPLE_MESSAGES = [
    "Could not open file %s",
    "Save changes to the document before closing?",
    "The network connection was lost.",
    "Delete %d selected items?",
    "Print the current page",
]


def step(title):
    print(f"\n== {title}", flush=True)


def run(*args, script=None):
    """Runs `translate ARGS` (or a script of this repository), showing it."""
    command = [sys.executable, script] if script else [sys.executable, "-m", "translate"]
    shown = f"python {script}" if script else "translate"
    print("$ " + " ".join([shown, *map(str, args)]), flush=True)
    subprocess.run([*command, *map(str, args)], cwd=ROOT, check=True)


def newer(path, than):
    """Whether `path` exists and was written after `than` was."""
    return path.exists() and path.stat().st_mtime >= than.stat().st_mtime


def trained_steps(run_dir):
    """The run's steps in all: its latest checkpoint's (a training stops after one)."""
    state = run_dir / "checkpoints" / "checkpoint"
    found = re.search(r'^model_checkpoint_path: "ckpt-(\d+)"', state.read_text(encoding="utf-8"),
                      re.M) if state.exists() else None
    return int(found.group(1)) if found else 0


def spent_minutes(run_dir):
    """Training minutes recorded by the run's finished epochs."""
    return sum(record["seconds"] for record in read_metrics(run_dir)) / 60


def tokens_seen(metrics):
    """Target tokens trained on in the finished epochs (older runs: from their rates)."""
    return int(sum(record.get("train_tokens",
                              record.get("train_tokens_per_second", 0) * record["seconds"])
                   for record in metrics))


def prepare(args, corpus):
    step("corpus")
    if (corpus / "manifest.json").exists():
        print(f"reusing {corpus}")
        return
    source = ["--tsv", args.tsv] if args.tsv else ["--gettext", args.lang]
    run("prepare", *source, "--out", corpus, "--vocab-size", args.vocab_size)


def train(args, corpus, run_dir):
    step(f"training ({args.preset} preset, {args.minutes:g}-minute budget)")
    marker = run_dir / "demo-training.json"
    if marker.exists():
        print(f"reusing the finished training in {run_dir}")
        return
    left = args.minutes - spent_minutes(run_dir)
    if left > 0:
        run("train", corpus, "--run-dir", run_dir, "--preset", args.preset,
            "--time-budget", f"{left:.2f}")
    with atomic_file(marker, encoding="utf-8") as f:
        json.dump({"budget_minutes": args.minutes}, f)


def evaluate(corpus, run_dir, report):
    step("evaluation on the test split")
    best = run_dir / BEST_WEIGHTS
    baselines = report / "baselines.json"
    if newer(baselines, corpus / "manifest.json"):
        print(f"reusing {baselines}")
    else:
        run(corpus, "--json", baselines, script="benchmarks/baselines.py")
    results = {}
    for name, extra in (("model", []), ("model + memory", ["--memory", corpus])):
        variant = "test-beam4" + ("-memory" if extra else "")
        scores = run_dir / f"evaluation-{variant}.json"
        if newer(scores, best):
            print(f"reusing {scores}")
        else:
            run("evaluate", run_dir, "--tsv", corpus / "test.tsv", "--beam", 4, *extra)
        results[name] = json.loads(scores.read_text(encoding="utf-8"))
    return json.loads(baselines.read_text(encoding="utf-8")), results


def export(run_dir, models):
    step("export for TensorFlow Serving")
    found = versions(models)
    if found and newer(found[-1], run_dir / BEST_WEIGHTS):
        print(f"reusing {found[-1]}")
        return found[-1]
    run("export", run_dir, "--out", models.parent, "--name", models.name)
    return resolve_export(models)


def serve_sample(version_dir):
    """Translates SAMPLE_MESSAGES with the export, as TF Serving would run it."""
    step(f"the exported model, loaded the TF Serving way: {version_dir}")
    code = (
        "import json, sys\n"
        "import tensorflow as tf\n"
        "import tensorflow_text  # registers the SentencePiece ops\n"
        "serve = tf.saved_model.load(sys.argv[1]).signatures['serving_default']\n"
        "out = serve(text=tf.constant(json.loads(sys.argv[2])))\n"
        "print(json.dumps([t.decode('utf-8') for t in out['translation'].numpy()]))\n")
    # A fresh process that imports nothing of this project.
    result = subprocess.run([sys.executable, "-c", code, str(version_dir),
                             json.dumps(SAMPLE_MESSAGES)],
                            capture_output=True, text=True, check=True)
    translations = json.loads(result.stdout.strip().splitlines()[-1])
    for source, target in zip(SAMPLE_MESSAGES, translations):
        print(f"  {source}\n    -> {target}")
    return dict(zip(SAMPLE_MESSAGES, translations))


def fill_catalog(corpus, version_dir, report, count=20):
    step("a gettext catalog filled by the exported model")
    from translate.localize.catalogs import catalog_from_tsv

    sample = report / "sample.po"
    filled = report / "sample.filled.po"
    catalog_from_tsv(corpus / "test.tsv", sample, limit=count)
    run("po", sample, "--model", version_dir, "--memory", corpus, "--out", filled)
    import polib

    entries = [e for e in polib.pofile(str(filled)) if e.msgstr and "fuzzy" in e.flags]
    for entry in entries[:5]:
        print(f"  # {entry.tcomment}\n  msgid  {entry.msgid!r}\n  msgstr {entry.msgstr!r}")
    return {"catalog": str(filled), "entries": count, "filled": len(entries)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("runs/demo"))
    source = parser.add_mutually_exclusive_group()
    source.add_argument("--lang", default="de",
                        help="target language of the gettext catalogs (default: de)")
    source.add_argument("--tsv", help="a source<TAB>target corpus instead of the catalogs")
    parser.add_argument("--minutes", type=float, default=20.0, help="training budget")
    parser.add_argument("--preset", default="small")
    parser.add_argument("--vocab-size", type=int, default=8000)
    args = parser.parse_args(argv)

    out = args.out if args.out.is_absolute() else ROOT / args.out
    corpus, run_dir, report = out / "corpus", out / "run", out / "report"
    models = out / "export" / "translator"
    report.mkdir(parents=True, exist_ok=True)
    started = time.time()

    prepare(args, corpus)
    train(args, corpus, run_dir)
    baselines, results = evaluate(corpus, run_dir, report)
    version_dir = export(run_dir, models)
    samples = serve_sample(version_dir)
    step("pictures")
    run("align", run_dir, SAMPLE_MESSAGES[0], "--out", report / "attention.png")
    if (run_dir / "curves.png").exists():  # drawn at each epoch's end
        shutil.copyfile(run_dir / "curves.png", report / "curves.png")
    else:
        print("no curves: the budget ended the training within its first epoch")
    catalog = fill_catalog(corpus, version_dir, report)

    rows = [{"system": r["system"], "bleu": r["bleu"], "chrf": r["chrf"],
             "placeholders": r["placeholders"]["accuracy"]} for r in baselines["rows"]]
    rows += [{"system": f"{name}, beam 4", "bleu": r["bleu"], "chrf": r["chrf"],
              "placeholders": r["placeholders"]["accuracy"]} for name, r in results.items()]
    manifest = json.loads((corpus / "manifest.json").read_text(encoding="utf-8"))
    metrics = read_metrics(run_dir)
    summary = {
        "machine": {"cpu": machine.cpu_model(), "cores": os.cpu_count()},
        "corpus": manifest["counts"]["splits"],
        "training": {"preset": args.preset, "budget_minutes": args.minutes,
                     "cpu": metrics[-1].get("cpu") if metrics else None,
                     # "auto" trains in bfloat16 where the CPU has it: a speed
                     # names its precision as well as its machine.
                     "precision": metrics[-1].get("precision") if metrics else None,
                     "minutes_in_finished_epochs": spent_minutes(run_dir),
                     "epochs": len(metrics),
                     "steps": trained_steps(run_dir),
                     "steps_in_finished_epochs": metrics[-1]["step"] if metrics else 0,
                     "target_tokens_in_finished_epochs": tokens_seen(metrics),
                     "tokens_per_second": metrics[-1].get("train_tokens_per_second")
                     if metrics else None},
        "test": rows, "export": str(version_dir), "samples": samples, "catalog": catalog,
        "demo_seconds_this_time": time.time() - started,
    }
    with atomic_file(report / "metrics.json", encoding="utf-8") as f:
        json.dump(summary, f, indent=1)
    step(f"report: {report}")
    trained = summary["training"]
    print(f"training: {trained['steps']} steps, {trained['epochs']} finished epochs "
          f"({trained['target_tokens_in_finished_epochs']:,} target tokens, "
          f"{trained['tokens_per_second'] or 0:,.0f} tokens/s in the last, "
          f"{trained['precision'] or 'float32'}) on "
          f"{trained['cpu'] or summary['machine']['cpu']}, {os.cpu_count()} cores")
    print("| system (test split) | BLEU | chrF | placeholders kept |\n|---|---|---|---|")
    for row in rows:
        kept = "n/a" if row["placeholders"] is None else f"{100 * row['placeholders']:.1f}%"
        print(f"| {row['system']} | {row['bleu']:.2f} | {row['chrf']:.2f} | {kept} |")
    print(", ".join(sorted(p.name for p in report.iterdir())) + f" in {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
