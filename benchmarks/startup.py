"""How long `translate po` takes on a 200-entry catalog, start-up included.

    python benchmarks/startup.py --model EXPORT_DIR --memory CORPUS_DIR
        [--catalog PO] [--entries 200] [--rounds 5] [--work runs/startup]
        [--json FILE]

The catalog learning issue's target: `translate po` on a 200-entry catalog
answers in <= 10 s on 2 CPU cores, loading the model included. The catalog
is the first `--entries` entries of a held-out catalog (default: django
CMS's German catalog of `benchmarks/heldout.py --sets apps`), with the 20%
share of its translated entries blanked as `benchmarks/catalog_learning.py`
blanks it; the real command fills it in a child process, with the catalog
memory, the corpus memory (`--memory`) and the toolkit's checks, as a
translator runs it.

The first call is reported apart: it chooses the memory threshold on the
corpus's dev split (once per export and corpus, then cached) and may fit
the memory. The next `--rounds` calls are timed, each followed by a bare
`python -c "import tensorflow"`, the floor any TensorFlow command pays on
this machine: their ratio is comparable across machines, the seconds are
not (machines differ 2x; the CPU is printed). Every call must write the
same filled catalog. The report is `<work>/report.json` (or `--json`).
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import catalog_learning  # noqa: E402
from translate.machine import cpu_model  # noqa: E402
from translate.localize.catalogs import read_catalog, write_catalog  # noqa: E402

TARGET_SECONDS = 10.0
DEFAULT_CATALOG = "runs/heldout/apps/django-cms-5.1.3/cms/locale/de/LC_MESSAGES/django.po"
TRANSLATE = [sys.executable, "-m", "translate"]


def slice_catalog(catalog_path, entries, out):
    """Writes the catalog's header and first `entries` entries to `out`."""
    catalog = read_catalog(catalog_path)
    del catalog[entries:]
    write_catalog(catalog, out)


def timed(command):
    """`(seconds, stdout)` of a command that must succeed."""
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return seconds, result.stdout


def run(model, memory, catalog, entries, rounds, work):
    """Slices and blanks the catalog, then times `translate po` against `import tensorflow`."""
    work.mkdir(parents=True, exist_ok=True)
    sliced, blanked_path = work / f"catalog{entries}.po", work / f"catalog{entries}.blanked.po"
    slice_catalog(catalog, entries, sliced)
    blanked, kept = catalog_learning.blank(sliced, blanked_path)
    filled = work / "filled.po"
    po = [*TRANSLATE, "po", str(blanked_path), "--model", str(model), "--memory", str(memory),
          "--out", str(filled)]
    first, summary = timed(po)
    expected = filled.read_bytes()
    calls, floors = [], []
    for _ in range(rounds):
        calls.append(timed(po)[0])
        if filled.read_bytes() != expected:
            raise RuntimeError("translate po wrote another catalog than its first call")
        floors.append(timed([sys.executable, "-c", "import tensorflow"])[0])
    median, floor = statistics.median(calls), statistics.median(floors)
    return {"cpu": cpu_model(), "cores": os.cpu_count(), "model": str(model),
            "memory": str(memory), "catalog": str(catalog), "entries": entries,
            "blanked": len(blanked), "translated_kept": kept, "first_call_seconds": first,
            "seconds": calls, "import_tensorflow_seconds": floors, "median_seconds": median,
            "median_import_tensorflow_seconds": floor, "ratio_to_import": median / floor,
            "target_seconds": TARGET_SECONDS, "met": median <= TARGET_SECONDS,
            "load_average": os.getloadavg(), "summary": summary.strip().splitlines()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help="an export (translate export)")
    parser.add_argument("--memory", required=True, help="the memory's corpus directory")
    parser.add_argument("--catalog", default=DEFAULT_CATALOG)
    parser.add_argument("--entries", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--work", default="runs/startup")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)
    if not Path(args.catalog).is_file():
        parser.error(f"{args.catalog} not found: build it with "
                     f"`python benchmarks/heldout.py --sets apps`, or give --catalog.")
    work = Path(args.work)
    report = run(args.model, args.memory, args.catalog, args.entries, args.rounds, work)
    out = Path(args.json) if args.json else work / "report.json"
    out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    print(f"CPU: {report['cpu']}, {report['cores']} cores; {report['entries']} entries, "
          f"{report['blanked']} blanked")
    print(f"first call (threshold chosen, memory fitted if not cached): "
          f"{report['first_call_seconds']:.1f} s")
    print("translate po: " + ", ".join(f"{s:.2f}" for s in report["seconds"])
          + f" s; median {report['median_seconds']:.2f} s (target <= {TARGET_SECONDS:.0f} s: "
          + ("met" if report["met"] else "not met") + ")")
    print("import tensorflow: " + ", ".join(f"{s:.2f}" for s in report["import_tensorflow_seconds"])
          + f" s; translate po / import tensorflow: {report['ratio_to_import']:.2f}")
    print(f"report: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
