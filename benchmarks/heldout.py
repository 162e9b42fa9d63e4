"""Held-out German catalogs: other projects' software, never in the training corpus.

    python benchmarks/heldout.py [--out runs/heldout] [--sets apps placeholders]
    python benchmarks/heldout.py --from-corpus runs/de-catalog [--name split-catalog]

The training corpus is Debian's installed catalogs
(/usr/share/locale/de/LC_MESSAGES/*.mo, `translate prepare --gettext de`);
the product's users translate their own programs. So the format-safety
measurement (`benchmarks/format_safety.py`) runs on the German catalogs that
Python projects ship in their wheels, downloaded from PyPI at the exact
versions pinned in `SETS` (`pip download --no-deps`):

- `apps`: a documentation generator (Sphinx), an authentication app
  (django-allauth) and a CMS admin (django CMS): every translated message;
- `placeholders`: the messages with a placeholder or an HTML/XML tag in the
  German catalogs of more such projects (an e-commerce framework, a CMS,
  Django itself, mailing-list software and its web UI, an open-data portal, a
  3D-printer UI, a conference planner, an ERP's core and accounting), over
  2,000 of them. The rule is `select`: today's placeholder pattern
  (`translate.placeholders`) and `TAG`, fixed here so that the set stays the
  same when the protected spans that are measured grow.

A catalog with fewer than `MIN_MEASURED` measured messages is left out.

Each set is a directory `<out>/<set>/` (git-ignored under `runs/`) holding
each catalog as the archive had it, byte for byte, at
`<package>-<version>/<path in the archive>`, `manifest.json` (per catalog:
package, version, archive, file, sha256, entries, translated, selected,
training overlap) and `overlap.json` (per catalog: the selected msgids that
are also training sources). Only translated, non-fuzzy messages are
measured: they have a human translation to compare with.

Overlap: a message whose whitespace-normalised msgid is also the source of a
translated message of the training catalogs (`translate.corpus.read_gettext`,
everything `translate prepare --gettext de` reads; for `--from-corpus`, the
corpus's `train.tsv`). Short labels ("Cancel", "Name") are shared by every
program; they are counted, not removed, so that the sets stay whole
catalogs. Nothing here goes into training, and no threshold is chosen on
these sets: `translate po` chooses its memory threshold on the memory
corpus's dev split.

`--from-corpus CORPUS_DIR` makes the same kind of set from the test split of
a corpus prepared with `translate prepare ... --split-by catalog` (whole
catalogs held out of training): `translate.localize.catalogs.catalog_from_tsv(...,
references=True)`, with each message's reference translation (from the TSV)
as its `msgstr`, the human translation.

Downloads need the network (PyPI); the archives are kept in
`<out>/downloads/` and reused.
"""

import argparse
import collections
import hashlib
import json
import re
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import polib

from translate.atomic import atomic_directory
from translate.corpus import normalize, read_gettext, read_tsv
from translate.placeholders import find_placeholders
from translate.localize.catalogs import catalog_from_tsv, read_catalog


class Package(NamedTuple):
    """A PyPI release whose German catalogs are taken."""

    name: str
    version: str


SETS = {
    "apps": (
        Package("sphinx", "9.0.4"),
        Package("django-allauth", "65.22.1"),
        Package("django-cms", "5.1.3"),
    ),
    "placeholders": (
        Package("django-oscar", "4.2.1"),
        Package("wagtail", "8.0.1"),
        Package("django", "5.2.19"),
        Package("mailman", "3.3.10"),
        Package("postorius", "1.3.13"),
        Package("ckan", "2.12.0"),
        Package("octoprint", "1.11.8"),
        Package("pretalx", "2025.2.2"),
        Package("trytond", "8.2.1"),
        Package("trytond-account", "8.2.1"),
    ),
}
"""The held-out sets: exact releases, so the sets can be rebuilt identically."""

SELECTIONS = {"apps": "all", "placeholders": "spans"}
"""Which translated messages of each set are measured (see `select`)."""

MIN_MEASURED = 20
"""Catalogs with fewer measured messages are left out of a set: each catalog
costs the benchmark a `translate po` start (TensorFlow, the export, the
memory: 10-20 s on 2 cores), and a package's small catalogs (most of
wagtail's 19 and Django's 14) add little."""

LANGUAGE = "de"

TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9:._-]*(?:\s+[^<>]*?)?\s*/?>")
"""An HTML/XML start, end or empty tag with its attributes (`<a href="...">`, `</b>`, `<br/>`)."""

# A German catalog in an archive: gettext's layout (`.../de/LC_MESSAGES/x.po`,
# or `de_DE`) or Tryton's (`.../locale/de.po`).
_CATALOG = re.compile(r"(?:^|/)(?:(de|de_DE)/LC_MESSAGES/[^/]+|locale/(de|de_DE))\.po$")


def select(entry, selection):
    """Whether a translated entry belongs to a set with this selection rule.

    Args:
        entry: a `polib.POEntry`.
        selection: "all", or "spans": its msgid (or msgid_plural) holds a
            placeholder (`translate.placeholders.find_placeholders`) or a
            `TAG`.

    Returns:
        True when the entry is measured.

    Raises:
        ValueError: an unknown selection rule.
    """
    if selection == "all":
        return True
    if selection == "spans":
        return any(find_placeholders(text) or TAG.search(text)
                   for text in (entry.msgid, entry.msgid_plural or ""))
    raise ValueError(f"unknown selection {selection!r}: expected 'all' or 'spans'.")


def measured_entries(catalog, selection):
    """The entries of a catalog that a set measures: translated and selected.

    Args:
        catalog: a `polib.POFile`.
        selection: see `select`.

    Returns:
        A list of `polib.POEntry`: not the header, not obsolete, not fuzzy,
        every form translated, and `select`ed.
    """
    return [e for e in catalog
            if e.msgid and not e.obsolete and e.translated() and select(e, selection)]


def training_sources(lang=LANGUAGE, locale_dir="/usr/share/locale"):
    """The whitespace-normalised sources of the training catalogs.

    Args:
        lang: the catalogs' language directory.
        locale_dir: where the installed catalogs are.

    Returns:
        A set of strings: the msgids of the translated messages of
        `<locale_dir>/<lang>/LC_MESSAGES/*.mo`, as `translate prepare
        --gettext` reads them.
    """
    return {normalize(pair.source) for pair in read_gettext(lang, locale_dir)}


def download(package, directory):
    """Downloads one release's archive from PyPI (or finds it downloaded).

    Args:
        package: a `Package`.
        directory: where archives are kept.

    Returns:
        The path of the wheel or sdist.

    Raises:
        RuntimeError: pip failed (its message is included) or left no
            archive of that release.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
         "--no-binary", ":none:", "-d", str(directory), f"{package.name}=={package.version}"],
        capture_output=True, text=True)
    if result.returncode != 0:
        raise RuntimeError(f"pip download {package.name}=={package.version} failed: "
                           f"{result.stderr.strip()[-2000:]}")
    for path in sorted(directory.iterdir()):
        if _release(path.name) == (_normalized(package.name), package.version):
            return path
    raise RuntimeError(f"pip download left no archive of {package.name}=={package.version} "
                       f"in {directory}.")


def _normalized(name):
    """A distribution name as archive file names write it (PEP 503, underscores)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def _release(filename):
    """`(normalized name, version)` of a wheel or sdist file name, or None."""
    if filename.endswith(".whl"):
        name, version = filename.split("-")[:2]
    elif filename.endswith((".tar.gz", ".zip")):
        name, _, version = filename.removesuffix(".tar.gz").removesuffix(".zip").rpartition("-")
    else:
        return None
    return _normalized(name), version


def german_catalogs(archive):
    """The German .po files inside a wheel or sdist.

    Where a project has both `de` and `de_DE` catalogs (Sphinx), `de` is
    taken: the other is a regional variant, often empty.

    Args:
        archive: a `.whl`, `.zip` or `.tar.gz` file.

    Returns:
        A list of `(path in the archive, bytes)`, sorted by path.
    """
    archive = Path(archive)
    found = {}
    if archive.name.endswith(".tar.gz"):
        with tarfile.open(archive) as tar:
            for member in tar.getmembers():
                if member.isfile() and _CATALOG.search(member.name):
                    found[member.name] = tar.extractfile(member).read()
    else:
        with zipfile.ZipFile(archive) as z:
            for name in z.namelist():
                if _CATALOG.search(name):
                    found[name] = z.read(name)
    plain = {n for n in found if "de" in _CATALOG.search(n).groups()}
    if plain:
        found = {n: data for n, data in found.items() if n in plain}
    return sorted(found.items())


