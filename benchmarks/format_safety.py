"""Format safety on held-out catalogs, judged by the localisation field's own tools.

    python benchmarks/format_safety.py --model EXPORT_DIR [--memory CORPUS_DIR]
        [--sets runs/heldout/apps runs/heldout/placeholders runs/heldout/split-catalog]
        [--work runs/format_safety] [--json FILE]

The held-out sets come from `benchmarks/heldout.py` (German catalogs of
other projects, and the test split of a `--split-by catalog` corpus). For
each catalog of each set, the measured messages (translated, `heldout.select`)
are copied twice: `*.human.po` with the human translations, `*.blank.po`
with every translation blanked. Then what a user gets is measured: the real
command, `translate po BLANK --model EXPORT --out FILLED [--memory ...]`, in
a child process, fills `*.filled.po`, and on the filled entries:

(a) Translate Toolkit's `pofilter` (the real tool, `translate.toolkit`; with
    `--language de`) runs the checks of `CHECKS` on the filled catalog and
    on the human one; each failing unit comes back with a translator comment
    `(pofilter) CHECK: message` per failed check, which is what is counted:
    failures per 100 filled entries, per check, for the machine
    translations and for the human translations of the same entries. Each
    check's Translate Toolkit category (critical, functional, cosmetic) is
    asked of the toolkit itself; "critical" totals use it.
(b) `msgfmt --check-format --use-fuzzy -o /dev/null FILLED`, per catalog
    (and on the human catalog, for comparison). `--use-fuzzy` is needed:
    every filled entry is fuzzy, and msgfmt checks no fuzzy entry without
    it. msgfmt only checks entries flagged `c-format`, `python-format`,
    `python-brace-format` etc.; the report counts how many filled entries
    carry such a flag.
(c) Protected spans reproduced exactly: an entry is exact when, form by
    form (plural forms against their own source: `msgid` for `msgstr[0]`,
    `msgid_plural` for the others), the multiset of its protected spans is
    the source's. Spans are `translate.spans.find_spans` where that module
    exists, else today's placeholders (`translate.placeholders`) plus
    `heldout.TAG`; the report names which. Shares: of the filled entries, of
    the filled entries whose source has spans, and of all measured entries
    whose source has spans (one left untranslated counts as not reproduced).
(d) sacrebleu BLEU and chrF (`translate.evaluation.score`; the first form of
    a plural entry) of the filled entries against the human translations,
    next to copying the source on the same entries; and over all measured
    entries, an unfilled one counted as its source (what the program then
    shows).
(e) How many entries were filled (from the memory, by the model) and kept
    untranslated, counted in the filled catalog, with the reasons of `translate
    po`'s own summary (its printed lines are kept in the report).
(f) With `--memory`: (d)'s scores over all entries per band of the memory's
    match similarity (`translate.evaluation.SIMILARITY_BANDS`; each msgid's
    nearest source in the memory corpus's train split), so that two models
    compare where the memory has something close and where it has not.

The `split-catalog` set measures what it should only with a model trained
on that corpus's train split (and its memory): a model or memory of a
hash-split corpus has seen those catalogs. The report counts, per set, the
messages whose msgid is a training source (from the set's manifest) and a
source of the memory given (`in_memory`), so a leak shows.

Each entry's outcome is in `<work>/entries.jsonl`; the report is
`<work>/report.json` (or `--json`), and a markdown table is printed. With
`--memory` and no `--memory-threshold`, the first `translate po` chooses the
threshold on the memory corpus's dev split (never on a held-out set) and
the later catalogs reuse it.
"""

import argparse
import collections
import copy
import datetime
import json
import re
import subprocess
import sys
from pathlib import Path

import polib

import heldout
from translate import evaluation
from translate.atomic import atomic_file
from translate.corpus import normalize
from translate.placeholders import find_placeholders
from translate.localize.catalogs import nplurals, read_catalog, write_catalog
from translate.localize.fill import COMMENT_PREFIX
from translate.machine import cpu_model
from translate.memory import TranslationMemory
from translate.toolkit import python_command, tool_command

