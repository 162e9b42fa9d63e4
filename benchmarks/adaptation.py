"""`translate adapt` measured: a project's blanked messages, and general quality.

    python benchmarks/adaptation.py --base runs/demo/run \\
        --package django-filer==3.3.1 --package django-debug-toolbar==4.4.6 \\
        [--catalogs FILE_OR_DIR ...] [--learning-rates 1e-3 3e-4] [--mixes 0.5 0.25] \\
        [--steps 100 200 400] [--general 300] [--beam 1] [--out runs/adaptation]

What a translator gets from adapting to their own catalog: for each dev
catalog, its translated entries (`translate.adaptation.catalog_pairs`,
plurals included) are split by a stable hash of the source, `sha256(msgid)
% 5 == 0` blanked (20%), the rest (80%) adapted on; the blanked sources are
then translated by the base run and by each adapted model and scored
(chrF, BLEU; sacrebleu) against the catalog's human translations. General
quality: the same for the first `--general` lines of the base corpus's
test split, before and after. The target: >= +10 chrF on the blanked
entries, <= 1.0 chrF lost on the general test split.

Every setting (learning rate x mix) is one adaptation run of
`max(--steps)` steps (`translate.adaptation.adapt`, the product's code and
defaults otherwise), whose weights are saved at each of `--steps` on the
way and scored after it: the steps are comparable across machines, the
minutes are not (the seconds each step took are recorded too). The last
step of a run is at the end of its cool-down (the base config's
`train.cooldown`); the earlier ones are in the run's course, at the rate
the schedule had there, without a cool-down of their own: for a budget's
own figure, run it as the largest of `--steps` (each run has a directory of
its own, `lr<LR>-mix<MIX>-steps<MAX>`).

Catalogs come from files or directories (`*.po`, searched) or from PyPI
(`--package NAME==VERSION`: the release's German catalogs, as
`benchmarks/heldout.py` finds them). The held-out sets' packages
(`benchmarks/heldout.py` `SETS`) are refused: they are for final reports,
never for choosing a default. A setting's results are kept in
`<out>/<catalog>/<setting>/result.json` and reused, so an interrupted
benchmark goes on where it stopped; everything is also written to
`<out>/results-steps<MAX>.json` (or `--json`), with the CPU.
"""

import argparse
import hashlib
import json
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import heldout  # noqa: E402 (beside this file)
from translate.machine import cpu_model  # noqa: E402
from translate import adaptation, corpus, evaluation  # noqa: E402
from translate.atomic import atomic_file  # noqa: E402