def catalog_record(path, selection, sources):
    """Counts one catalog of a set.

    Args:
        path: the .po file.
        selection: see `select`.
        sources: the training sources (`training_sources`).

    Returns:
        `(record, overlap)`: a dict of counts (`entries`: messages, the
        header and obsolete ones not counted; `translated`; `fuzzy`;
        `selected`: the measured ones; `training_overlap`: of those, the
        ones whose msgid is a training source) and the list of those msgids.

    Raises:
        translate.corpus.CorpusError: the catalog cannot be parsed.
    """
    catalog = read_catalog(path)
    messages = [e for e in catalog if e.msgid and not e.obsolete]
    measured = measured_entries(catalog, selection)
    overlap = [e.msgid for e in measured if normalize(e.msgid) in sources]
    record = {
        "entries": len(messages),
        "translated": sum(e.translated() for e in messages),
        "fuzzy": sum(bool(e.fuzzy) for e in messages),
        "selected": len(measured),
        "training_overlap": len(overlap),
    }
    return record, overlap


def _sha256(data):
    return hashlib.sha256(data).hexdigest()


def _totals(catalogs):
    keys = ("entries", "translated", "fuzzy", "selected", "training_overlap")
    totals = collections.Counter()
    for record in catalogs:
        totals.update({k: record[k] for k in keys})
    return {"catalogs": len(catalogs), **{k: totals[k] for k in keys}}