try:
    from translate.spans import find_spans as _find_spans
except ImportError:  # before issue 13's protected spans exist
    _find_spans = None

CHECKS = ("printf", "pythonbraceformat", "variables", "xmltags", "escapes", "newlines",
          "tabs", "nplurals", "brackets", "numbers", "urls", "emails", "startwhitespace",
          "endwhitespace", "doublespacing")
"""The pofilter checks run: issue 13's list and the rest of the toolkit's critical ones.

`accelerators` is added with `--accelerators STYLE` (the catalogs'
convention must be known for it to mean anything)."""

ACCELERATOR_STYLES = ("gnome", "kde", "mozilla", "openoffice", "libreoffice", "drupal", "wx")
"""pofilter's checker styles, which set the accelerator marker (`_`, `&`, `~`)."""

SPANS = "translate.spans.find_spans" if _find_spans else \
    "translate.placeholders.find_placeholders + heldout.TAG"
"""Which definition of protected spans this run measures."""

_POFILTER_NOTE = re.compile(r"^\(pofilter\) ([A-Za-z0-9_-]+): ")
_MSGFMT_ERROR = re.compile(r":\d+: ")
_FORMAT_FLAG = re.compile(r"^(?!no-)[a-z-]+-format$")  # msgfmt checks these; not no-c-format
_CATEGORY_NAMES = {100: "critical", 60: "functional", 30: "cosmetic", 10: "extraction"}


def protected_spans(text):
    """The spans of a message that a translation must reproduce exactly.

    Args:
        text: a message.

    Returns:
        A list of strings (`translate.spans.find_spans` if it exists, else
        placeholders and HTML/XML tags).
    """
    if _find_spans is not None:
        return list(_find_spans(text))
    return find_placeholders(text) + heldout.TAG.findall(text)


def same_spans(source, translation):
    """Whether a translation holds exactly its source's protected spans (as multisets)."""
    return (collections.Counter(protected_spans(source))
            == collections.Counter(protected_spans(translation)))


def entry_key(entry):
    """How an entry is found again in another catalog: `(msgctxt, msgid)`."""
    return entry.msgctxt or None, entry.msgid


def forms(entry, count):
    """`(source, translation)` of each form of an entry, `msgstr[0]` first.

    Args:
        entry: a `polib.POEntry`.
        count: the catalog's number of plural forms (`translate.localize.catalogs.nplurals`).

    Returns:
        A list of pairs; one for a singular entry. A plural entry's forms
        are its `msgstr[i]` in order, a missing one as "".
    """
    if not entry.msgid_plural:
        return [(entry.msgid, entry.msgstr)]
    sources = [entry.msgid_plural] if count == 1 else \
        [entry.msgid] + [entry.msgid_plural] * (count - 1)
    texts = {int(i): t for i, t in entry.msgstr_plural.items()}
    return [(s, texts.get(i, "")) for i, s in enumerate(sources)]


def machine_origin(entry):
    """"memory" or "model" for an entry `translate po` filled, else None."""
    if not entry.fuzzy:
        return None
    for line in (entry.tcomment or "").splitlines():
        if line.startswith(COMMENT_PREFIX):
            return "memory" if line[len(COMMENT_PREFIX):].strip().startswith("memory") \
                else "model"
    return None


def blank_catalogs(catalog_path, selection, human_out, blank_out):
    """Writes the measured entries of a catalog with and without their translations.

    Args:
        catalog_path: a held-out .po file.
        selection: the set's rule (`heldout.select`).
        human_out: the .po file of the measured entries as translated.
        blank_out: the same entries with every translation emptied.

    Returns:
        The number of measured entries.

    Raises:
        translate.corpus.CorpusError: the catalog cannot be parsed.
    """
    original = read_catalog(catalog_path)
    human = polib.POFile(wrapwidth=original.wrapwidth, encoding="utf-8")
    human.header = original.header
    human.metadata = {**original.metadata,
                      "Content-Type": "text/plain; charset=UTF-8"}
    blank = copy.deepcopy(human)
    for entry in heldout.measured_entries(original, selection):
        human.append(copy.deepcopy(entry))
        empty = copy.deepcopy(entry)
        if empty.msgid_plural:
            empty.msgstr_plural = {i: "" for i in empty.msgstr_plural}
        else:
            empty.msgstr = ""
        blank.append(empty)
    write_catalog(human, human_out)
    write_catalog(blank, blank_out)
    return len(human)


