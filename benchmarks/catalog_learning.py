"""Learning from the catalog being translated: its own translations, adaptation.

    python benchmarks/catalog_learning.py --model EXPORT_DIR --memory CORPUS_DIR
        [--sets runs/heldout/apps] [--run RUN_DIR --adapt-minutes 5]
        [--work runs/catalog_learning] [--json FILE]

A new release adds messages to a catalog that is mostly translated. So, per
held-out catalog (`benchmarks/heldout.py`: other projects' German catalogs,
never in training, no threshold or setting chosen on them), its translated,
non-fuzzy singular entries are split 80/20 by a stable hash of msgctxt and
msgid (`is_blanked`); the 20% are blanked (msgstr emptied), everything else
is kept as the catalog has it (untranslated, fuzzy and plural entries
included). Then the real command, `translate po BLANKED --model ... --memory
CORPUS --out FILLED`, fills the blanked entries in a child process, and
sacrebleu chrF/BLEU (`translate.evaluation.score`) compare them with the
human translations (an entry left untranslated scores as empty):

(a) `today`: the corpus memory and the model (`--no-catalog-memory`);
(b) `catalog`: with the catalog memory (the 80%: exact, near-repaired and
    similar matches, `translate.localize.catalog_memory`);
(c) `adapted`: as (a) with the model adapted on the 80% (`translate adapt
    RUN --po BLANKED --time-budget MINUTES`, then `translate export`), with
    `--run`;
(d) `both`: (b) with the adapted model; and the general test split's chrF
    (`GENERAL_LINES` lines of the memory corpus's test split, the export
    alone) before and after adaptation.

Each `translate po` call's wall time is recorded (model loading and the
memory included: what a user waits for); the threshold is chosen on the
memory corpus's dev split by the first call and read from the user cache
(`translate.cache`) by the others, which the report shows. Everything goes
under `--work` (git-ignored `runs/`); the report is `<work>/report.json` (or
`--json`), and a markdown table is printed.
"""

import argparse
import copy
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import format_safety  # noqa: E402
from translate import evaluation  # noqa: E402
from translate.localize.catalogs import read_catalog, write_catalog  # noqa: E402
from translate.localize.fill import COMMENT_PREFIX  # noqa: E402

SHARE = 0.2
"""The share of a catalog's translated entries that is blanked."""

SYSTEMS = ("today", "catalog", "adapted", "both")


def is_blanked(entry, share=SHARE):
    """Whether an entry is in the blanked share: the first 8 bytes of
    sha256(msgctxt EOT msgid), as a fraction of 2**64, below `share`."""
    key = f"{entry.msgctxt or ''}\x04{entry.msgid}".encode("utf-8")
    return int.from_bytes(hashlib.sha256(key).digest()[:8], "big") / 2 ** 64 < share


def _measurable(entry):
    return (not entry.obsolete and entry.msgid and not entry.msgid_plural
            and entry.msgstr and not entry.fuzzy)


def blank(catalog_path, out):
    """Writes the catalog with its blanked share emptied.

    Returns:
        `{(msgctxt, msgid): human translation}` of the blanked entries, and
        the number of translated entries kept.
    """
    catalog = copy.deepcopy(read_catalog(catalog_path))
    blanked, kept = {}, 0
    for entry in catalog:
        if not _measurable(entry):
            continue
        if is_blanked(entry):
            blanked[(entry.msgctxt, entry.msgid)] = entry.msgstr
            entry.msgstr = ""
        else:
            kept += 1
    catalog.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    write_catalog(catalog, out)
    return blanked, kept


def origin(entry):
    """"catalog", "memory", "model" or None (not filled), from the comment."""
    if not entry.fuzzy or not entry.msgstr:
        return None
    comment = next((line for line in reversed(entry.tcomment.splitlines())
                    if line.startswith(COMMENT_PREFIX)), "")
    for kind in ("catalog memory", "memory", "model"):
        if comment.startswith(f"{COMMENT_PREFIX} {kind}"):
            return kind.split()[0]
    return None


def score(filled_path, blanked):
    """Scores and origins of the blanked entries in a filled catalog."""
    filled = {(e.msgctxt, e.msgid): e for e in read_catalog(filled_path)}
    hypotheses, references, origins = [], [], {}
    for key, reference in blanked.items():
        entry = filled[key]
        kind = origin(entry)
        hypotheses.append(entry.msgstr if kind else "")
        references.append(reference)
        origins[kind or "kept"] = origins.get(kind or "kept", 0) + 1
    result = evaluation.score(hypotheses, references)
    return {"bleu": result["bleu"], "chrf": result["chrf"], "entries": len(references),
            "origins": origins}


def adapt(run_dir, catalog, work, minutes):
    """`translate adapt` on a blanked catalog's translated entries, then export.

    Returns:
        The export's model directory, and the seconds adaptation took.
    """
    adapted = work / "adapted"
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "translate", "adapt", str(run_dir), "--po",
                    str(catalog), "--run-dir", str(adapted), "--time-budget", str(minutes)],
                   check=True)
    seconds = time.perf_counter() - started
    subprocess.run([sys.executable, "-m", "translate", "export", str(adapted), "--out",
                    str(work / "export"), "--version", "1", "--force"], check=True)
    return work / "export" / "translator", seconds


GENERAL_LINES = 300
"""The general test: the first lines of the memory corpus's test split."""


