"""More training pairs: other web applications' German catalogs, none held out.

    python benchmarks/web_catalogs.py [--out runs/web]

The held-out sets (`benchmarks/heldout.py`) are web applications' catalogs,
and Debian's catalogs (the corpus everyone has) are mostly desktop and
command-line software's. This takes the translated messages of the German
catalogs that other Python projects ship in their wheels, at the exact
releases of `PACKAGES`, none of them a held-out package or of a held-out
package's family (django-filer, django CMS's sibling, is left out for that):

    OUT/pairs.tsv       msgid<TAB>msgstr, every translated, non-fuzzy,
                        non-obsolete message (a plural's first form),
                        whitespace collapsed, in the order of PACKAGES
    OUT/manifest.json   per package: version, archive, its catalogs, pairs

Then a corpus of Debian's pairs and these (README, "Format safety on other
projects' catalogs"):

    cat runs/c/corpus/train.tsv runs/c/corpus/dev.tsv runs/c/corpus/test.tsv \\
        runs/web/pairs.tsv > runs/web/combined.tsv
    translate prepare --tsv runs/web/combined.tsv --out runs/w/corpus

Downloads need the network (PyPI); archives are kept in `OUT/downloads/`.
"""

import argparse
import json
import sys
from pathlib import Path

import polib

from heldout import SETS, Package, download, german_catalogs, measured_entries
from translate.atomic import atomic_file

PACKAGES = (
    Package("kotti", "2.0.9"),
    Package("apache-superset", "6.1.0"),
    Package("django-import-export", "4.4.3"),
    Package("flask-appbuilder", "5.3.0"),
    Package("indico", "3.2.9"),
    Package("plone.app.locales", "7.0.4"),
    Package("weblate", "5.14.3"),
)
"""Releases whose German catalogs are taken (16,513 pairs in all), in the
order of their archives' names, as the README's run read them."""


def held_out_names():
    """The names of every package of the held-out sets."""
    return {package.name for packages in SETS.values() for package in packages}


def pairs(archive):
    """`(source, target)` of every translated message of an archive's German
    catalogs (`heldout.german_catalogs`), and the catalogs' paths."""
    found, paths = [], []
    for path, data in german_catalogs(archive):
        paths.append(path)
        for entry in measured_entries(polib.pofile(data.decode("utf-8", "replace")), "all"):
            source = " ".join(entry.msgid.split())
            target = " ".join((entry.msgstr or entry.msgstr_plural.get(0, "")).split())
            if source and target:  # (split() also took any tab)
                found.append((source, target))
    return found, paths


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default="runs/web")
    args = parser.parse_args(argv)
    overlap = held_out_names() & {package.name for package in PACKAGES}
    if overlap:
        raise SystemExit(f"held-out packages among the training ones: {sorted(overlap)}")
    out = Path(args.out)
    lines, manifest = [], {}
    for package in PACKAGES:
        archive = download(package, out / "downloads")
        found, paths = pairs(archive)
        lines += [f"{source}\t{target}\n" for source, target in found]
        manifest[package.name] = {"version": package.version, "archive": archive.name,
                                  "catalogs": paths, "pairs": len(found)}
        print(f"{package.name} {package.version}: {len(found):,} pairs from "
              f"{len(paths)} catalogs", flush=True)
    with atomic_file(out / "pairs.tsv", encoding="utf-8") as f:
        f.writelines(lines)
    with atomic_file(out / "manifest.json") as f:
        f.write(json.dumps(manifest, indent=1) + "\n")
    print(f"wrote {out / 'pairs.tsv'}: {len(lines):,} pairs")
    return 0


if __name__ == "__main__":
    sys.exit(main())