def pofilter(po_path, out_path, checks=CHECKS, style=None, language=heldout.LANGUAGE):
    """Runs Translate Toolkit's pofilter on a catalog; returns what failed.

    Args:
        po_path: the .po file checked (fuzzy entries included: pofilter's
            default).
        out_path: where pofilter writes the failing units (it writes nothing
            when none fails; an old file there is removed first).
        checks: the checks run (`pofilter -t CHECK` each).
        style: one of `ACCELERATOR_STYLES`, or None for the standard checker.
        language: the target language (`--language`).

    Returns:
        `{(msgctxt, msgid): set of failed checks}` (see `parse_pofilter`).

    Raises:
        RuntimeError: pofilter failed (its message is included).
        translate.toolkit.ToolkitMissing: the toolkit is not installed.
    """
    out_path = Path(out_path)
    out_path.unlink(missing_ok=True)
    command = tool_command("pofilter", "--language", language,
                           *(f"--test={check}" for check in checks),
                           *([f"--{style}"] if style else []), str(po_path), str(out_path))
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pofilter failed on {po_path}: {result.stderr.strip()[-2000:]}")
    return parse_pofilter(out_path)


def parse_pofilter(out_path):
    """The failures recorded in a pofilter output catalog.

    pofilter writes each failing unit with one translator comment
    `(pofilter) CHECK: message` per check it failed; it writes no file at
    all when no unit fails.

    Args:
        out_path: pofilter's output .po file (it may not exist).

    Returns:
        `{(msgctxt, msgid): set of check names}`.
    """
    if not Path(out_path).exists():
        return {}
    failures = {}
    for entry in polib.pofile(str(out_path)):
        names = {m.group(1) for m in map(_POFILTER_NOTE.match, (entry.tcomment or "").splitlines())
                 if m}
        if names and entry.msgid:
            failures[entry_key(entry)] = names
    return failures


def check_categories():
    """Each pofilter check's category, as Translate Toolkit records it.

    The toolkit records a check's category when the check first runs, so one
    unit is checked in a child process (the toolkit cannot be imported here).

    Returns:
        `{check: "critical" | "functional" | "cosmetic" | "extraction"}`.

    Raises:
        RuntimeError: the child process failed.
    """
    code = ("import json\n"
            "from translate.filters import checks\n"
            "from translate.storage import pypo\n"
            "tee = checks.TeeChecker(checkerclasses=[checks.StandardChecker, "
            "checks.StandardUnitChecker])\n"
            "unit = pypo.pounit('Open the file'); unit.target = 'Datei öffnen'\n"
            "tee.run_filters(unit)\n"
            "categories = {}\n"
            "for checker in tee.checkers: categories.update(checker.categories)\n"
            "print(json.dumps(categories))\n")
    result = subprocess.run(python_command(code), capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"asking Translate Toolkit for its check categories failed: "
                           f"{result.stderr.strip()[-2000:]}")
    return {name: _CATEGORY_NAMES.get(value, str(value))
            for name, value in json.loads(result.stdout).items()}


def msgfmt_check(po_path):
    """`msgfmt --check-format --use-fuzzy -o /dev/null` on a catalog.

    Args:
        po_path: the .po file.

    Returns:
        A dict: `passed` (bool), `errors` (msgfmt's `file:line: ...`
        messages).
    """
    result = subprocess.run(["msgfmt", "--check-format", "--use-fuzzy", "-o", "/dev/null",
                             str(po_path)], capture_output=True, text=True)
    errors = [line for line in result.stderr.splitlines() if _MSGFMT_ERROR.search(line)]
    return {"passed": result.returncode == 0, "errors": errors}