def _project(name):
    """A distribution name compared as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


HELD_OUT = {_project(package.name) for packages in heldout.SETS.values() for package in packages}


def split_blanked(pairs):
    """`(adapt, blanked)`: the pairs whose `sha256(source) % 5` is not 0, and those it is."""
    def blank(pair):
        return int(hashlib.sha256(pair.source.encode("utf-8")).hexdigest(), 16) % 5 == 0
    return ([p for p in pairs if not blank(p)], [p for p in pairs if blank(p)])


def package_catalogs(spec, out):
    """The German catalogs of a PyPI release `NAME==VERSION`, written under `out`.

    Raises:
        ValueError: a malformed spec, or a package of the held-out sets.
        RuntimeError: the download failed or the release has no German catalog.
    """
    name, _, version = spec.partition("==")
    if not version:
        raise ValueError(f"--package takes NAME==VERSION, got {spec!r}.")
    if _project(name) in HELD_OUT:
        raise ValueError(f"{name} is in a held-out set (benchmarks/heldout.py): it is for "
                         "final reports only, never for choosing a default.")
    archive = heldout.download(heldout.Package(name, version), Path(out) / "downloads")
    catalogs = heldout.german_catalogs(archive)
    if not catalogs:
        raise RuntimeError(f"{archive.name} holds no German .po catalog.")
    paths = []
    for member, data in catalogs:
        path = Path(out) / "catalogs" / f"{name}-{version}" / member
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        paths.append(path)
    return paths


def find_catalogs(items):
    """The .po files named, directories searched for them."""
    found = []
    for item in map(Path, items):
        found += sorted(item.rglob("*.po")) if item.is_dir() else [item]
    return found


def catalog_name(path, out):
    """A directory name for a catalog: its path under `out/catalogs`, or its own."""
    try:
        relative = path.resolve().relative_to((Path(out) / "catalogs").resolve())
    except ValueError:
        relative = Path(path.resolve().name)
    return str(relative.with_suffix("")).strip("/").replace("/", "_")


def score(translator, pairs):
    """chrF and BLEU of `translator` on `pairs`, with the seconds it took."""
    started = time.perf_counter()
    hypotheses = translator.translate([p.source for p in pairs])
    scores = evaluation.score(hypotheses, [p.target for p in pairs])
    return {"chrf": scores["chrf"], "bleu": scores["bleu"], "sentences": len(pairs),
            "seconds": time.perf_counter() - started}


def snapshots(steps, directory):
    """A Keras callback saving the model's weights at each of `steps`, and the
    seconds from the start of training (of this call: a resumed run's restart)."""
    import keras

    class Snapshots(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            # Training calls fit once per epoch: the clock starts at the first.
            if not hasattr(self, "started"):
                self.started = time.perf_counter()

        def on_train_batch_end(self, batch, logs=None):
            step = int(self.model.optimizer.iterations.numpy())
            if step in steps:
                self.model.save_weights(directory / f"step-{step}.weights.h5")
                times = directory / "seconds.json"
                seen = json.loads(times.read_text()) if times.exists() else {}
                seen[str(step)] = time.perf_counter() - self.started
                times.write_text(json.dumps(seen))

    return Snapshots()


def run_setting(base, train_tsv, blanked, general, out, learning_rate, mix, steps, beam):
    """Adapts at one setting and scores each step of `steps`; reuses a saved result."""
    from translate.inference import Translator

    result_path = out / "result.json"
    if result_path.exists():
        return json.loads(result_path.read_text())
    settings = adaptation.adaptation_config(base, learning_rate)
    started = time.perf_counter()
    record, result = adaptation.adapt(base, out, settings, tsv=[train_tsv], mix=mix,
                                      max_steps=max(steps), verbose=0,
                                      callbacks=[snapshots(set(steps), out)])
    seconds = json.loads((out / "seconds.json").read_text())
    translator = Translator.from_run(out, beam_width=beam)
    rows = []
    for step in steps:
        weights = out / f"step-{step}.weights.h5"
        translator.model.load_weights(weights)
        rows.append({"step": step, "train_seconds": seconds.get(str(step)),
                     "project": score(translator, blanked),
                     "general": score(translator, general)})
        weights.unlink()
    outcome = {"learning_rate": learning_rate, "mix": mix, "in_domain_share":
               record["in_domain_share"], "copies": record["copies"],
               "adapted_on": record["in_domain_pairs"], "stopped": result["stopped"],
               "wall_seconds": time.perf_counter() - started, "steps": rows}
    with atomic_file(result_path, encoding="utf-8") as f:
        json.dump(outcome, f, indent=1)
    return outcome


def table(results):
    """The results as a markdown table: one row per catalog, setting and step."""
    lines = ["| catalog | lr | mix (share) | steps | s/step | project chrF (Δ) | "
             "project BLEU (Δ) | general chrF (Δ) | general BLEU (Δ) |",
             "|---|---|---|---|---|---|---|---|---|"]
    for item in results:
        base_p, base_g = item["base"]["project"], item["base"]["general"]
        lines.append(f"| {item['catalog']} ({item['adapt']} + {item['blanked']} blanked) | "
                     f"base | | 0 | | {base_p['chrf']:.1f} | {base_p['bleu']:.1f} | "
                     f"{base_g['chrf']:.1f} | {base_g['bleu']:.1f} |")
        for setting in item["settings"]:
            for row in setting["steps"]:
                p, g = row["project"], row["general"]
                pace = ("" if not row["train_seconds"]
                        else f"{row['train_seconds'] / row['step']:.2f}")
                lines.append(
                    f"| | {setting['learning_rate']:g} | {setting['mix']:g} "
                    f"({setting['in_domain_share']:.2f}) | {row['step']} | {pace} | "
                    f"{p['chrf']:.1f} ({p['chrf'] - base_p['chrf']:+.1f}) | "
                    f"{p['bleu']:.1f} ({p['bleu'] - base_p['bleu']:+.1f}) | "
                    f"{g['chrf']:.1f} ({g['chrf'] - base_g['chrf']:+.1f}) | "
                    f"{g['bleu']:.1f} ({g['bleu'] - base_g['bleu']:+.1f}) |")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--base", required=True, metavar="RUN_DIR", help="the run to adapt")
    parser.add_argument("--catalogs", nargs="+", default=[], metavar="FILE_OR_DIR",
                        help=".po files, or directories searched for them")
    parser.add_argument("--package", action="append", default=[], metavar="NAME==VERSION",
                        help="a PyPI release whose German catalogs to use (repeatable)")
    parser.add_argument("--learning-rates", nargs="+", type=float,
                        default=[adaptation.DEFAULT_LEARNING_RATE])
    parser.add_argument("--mixes", nargs="+", type=float, default=[adaptation.DEFAULT_MIX])
    parser.add_argument("--steps", nargs="+", type=int, default=[100, 200, 400])
    parser.add_argument("--general", type=int, default=300, metavar="N",
                        help="the first N lines of the base corpus's test split")
    parser.add_argument("--beam", type=int, default=1, help="beam width (1: greedy)")
    parser.add_argument("--min-entries", type=int, default=100,
                        help="catalogs with fewer translated entries are left out")
    parser.add_argument("--out", default="runs/adaptation")
    parser.add_argument("--json", metavar="FILE",
                        help="where the results go (default: OUT/results-steps<MAX>.json)")
    args = parser.parse_args(argv)

    from translate.inference import Translator

    out = Path(args.out)
    catalogs = find_catalogs(args.catalogs)
    for spec in args.package:
        catalogs += package_catalogs(spec, out)
    if not catalogs:
        parser.error("name catalogs (--catalogs) or packages (--package).")
    general = list(corpus.read_tsv(adaptation.base_corpus(args.base) / "test.tsv"))
    general = general[: args.general]
    base = Translator.from_run(args.base, beam_width=args.beam)
    steps = sorted(set(args.steps))
    results = []
    for path in catalogs:
        pairs, _ = adaptation.catalog_pairs([path])
        if len(pairs) < args.min_entries:
            print(f"{path}: {len(pairs)} translated entries, fewer than {args.min_entries}; "
                  "left out", flush=True)
            continue
        name = catalog_name(path, out)
        adapt_pairs, blanked = split_blanked(pairs)
        train_tsv = out / name / "adapt.tsv"
        train_tsv.parent.mkdir(parents=True, exist_ok=True)
        corpus.write_tsv(train_tsv, adapt_pairs)
        item = {"catalog": name, "path": str(path),
                "sha256": corpus.sha256_file(path), "adapt": len(adapt_pairs),
                "blanked": len(blanked),
                "base": {"project": score(base, blanked), "general": score(base, general)},
                "settings": []}
        print(f"{name}: {len(adapt_pairs)} to adapt on, {len(blanked)} blanked; base chrF "
              f"{item['base']['project']['chrf']:.1f} (project), "
              f"{item['base']['general']['chrf']:.1f} (general)", flush=True)
        for learning_rate in args.learning_rates:
            for mix in args.mixes:
                setting = run_setting(args.base, train_tsv, blanked, general,
                                      out / name / (f"lr{learning_rate:g}-mix{mix:g}"
                                                    f"-steps{steps[-1]}"),
                                      learning_rate, mix, steps, args.beam)
                item["settings"].append(setting)
                last = setting["steps"][-1]
                print(f"  lr {learning_rate:g}, mix {mix:g}: step {last['step']}: project "
                      f"chrF {last['project']['chrf']:.1f}, general "
                      f"{last['general']['chrf']:.1f}", flush=True)
        results.append(item)
    report = {"cpu": cpu_model(), "cores": os.cpu_count(), "base": str(Path(args.base).resolve()),
              "beam": args.beam, "general": {"file": "test.tsv", "lines": len(general)},
              "steps": steps, "results": results}
    json_path = Path(args.json or out / f"results-steps{steps[-1]}.json")
    with atomic_file(json_path, encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    print(f"\nCPU: {report['cpu']}, {report['cores']} cores; beam {args.beam}; general: the "
          f"first {len(general)} lines of the base corpus's test split\n")
    print(table(results))
    print(f"\nwritten: {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