def _write_set(set_dir, manifest, overlap, files):
    """Writes a set directory atomically: its catalogs, manifest and overlap."""
    with atomic_directory(set_dir, overwrite=True) as tmp:
        for relative, data in files.items():
            target = Path(tmp) / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        (Path(tmp) / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
        (Path(tmp) / "overlap.json").write_text(
            json.dumps(overlap, indent=1, ensure_ascii=False) + "\n")


def build_set(name, out, sources, downloads=None):
    """Downloads a set's releases and writes `<out>/<name>/`.

    Args:
        name: a key of `SETS`.
        out: the root of the held-out sets.
        sources: the training sources (`training_sources`).
        downloads: where archives are kept (default `<out>/downloads`).

    Returns:
        The manifest (a dict), also written to `<out>/<name>/manifest.json`.

    Raises:
        KeyError: an unknown set.
        RuntimeError: a download failed, or a release has no German catalog.
    """
    out = Path(out)
    downloads = Path(downloads or out / "downloads")
    selection = SELECTIONS[name]
    records, overlap, files = [], {}, {}
    for package in SETS[name]:
        archive = download(package, downloads)
        catalogs = german_catalogs(archive)
        if not catalogs:
            raise RuntimeError(f"{archive.name} holds no German .po catalog.")
        for member, data in catalogs:
            relative = f"{package.name}-{package.version}/{member}"
            with tempfile.TemporaryDirectory() as scratch:
                path = Path(scratch) / "catalog.po"
                path.write_bytes(data)
                record, shared = catalog_record(path, selection, sources)
            if record["selected"] < MIN_MEASURED:
                continue
            records.append({"package": package.name, "version": package.version,
                            "archive": archive.name, "file": member, "path": relative,
                            "sha256": _sha256(data), **record})
            overlap[relative] = shared
            files[relative] = data
    manifest = {
        "set": name, "language": LANGUAGE, "selection": selection,
        "training": "msgids of the translated messages of "
                    "/usr/share/locale/de/LC_MESSAGES/*.mo (translate.corpus.read_gettext), "
                    "whitespace-normalised",
        "catalogs": records, "totals": _totals(records),
    }
    _write_set(out / name, manifest, overlap, files)
    return manifest


def build_from_corpus(corpus_dir, out, name="split-catalog", split="test"):
    """Makes a set from a prepared corpus's split (e.g. `--split-by catalog`'s test).

    Args:
        corpus_dir: a `translate prepare` output directory.
        out: the root of the held-out sets.
        name: the set's directory name under `out`.
        split: the split to take ("test" or "dev").

    Returns:
        The manifest (a dict), also written to `<out>/<name>/manifest.json`.

    Raises:
        FileNotFoundError: the corpus has no such split.
        translate.corpus.CorpusError: a malformed TSV line.
    """
    corpus_dir = Path(corpus_dir)
    tsv = corpus_dir / f"{split}.tsv"
    if not tsv.exists():
        raise FileNotFoundError(f"{tsv}: no such split (run `translate prepare` first).")
    corpus_manifest = json.loads((corpus_dir / "manifest.json").read_text())
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / f"{split}.po"
        catalog_from_tsv(tsv, path, references=True, language=LANGUAGE)
        catalog = read_catalog(path)
    # The reference from the TSV itself: polib wraps the `#. reference:`
    # comment at 78 columns and reads it back with line breaks there.
    references = {pair.source: pair.target for pair in read_tsv(tsv)}
    for entry in catalog:
        if entry.msgid:
            entry.msgstr = references[entry.msgid]
    data = str(catalog).encode("utf-8")
    relative = f"{corpus_dir.name}/{split}.po"
    sources = {normalize(pair.source) for pair in read_tsv(corpus_dir / "train.tsv")}
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "catalog.po"
        path.write_bytes(data)
        record, shared = catalog_record(path, "all", sources)
    manifest = {
        "set": name, "language": LANGUAGE, "selection": "all",
        "training": f"sources of {corpus_dir / 'train.tsv'}",
        "split": corpus_manifest.get("split"),
        "catalogs": [{"package": str(corpus_dir), "version": None, "archive": None,
                      "file": f"{split}.tsv", "path": relative,
                      "sha256": _sha256(tsv.read_bytes()), **record}],
    }
    manifest["totals"] = _totals(manifest["catalogs"])
    _write_set(Path(out) / name, manifest, {relative: shared}, {relative: data})
    return manifest


def read_set(set_dir):
    """A set's manifest, with each catalog's absolute path added (`catalog`).

    Args:
        set_dir: a directory written by `build_set` or `build_from_corpus`.

    Returns:
        The manifest dict; each entry of `catalogs` also has `catalog` (a
        Path) and `overlap` (the set of its overlapping msgids).

    Raises:
        FileNotFoundError: no manifest there.
    """
    set_dir = Path(set_dir)
    path = set_dir / "manifest.json"
    if not path.exists():
        raise FileNotFoundError(f"{set_dir}: not a held-out set (no manifest.json; build it "
                                f"with benchmarks/heldout.py).")
    manifest = json.loads(path.read_text())
    overlap_path = set_dir / "overlap.json"
    overlap = json.loads(overlap_path.read_text()) if overlap_path.exists() else {}
    for record in manifest["catalogs"]:
        record["catalog"] = set_dir / record["path"]
        record["overlap"] = set(overlap.get(record["path"], ()))
    return manifest


def markdown(manifest):
    """A set's catalogs as a markdown table (one row per catalog and a total)."""
    rows = ["| package | version | file | entries | translated | measured | in training |",
            "|---|---|---|---|---|---|---|"]
    for r in manifest["catalogs"]:
        rows.append(f"| {r['package']} | {r['version'] or ''} | {r['file']} | {r['entries']:,} "
                    f"| {r['translated']:,} | {r['selected']:,} | {r['training_overlap']:,} |")
    t = manifest["totals"]
    rows.append(f"| **{manifest['set']}** ({t['catalogs']} catalogs) | | | {t['entries']:,} "
                f"| {t['translated']:,} | {t['selected']:,} | {t['training_overlap']:,} |")
    return "\n".join(rows)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/heldout", help="root of the sets")
    parser.add_argument("--sets", nargs="+", choices=sorted(SETS), default=sorted(SETS))
    parser.add_argument("--downloads", help="where archives are kept (default OUT/downloads)")
    parser.add_argument("--from-corpus", metavar="CORPUS_DIR",
                        help="instead: a set from this prepared corpus's test split")
    parser.add_argument("--name", default="split-catalog",
                        help="the --from-corpus set's name (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.from_corpus:
        manifests = [build_from_corpus(args.from_corpus, args.out, args.name)]
    else:
        sources = training_sources()
        print(f"training sources: {len(sources):,} distinct msgids of "
              f"/usr/share/locale/{LANGUAGE}/LC_MESSAGES")
        manifests = [build_set(name, args.out, sources, args.downloads) for name in args.sets]
    for manifest in manifests:
        print(f"\n{Path(args.out) / manifest['set']} (selection: {manifest['selection']})\n")
        print(markdown(manifest))
    return 0


if __name__ == "__main__":
    sys.exit(main())