_FILLED = re.compile(r"filled (\d+) of (\d+) untranslated messages as fuzzy "
                     r"\((\d+) from the catalog memory, (\d+) from the corpus memory, "
                     r"(\d+) by the model")
_THRESHOLD = re.compile(r"memory threshold: ([0-9.]+)")
_KEPT = re.compile(r"kept untranslated: (.*?)(?:; untouched:|$)", re.MULTILINE)
_KEPT_ITEM = re.compile(r"(\d+) (.*?)(?=, \d|$)")


def parse_po_summary(stdout):
    """The counts in what `translate po` prints.

    Args:
        stdout: the command's standard output.

    Returns:
        A dict: `filled`, `untranslated`, `from_catalog`, `from_memory`,
        `from_model` (ints, or None if not printed), `memory_threshold` (float or None),
        `kept` (`{reason as printed: count}`) and `lines` (the output's
        lines, kept as printed).
    """
    names = ("filled", "untranslated", "from_catalog", "from_memory", "from_model")
    summary = {**dict.fromkeys(names), "memory_threshold": None, "kept": {},
               "lines": stdout.splitlines()}
    if match := _FILLED.search(stdout):
        for name, value in zip(names,
                               match.groups()):
            summary[name] = int(value)
    if match := _THRESHOLD.search(stdout):
        summary["memory_threshold"] = float(match.group(1))
    if match := _KEPT.search(stdout):
        summary["kept"] = {reason.strip(): int(n)
                           for n, reason in _KEPT_ITEM.findall(match.group(1))}
    return summary


def entry_records(human_path, filled_path, *, catalog, overlap=(), memory_sources=(),
                  memory=None, checks=CHECKS, style=None):
    """Each measured entry's outcome: filled or not, checks, spans, texts.

    Args:
        human_path: the measured entries with their human translations.
        filled_path: the catalog `translate po` filled (None: it failed, no
            entry was filled).
        catalog: the catalog's name in the records.
        overlap: msgids that are also training sources.
        memory_sources: the memory corpus's sources, whitespace-normalised.
        memory: the memory as a `translate.memory.TranslationMemory`, or None.
        checks, style: as for `pofilter`.

    Returns:
        A list of dicts, one per entry of `human_path`, in its order:
        `catalog`, `msgctxt`, `msgid`, `filled` (bool), `origin` ("memory",
        "model" or None), `source`, `human`, `machine` (the first form; None
        unfilled), `has_spans`, `machine_spans_exact`, `human_spans_exact`,
        `machine_failures`, `human_failures` (pofilter's failed checks;
        `machine_failures` empty when unfilled), `format_flagged`,
        `in_training`, `in_memory` (the msgid is a source of the memory),
        `memory_similarity` (of the msgid's nearest memory source; None
        without `memory`).
    """
    human = read_catalog(human_path)
    count = nplurals(human)
    human_failures = pofilter(human_path, Path(human_path).with_suffix(".pofilter.po"),
                              checks, style)
    filled, machine_failures = {}, {}
    if filled_path is not None:
        filled = {entry_key(e): e for e in read_catalog(filled_path) if e.msgid}
        machine_failures = pofilter(filled_path, Path(filled_path).with_suffix(".pofilter.po"),
                                    checks, style)
    overlap, memory_sources = set(overlap), set(memory_sources)
    records = []
    for entry in human:
        if not entry.msgid:
            continue
        key = entry_key(entry)
        human_forms = forms(entry, count)
        machine = filled.get(key)
        origin = machine_origin(machine) if machine is not None else None
        machine_forms = forms(machine, count) if origin else None
        has_spans = any(protected_spans(s) for s, _ in human_forms)
        records.append({
            "catalog": catalog, "msgctxt": entry.msgctxt, "msgid": entry.msgid,
            "filled": origin is not None, "origin": origin,
            "source": human_forms[0][0], "human": human_forms[0][1],
            "machine": machine_forms[0][1] if machine_forms else None,
            "has_spans": has_spans,
            "machine_spans_exact": bool(machine_forms) and all(
                same_spans(s, t) for s, t in machine_forms),
            "human_spans_exact": all(same_spans(s, t) for s, t in human_forms),
            "machine_failures": sorted(machine_failures.get(key, ())) if origin else [],
            "human_failures": sorted(human_failures.get(key, ())),
            "format_flagged": any(_FORMAT_FLAG.match(flag) for flag in entry.flags),
            "in_training": entry.msgid in overlap,
            "in_memory": normalize(entry.msgid) in memory_sources,
            "memory_similarity": None,
        })
    if memory is not None:
        for record, match in zip(records, memory.lookup([r["msgid"] for r in records])):
            record["memory_similarity"] = match.similarity
    return records