def general(export, corpus_dir, lines=GENERAL_LINES):
    """chrF/BLEU of an export alone (beam, no memory) on the corpus's test split."""
    from translate.exported import ExportedModel

    sources, references = evaluation.read_tsv_pairs(Path(corpus_dir) / "test.tsv")
    outputs = ExportedModel(export).translate(sources[:lines])
    result = evaluation.score(outputs, references[:lines])
    return {"chrf": result["chrf"], "bleu": result["bleu"], "sentences": len(outputs)}


def run(set_dirs, model, memory, work, run_dir=None, minutes=5.0):
    """Measures the systems on every catalog of the sets; returns the report."""
    env = dict(os.environ)
    rows = []
    base_general = general(model, memory) if run_dir is not None else None
    for set_dir in map(Path, set_dirs):
        manifest = json.loads((set_dir / "manifest.json").read_text())
        for item in manifest["catalogs"]:
            name = f"{item['package']}-{item['version']}"
            catalog_work = work / set_dir.name / name
            catalog_work.mkdir(parents=True, exist_ok=True)
            blanked_path = catalog_work / "blanked.po"
            blanked, kept = blank(set_dir / item["path"], blanked_path)
            row = {"set": set_dir.name, "catalog": name, "file": item["file"],
                   "blanked": len(blanked), "translated_kept": kept, "systems": {}}
            models = {"today": model, "catalog": model}
            if run_dir is not None:
                adapted, seconds = adapt(run_dir, blanked_path, catalog_work, minutes)
                models.update(adapted=adapted, both=adapted)
                row["adapt_seconds"] = seconds
                row["general"] = general(adapted, memory)
                row["adapt"] = json.loads((catalog_work / "adapted" / "adapt.json").read_text())
            for system, export in models.items():
                out = catalog_work / f"{system}.po"
                extra = [] if system in ("catalog", "both") else ["--no-catalog-memory"]
                started = time.perf_counter()
                code, summary, stderr = format_safety.fill(blanked_path, out, export,
                                                           memory=memory, extra=extra, env=env)
                seconds = time.perf_counter() - started
                if code != 0:
                    raise RuntimeError(f"translate po failed on {blanked_path}:\n{stderr[-3000:]}")
                threshold_line = next((line for line in summary["lines"]
                                       if line.startswith("memory threshold")), "")
                row["systems"][system] = {**score(out, blanked), "seconds": seconds,
                                          "threshold_cached": "(cached)" in threshold_line,
                                          "po_lines": summary["lines"]}
            rows.append(row)
            print(json.dumps({k: v for k, v in row.items() if k != "systems"}), flush=True)
    systems = [s for s in SYSTEMS if all(s in r["systems"] for r in rows)]
    average = {s: {m: sum(r["systems"][s][m] for r in rows) / len(rows)
                   for m in ("chrf", "bleu", "seconds")} for s in systems}
    return {"cpu": format_safety._cpu(), "model": str(model), "memory": str(memory),
            "run": None if run_dir is None else str(run_dir), "adapt_minutes": minutes,
            "share": SHARE, "catalogs": rows, "average": average,
            "general_before": base_general}


def markdown(report):
    systems = list(report["average"])
    lines = ["| catalog | blanked | " + " | ".join(f"{s} chrF / BLEU" for s in systems)
             + " |", "|---|---|" + "---|" * len(systems)]
    for row in report["catalogs"]:
        cells = [f"{row['systems'][s]['chrf']:.2f} / {row['systems'][s]['bleu']:.2f}"
                 for s in systems]
        lines.append(f"| {row['catalog']} | {row['blanked']} | " + " | ".join(cells) + " |")
    cells = [f"{report['average'][s]['chrf']:.2f} / {report['average'][s]['bleu']:.2f}"
             for s in systems]
    lines.append("| **average** | | " + " | ".join(cells) + " |")
    if report.get("general_before"):
        lines.append("")
        lines.append(f"general test split ({GENERAL_LINES} lines, the export alone) chrF: before "
                     f"{report['general_before']['chrf']:.2f}, after adapting on each catalog "
                     + ", ".join(f"{row['catalog']} {row['general']['chrf']:.2f}"
                                 for row in report["catalogs"]))
    lines.append("")
    lines.append("seconds per `translate po` (model loading included): " + ", ".join(
        f"{row['catalog']} " + "/".join(f"{row['systems'][s]['seconds']:.1f}" for s in systems)
        for row in report["catalogs"]) + f" ({'/'.join(systems)}; CPU: {report['cpu']})")
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="the export (model directory)")
    parser.add_argument("--memory", required=True, help="the memory corpus directory")
    parser.add_argument("--sets", nargs="+", default=["runs/heldout/apps"])
    parser.add_argument("--run", help="the run to adapt (systems adapted and both)")
    parser.add_argument("--adapt-minutes", type=float, default=5.0)
    parser.add_argument("--work", default="runs/catalog_learning")
    parser.add_argument("--json", help="the report (default: WORK/report.json)")
    args = parser.parse_args(argv)
    work = Path(args.work)
    report = run(args.sets, Path(args.model), Path(args.memory), work,
                 Path(args.run) if args.run else None, args.adapt_minutes)
    out = Path(args.json) if args.json else work / "report.json"
    out.write_text(json.dumps(report, indent=1, ensure_ascii=False))
    print(markdown(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
