"""`translate prepare`: corpora in, a corpus directory out.

The corpus directory holds `train.tsv`, `dev.tsv`, `test.tsv`, the
SentencePiece model(s) trained on `train.tsv`, and `manifest.json` (inputs,
counts per source and per filter, the split rule, settings, the sha256 of
every file). It appears complete or not at all (`translate.atomic`).
"""

import collections
import datetime
import itertools
import json
from pathlib import Path

from translate import corpus, tokenizer
from translate.atomic import atomic_directory

SPLITS = ("train", "dev", "test")


def read_inputs(*, gettext=None, locale_dir="/usr/share/locale", tsv=(),
                parallel=None, po=(), skip_bad_lines=False, stats=None):
    """Chains the readers for every input named.

    Args:
        gettext: a language code: read `<locale_dir>/<lang>/LC_MESSAGES/*.mo`.
        locale_dir: where the gettext catalogs are.
        tsv: TSV files.
        parallel: `(source_file, target_file)`, or `None`.
        po: `.po` files.
        skip_bad_lines: count and skip malformed lines instead of failing.
        stats: a `collections.Counter` the readers add their counts to.

    Returns:
        `(pairs, inputs)`: an iterator of `corpus.Pair`, and a JSON-ready
        description of the inputs.
    """
    readers, inputs = [], []
    if gettext:
        readers.append(corpus.read_gettext(gettext, locale_dir, stats=stats))
        inputs.append({"gettext": gettext, "locale_dir": str(locale_dir)})
    for path in tsv:
        readers.append(corpus.read_tsv(path, skip_bad_lines, stats=stats))
        inputs.append({"tsv": str(path)})
    if parallel:
        readers.append(corpus.read_parallel(*parallel, skip_bad_lines, stats=stats))
        inputs.append({"parallel": [str(p) for p in parallel]})
    if po:
        readers.append(corpus.read_po_files(po, stats=stats))
        inputs.append({"po": [str(p) for p in po]})
    if not readers:
        raise ValueError("No input: name --gettext, --tsv, --parallel or --po.")
    return itertools.chain.from_iterable(readers), inputs


def prepare_corpus(out_dir, *, split_by="hash", dev_fraction=0.02,
                   test_fraction=0.02, max_chars=500, vocab_size=8000,
                   model_type="unigram", joint=True, overwrite=False,
                   progress=None, mask_spans=True, **input_args):
    """Reads, cleans, splits and tokenizes; writes the corpus directory.

    Args:
        out_dir: the corpus directory to create.
        split_by: "hash" (stable hash of the source) or "catalog" (whole
            catalogs held out for dev and test).
        dev_fraction, test_fraction: shares of the pairs held out.
        max_chars: longer messages are dropped.
        vocab_size, model_type, joint: SentencePiece settings.
        mask_spans: train the tokenizers on masked text with the sentinels
            reserved, for a model that reads protected spans masked
            (`translate.spans`); off, a model that reads text as it is.
        overwrite: replace an existing corpus directory.
        progress: optional wrapper of the pair iterator (a progress bar).
        **input_args: what `read_inputs` takes.

    Returns:
        The manifest, as written to `manifest.json`.

    Raises:
        corpus.CorpusError: bad input, or nothing left after cleaning.
        FileExistsError: `out_dir` exists and `overwrite` is false.
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not overwrite:
        raise FileExistsError(f"{out_dir} already exists; pass overwrite=True (--force) to replace it.")
    stats = collections.Counter()
    pairs, inputs = read_inputs(stats=stats, **input_args)
    read_per_origin = collections.Counter()

    def counted(stream):
        for pair in stream:
            read_per_origin[pair.origin] += 1
            yield pair
    stream = counted(pairs)
    if progress is not None:
        stream = progress(stream)
    kept = list(corpus.clean_pairs(stream, max_chars=max_chars, stats=stats))
    splits = corpus.split_pairs(kept, dev_fraction, test_fraction, by=split_by)
    with atomic_directory(out_dir, overwrite=overwrite) as staging:
        for name in SPLITS:
            corpus.write_tsv(staging / f"{name}.tsv", splits[name])
        tokenizers = tokenizer.train_tokenizers(
            staging / "train.tsv", staging, vocab_size=vocab_size, mask_spans=mask_spans,
            model_type=model_type, joint=joint)
        manifest = {
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(),
            "inputs": inputs,
            "counts": {
                "read_per_source": dict(sorted(read_per_origin.items())),
                "kept_per_source": dict(sorted(collections.Counter(
                    p.origin for p in kept).items())),
                "filters": dict(sorted(stats.items())),
                "splits": {name: len(splits[name]) for name in SPLITS},
            },
            "split_rule": corpus.describe_split_rule(
                split_by, dev_fraction, test_fraction, ""),
            # Which sources (catalogs, files) each held-out split draws from.
            "held_out_sources": {name: sorted({p.origin for p in splits[name]})
                                 for name in SPLITS[1:]} if split_by == "catalog" else None,
            "settings": {"max_chars": max_chars},
            "tokenizer": _relative_paths(tokenizers, staging),
            "sha256": {f.name: corpus.sha256_file(f)
                       for f in sorted(staging.iterdir()) if f.is_file()},
        }
        with open(staging / "manifest.json", "w", encoding="utf-8") as f:
            json.dump(manifest, f, indent=2, ensure_ascii=False)
    return manifest


def tokenizer_paths(corpus_dir):
    """`(source, target)` SentencePiece model paths of a corpus directory,
    from its manifest (one path twice for a joint vocabulary)."""
    corpus_dir = Path(corpus_dir)
    manifest = json.loads((corpus_dir / "manifest.json").read_text())
    return tuple(corpus_dir / manifest["tokenizer"][side] for side in ("source", "target"))


def language_pair(corpus_dir):
    """`(source, target)` language codes of a corpus directory, where known.

    Only gettext catalogs say their language: a corpus read with
    `--gettext LANG` is English (the msgids) to LANG, written as a BCP 47
    tag (`pt_BR` -> `pt-BR`, as Weblate and LibreTranslate write it). Any
    other input names no language.

    Args:
        corpus_dir: a directory made by `translate prepare`.

    Returns:
        `(source, target)`, or None when the inputs do not say.
    """
    manifest = json.loads((Path(corpus_dir) / "manifest.json").read_text())
    languages = {entry["gettext"] for entry in manifest.get("inputs", ()) if "gettext" in entry}
    if len(languages) != 1:
        return None
    return "en", languages.pop().replace("_", "-")


def _relative_paths(value, root):
    """The tokenizer description with paths relative to the corpus dir."""
    if isinstance(value, dict):
        return {k: _relative_paths(v, root) for k, v in value.items()}
    if isinstance(value, Path):
        return str(value.relative_to(root))
    if isinstance(value, str) and value.startswith(str(root)):
        return str(Path(value).relative_to(root))
    return value