def _share(part, whole):
    return part / whole if whole else None


def _per_100(count, whole):
    return 100 * count / whole if whole else None


def summarize(records, checks=CHECKS, categories=None):
    """The figures of a group of entries (a catalog, a set, everything).

    Args:
        records: `entry_records` dicts.
        checks: the checks that were run.
        categories: `check_categories()`, or None.

    Returns:
        A JSON-ready dict: `entries`, `filled`, `from_memory`, `from_model`,
        `kept_untranslated`; `pofilter` (per check: `category`, `machine`
        and `human` failure counts on the filled entries, and per 100 filled
        entries; totals over all checks and over the critical ones, and the
        human translations' rate over all measured entries); `spans` (the
        shares of (c)); `scores` (the BLEU/chrF of (d); None where nothing
        was filled); `in_training` (measured entries whose msgid is a
        training source), `in_memory` (whose msgid is a memory source);
        `format_flagged_filled`; `bands` (`translate.evaluation.band_scores`
        of `model_else_source` and `copy` over all entries by their
        `memory_similarity`; None when the records have none).
    """
    categories = categories or {}
    filled = [r for r in records if r["filled"]]
    n = len(filled)
    per_check = {}
    for check in checks:
        machine = sum(check in r["machine_failures"] for r in filled)
        human = sum(check in r["human_failures"] for r in filled)
        per_check[check] = {"category": categories.get(check), "machine": machine,
                            "human": human, "machine_per_100": _per_100(machine, n),
                            "human_per_100": _per_100(human, n)}

    def total(side, only_critical, rows=filled):
        return sum(len([c for c in r[f"{side}_failures"]
                        if not only_critical or categories.get(c) == "critical"])
                   for r in rows)

    pofilter_figures = {
        "checks": per_check,
        "machine_per_100": _per_100(total("machine", False), n),
        "human_per_100": _per_100(total("human", False), n),
        "machine_critical_per_100": _per_100(total("machine", True), n),
        "human_critical_per_100": _per_100(total("human", True), n),
        "machine_entries_failing": sum(bool(r["machine_failures"]) for r in filled),
        "human_entries_failing": sum(bool(r["human_failures"]) for r in filled),
        "human_per_100_all_entries": _per_100(total("human", False, records), len(records)),
    }
    with_spans = [r for r in records if r["has_spans"]]
    filled_with_spans = [r for r in filled if r["has_spans"]]
    spans = {
        "definition": SPANS,
        "entries_with_spans": len(with_spans),
        "filled_exact": _share(sum(r["machine_spans_exact"] for r in filled), n),
        "filled_with_spans": len(filled_with_spans),
        "filled_with_spans_exact": _share(
            sum(r["machine_spans_exact"] for r in filled_with_spans), len(filled_with_spans)),
        "all_with_spans_exact": _share(
            sum(r["machine_spans_exact"] for r in with_spans), len(with_spans)),
        "human_with_spans_exact": _share(
            sum(r["human_spans_exact"] for r in with_spans), len(with_spans)),
    }
    scores = None
    if filled and records:
        references = [r["human"] for r in filled]
        scores = {
            "filled_model": _scores([r["machine"] for r in filled], references),
            "filled_copy": _scores([r["source"] for r in filled], references),
            "all_model_else_source": _scores(
                [r["machine"] if r["filled"] else r["source"] for r in records],
                [r["human"] for r in records]),
            "all_copy": _scores([r["source"] for r in records], [r["human"] for r in records]),
        }
    banded = [r for r in records if r["memory_similarity"] is not None]
    bands = evaluation.band_scores(
        [r["memory_similarity"] for r in banded], [r["human"] for r in banded],
        {"model_else_source": [r["machine"] if r["filled"] else r["source"] for r in banded],
         "copy": [r["source"] for r in banded]}) if banded else None
    return {
        "entries": len(records), "filled": n,
        "from_memory": sum(r["origin"] == "memory" for r in filled),
        "from_model": sum(r["origin"] == "model" for r in filled),
        "kept_untranslated": len(records) - n,
        "in_training": sum(r["in_training"] for r in records),
        "in_memory": sum(r["in_memory"] for r in records),
        "format_flagged_filled": sum(r["format_flagged"] for r in filled),
        "pofilter": pofilter_figures, "spans": spans, "scores": scores, "bands": bands,
    }


def _scores(hypotheses, references):
    result = evaluation.score(hypotheses, references)
    return {"bleu": result["bleu"], "chrf": result["chrf"], "sentences": result["sentences"]}


def fill(blank_path, filled_path, model, *, memory=None, threshold=None, signature=None,
         extra=(), env=None):
    """Runs `translate po` as a user would; returns its exit status and summary.

    Args:
        blank_path: the catalog to fill.
        filled_path: the filled catalog to write.
        model: the export directory.
        memory: a memory corpus directory, or None.
        threshold: the memory threshold, or None to let `translate po` choose.
        signature: the export's signature, or None for the default.
        extra: more `translate po` arguments (e.g. `--no-catalog-memory`).
        env: the child's environment, or None for this process's.

    Returns:
        `(returncode, summary, stderr)`: `summary` as `parse_po_summary`.
    """
    command = [sys.executable, "-m", "translate", "po", str(blank_path), "--model", str(model),
               "--out", str(filled_path)]
    if memory:
        command += ["--memory", str(memory)]
    if memory and threshold is not None:
        command += ["--memory-threshold", str(threshold)]
    if signature:
        command += ["--signature", signature]
    result = subprocess.run([*command, *map(str, extra)], capture_output=True, text=True, env=env)
    return result.returncode, parse_po_summary(result.stdout), result.stderr


def run(set_dirs, model, work, *, memory=None, threshold=None, signature=None, style=None,
        segments=None, progress=print):
    """Measures every catalog of the sets; returns the report and the entries.

    Args:
        set_dirs: held-out set directories (`heldout.read_set`).
        model: the export directory given to `translate po --model`.
        work: where the catalogs made and filled go.
        memory, threshold, signature: passed on to `translate po`.
        style: an accelerator style (`ACCELERATOR_STYLES`) or None.
        segments: `translate po --segments` ("first", "fallback"), or None
            for its default.
        progress: called with a line of text per catalog.

    Returns:
        `(report, records)`: the report dict (per catalog, per set, over
        all) and every entry's record.
    """
    checks = CHECKS + (("accelerators",) if style else ())
    categories = check_categories()
    found = TranslationMemory.from_corpus(memory, cache=True) if memory else None
    memory_sources = {normalize(source) for source in found.sources} if found else set()
    work = Path(work)
    catalogs, sets, records = [], {}, []
    for set_dir in set_dirs:
        manifest = heldout.read_set(set_dir)
        name = manifest["set"]
        set_records = []
        for item in manifest["catalogs"]:
            stem = work / name / item["path"]
            stem.parent.mkdir(parents=True, exist_ok=True)
            human, blank = stem.with_suffix(".human.po"), stem.with_suffix(".blank.po")
            filled = stem.with_suffix(".filled.po")
            filled.unlink(missing_ok=True)
            blank_catalogs(item["catalog"], manifest["selection"], human, blank)
            code, summary, stderr = fill(blank, filled, model, memory=memory,
                                         threshold=threshold, signature=signature,
                                         extra=("--segments", segments) if segments else ())
            if memory and threshold is None:
                threshold = summary["memory_threshold"]
            label = f"{name}:{item['path']}"
            entries = entry_records(human, filled if code == 0 else None, catalog=label,
                                    overlap=item["overlap"], memory_sources=memory_sources,
                                    memory=found, checks=checks, style=style)
            result = {"set": name, "package": item["package"], "version": item["version"],
                      "file": item["file"], "filled_catalog": str(filled),
                      "translate_po": {"returncode": code, **summary,
                                       "stderr": stderr.strip()[-2000:] if code else ""},
                      "msgfmt": msgfmt_check(filled) if code == 0 else None,
                      "msgfmt_human": msgfmt_check(human),
                      **summarize(entries, checks, categories)}
            catalogs.append(result)
            set_records += entries
            progress(f"{label}: {result['filled']} of {result['entries']} filled"
                     + ("" if code == 0 else f"; translate po FAILED (exit {code})"))
        sets[name] = {**summarize(set_records, checks, categories),
                      **_catalog_totals([c for c in catalogs if c["set"] == name])}
        records += set_records
    report = {
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "cpu": cpu_model(), "model": str(model), "memory": str(memory) if memory else None,
        "memory_threshold": threshold, "signature": signature, "segments": segments,
        "checks": list(checks),
        "check_categories": {c: categories.get(c) for c in checks},
        "accelerator_style": style, "spans": SPANS,
        "sets": sets, "all": summarize(records, checks, categories), "catalogs": catalogs,
    }
    report["all"].update(_catalog_totals(catalogs))
    return report, records


def _catalog_totals(catalogs):
    """What is counted per catalog, over a group of catalogs."""
    kept = collections.Counter()
    for c in catalogs:
        kept.update(c["translate_po"]["kept"])
    return {"catalogs": len(catalogs),
            "msgfmt_passed": sum(bool(c["msgfmt"] and c["msgfmt"]["passed"]) for c in catalogs),
            "kept_reasons": dict(kept)}


def _pct(value):
    return "-" if value is None else f"{100 * value:.1f}%"


def _num(value, digits=2):
    return "-" if value is None else f"{value:.{digits}f}"


def markdown(report):
    """The report as markdown: per set (and all) the counts and checks, the
    spans and scores, then each check's failures."""
    groups = {**report["sets"], "all": report["all"]}
    counts = [
        "| set | catalogs | entries | in training / memory | filled: memory + model | kept "
        "| msgfmt passed (filled entries it checks) | pofilter failures /100 filled: machine "
        "| human "
        "| critical only: machine | human |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    quality = [
        "| set | spans exact: filled | filled with spans | all with spans | human "
        "| chrF filled: model | copy | BLEU filled: model | copy | chrF all: filled, else source "
        "| copy |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, g in groups.items():
        p, s, sc = g["pofilter"], g["spans"], g["scores"] or {}

        def score(system, metric):
            return _num(sc.get(system, {}).get(metric))
        counts.append(
            f"| {name} | {g['catalogs']} | {g['entries']:,} "
            f"| {g['in_training']:,} / {g['in_memory']:,} | {g['filled']:,}: "
            f"{g['from_memory']:,} + {g['from_model']:,} | {g['kept_untranslated']:,} "
            f"| {g['msgfmt_passed']} of {g['catalogs']} ({g['format_flagged_filled']:,}) "
            f"| {_num(p['machine_per_100'])} | {_num(p['human_per_100'])} "
            f"| {_num(p['machine_critical_per_100'])} | {_num(p['human_critical_per_100'])} |")
        quality.append(
            f"| {name} | {_pct(s['filled_exact'])} | {_pct(s['filled_with_spans_exact'])} "
            f"({s['filled_with_spans']:,}) | {_pct(s['all_with_spans_exact'])} "
            f"({s['entries_with_spans']:,}) | {_pct(s['human_with_spans_exact'])} "
            f"| {score('filled_model', 'chrf')} | {score('filled_copy', 'chrf')} "
            f"| {score('filled_model', 'bleu')} | {score('filled_copy', 'bleu')} "
            f"| {score('all_model_else_source', 'chrf')} | {score('all_copy', 'chrf')} |")
    bands = ["| set | memory match similarity | entries | chrF all: filled, else source "
             "| copy | BLEU all: filled, else source | copy |", "|---|---|---|---|---|---|---|"]
    for name, g in groups.items():
        for row in g["bands"] or ():
            bands.append(f"| {name} | {row['band']} | {row['sentences']:,} "
                         f"| {_num(row['model_else_source']['chrf'])} "
                         f"| {_num(row['copy']['chrf'])} "
                         f"| {_num(row['model_else_source']['bleu'])} "
                         f"| {_num(row['copy']['bleu'])} |")
    checks = ["| check (Translate Toolkit's category) | machine (/100 filled) "
              "| human, same entries |", "|---|---|---|"]
    for check, c in report["all"]["pofilter"]["checks"].items():
        checks.append(f"| {check} ({c['category'] or '?'}) | {c['machine']} "
                      f"({_num(c['machine_per_100'])}) | {c['human']} "
                      f"({_num(c['human_per_100'])}) |")
    notes = []
    for c in report["catalogs"]:
        if c["msgfmt"] is None:
            notes.append(f"- {c['set']}: {c['file']}: translate po failed "
                         f"(exit {c['translate_po']['returncode']})")
        elif not c["msgfmt"]["passed"]:
            notes.append(f"- {c['set']}: {c['file']}: msgfmt found "
                         f"{len(c['msgfmt']['errors'])} errors")
        if c["translate_po"]["filled"] not in (None, c["filled"]):
            notes.append(f"- {c['set']}: {c['file']}: translate po said it filled "
                         f"{c['translate_po']['filled']}, the catalog has {c['filled']}")
    for name, g in groups.items():
        if g["kept_reasons"]:
            reasons = ", ".join(f"{n} {why}" for why, n in g["kept_reasons"].items())
            notes.append(f"- {name}: kept untranslated, as translate po counted them: {reasons}")
    return "\n".join(counts + [""] + quality + [""] + (bands + [""] if len(bands) > 2 else [])
                     + checks
                     + ([""] + notes if notes else []))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, metavar="EXPORT_DIR",
                        help="the export given to `translate po --model`")
    parser.add_argument("--memory", metavar="CORPUS_DIR",
                        help="a memory corpus for `translate po --memory`")
    parser.add_argument("--memory-threshold", type=float, metavar="S",
                        help="passed on to `translate po` (default: it chooses on the memory "
                             "corpus's dev split, once)")
    parser.add_argument("--signature", help="passed on to `translate po --signature`")
    parser.add_argument("--segments", choices=("first", "fallback"),
                        help="passed on to `translate po --segments` (default: its own)")
    parser.add_argument("--accelerators", choices=ACCELERATOR_STYLES,
                        help="the catalogs' accelerator convention (pofilter's checker "
                             "style); adds the accelerators check")
    parser.add_argument("--sets", nargs="+", metavar="SET_DIR",
                        help="held-out set directories (default: every set under "
                             "runs/heldout)")
    parser.add_argument("--work", default="runs/format_safety",
                        help="where catalogs are made and filled (default: %(default)s)")
    parser.add_argument("--json", help="the report (default: WORK/report.json)")
    args = parser.parse_args(argv)
    sets = args.sets or sorted(str(p.parent) for p in Path("runs/heldout").glob("*/manifest.json"))
    if not sets:
        parser.error("no held-out sets: build them with benchmarks/heldout.py, or give --sets.")
    report, records = run(sets, args.model, args.work, memory=args.memory,
                          threshold=args.memory_threshold, signature=args.signature,
                          style=args.accelerators, segments=args.segments)
    work = Path(args.work)
    with atomic_file(work / "entries.jsonl") as f:
        for record in records:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    json_path = Path(args.json or work / "report.json")
    with atomic_file(json_path) as f:
        json.dump(report, f, indent=1, ensure_ascii=False)
    print(f"\nmodel {report['model']}" + (f", memory {report['memory']} (threshold "
                                          f"{report['memory_threshold']})" if args.memory else "")
          + f"; protected spans: {report['spans']}; CPU: {report['cpu']}\n")
    print(markdown(report))
    print(f"\nreport: {json_path}; entries: {work / 'entries.jsonl'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
