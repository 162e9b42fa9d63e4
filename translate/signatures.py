"""The interface of an exported translator: signature names, input and output
keys, and the directory layout of its versions.

Written by `translate.export` and used by `translate.serving`, `translate.localize`,
`translate.endpoint` and anything else that talks to or loads an exported
model, defined once here. Imports no TensorFlow, so a client that only talks to the server loads
none to know them.
"""

import json
import re
from pathlib import Path

SERVING_SIGNATURE = "serving_default"
"""Beam search (the beam width fixed at export)."""

GREEDY_SIGNATURE = "translate_greedy"
"""Greedy search."""

N_BEST_SIGNATURE = "translate_n_best"
"""Beam search's hypotheses, all of them, best first."""

GLOSSARY_SIGNATURE = "translate_glossary"
"""Beam search following a glossary given with the sentences (a masking model's
export only): the best hypothesis that keeps every span and has every term."""

N_BEST_GLOSSARY_SIGNATURE = "translate_n_best_glossary"
"""`N_BEST_SIGNATURE` with a glossary."""

GLOSSARY_INPUT_KEYS = ("glossary_source", "glossary_target")
"""The glossary signatures' inputs beside `INPUT_KEY`: `tf.string` `[None]`
each, a term and its target at the same index (any order; an empty glossary
translates as without). Terms match as `translate.glossary` says; each is
masked like a span and written as its target."""

MATCH_SIGNATURE = "translate_match"
"""Beam search reading each sentence's translation memory match (an export of
a model trained with `train.memory_matches` only): outputs as
`serving_default`'s."""

N_BEST_MATCH_SIGNATURE = "translate_n_best_match"
"""`N_BEST_SIGNATURE` reading each sentence's memory match."""

MATCH_TWINS = {SERVING_SIGNATURE: MATCH_SIGNATURE, N_BEST_SIGNATURE: N_BEST_MATCH_SIGNATURE}
"""The signature that reads memory matches for each one that can."""

MATCH_INPUT_KEY = "match"
"""The match signatures' input beside `INPUT_KEY`: `tf.string` `[None]`, for
each sentence the translation of its nearest memory match, "" for none (then
the sentence translates as without)."""

TERMS_OK_KEY = "terms_ok"
"""`bool` output of the glossary signatures (`[None]`, or `[None, n]` for
n-best): the translation contains the target of every term its source has
(case-insensitively)."""

SIGNATURES = (SERVING_SIGNATURE, GREEDY_SIGNATURE)
"""The signatures of one translation per sentence."""

INPUT_KEY = "text"
"""The one input: `tf.string`, shape `[None]`, raw sentences."""

OUTPUT_KEYS = ("translation", "score")
"""The outputs of `serving_default` and `translate_greedy`: `tf.string`
`[None]` translations and `float32` `[None]` length-normalised
log-probabilities; beside them `FORMAT_OK_KEY`."""

FORMAT_OK_KEY = "format_ok"
"""`bool`: the translation brings every protected span of its source back
exactly once (`translate.spans`); always true for a model without masking."""

N_BEST_OUTPUT_KEYS = ("translations", "scores", FORMAT_OK_KEY)
"""The outputs of `translate_n_best`: `tf.string` `[None, n]`, `float32`
`[None, n]` and `bool` `[None, n]`, hypotheses best first."""


SETTINGS_ASSET = "decoding.json"
"""The export's record of its settings, `<version>/assets/decoding.json`;
its optional `"languages"` entry is `{"source": CODE, "target": CODE}`."""


class SignatureNotFound(LookupError):
    """The model (a loaded export, or the model a server serves) has no such
    signature: e.g. an export made before `N_BEST_SIGNATURE` existed."""


_VERSION = re.compile(r"[0-9]+")  # as TF Serving: names of ASCII digits only


def versions(model_dir):
    """The numbered version directories under `model_dir`, lowest first.

    `translate export` writes `BASE_DIR/NAME/<N>/`, the layout TF Serving's
    `--model_base_path=BASE_DIR/NAME` watches; hidden temporary directories
    and other names are not versions. A missing `model_dir` has none.
    """
    model_dir = Path(model_dir)
    if not model_dir.is_dir():
        return []
    found = [p for p in model_dir.iterdir() if p.is_dir() and _VERSION.fullmatch(p.name)]
    return sorted(found, key=lambda p: int(p.name))


def resolve_export(export_dir):
    """The SavedModel version directory that `export_dir` names.

    Args:
        export_dir: a version directory (holding `saved_model.pb`), or a
            model directory (`BASE_DIR/NAME` of `translate export`) whose
            numbered versions are looked at.

    Returns:
        The `Path` of the version directory: `export_dir` itself, or the
        highest numbered version, the one TF Serving serves by default.

    Raises:
        FileNotFoundError: `export_dir` is none of these (the message says
            what is expected).
    """
    path = Path(export_dir)
    if (path / "saved_model.pb").is_file():
        return path
    if not path.is_dir():
        raise FileNotFoundError(f"exported model {path} not found: expected a directory "
                                f"written by `translate export`.")

    found = [p for p in versions(path) if (p / "saved_model.pb").is_file()]
    if not found:
        raise FileNotFoundError(
            f"no exported model in {path}: expected a SavedModel version directory "
            f"({path}/saved_model.pb) or a model directory of numbered versions "
            f"({path}/<N>/saved_model.pb), as `translate export` writes them.")
    return found[-1]

def export_settings(export_dir):
    """The settings an export records (`<version>/assets/decoding.json`).

    Reads the file only (no TensorFlow).

    Args:
        export_dir: a version or model directory (see `resolve_export`).

    Returns:
        A dict; empty for an export without the file.

    Raises:
        FileNotFoundError: no export there (see `resolve_export`).
        ValueError: the file is not a JSON object (named).
    """
    path = resolve_export(export_dir) / "assets" / SETTINGS_ASSET
    if not path.is_file():
        return {}
    try:
        settings = json.loads(path.read_text(encoding="utf-8"))
    except ValueError as error:
        raise ValueError(f"{path}: not a JSON object of settings ({error}).") from None
    if not isinstance(settings, dict):
        raise ValueError(f"{path}: not a JSON object of settings.")
    return settings


def export_languages(export_dir):
    """The language pair an export records, if it records one.

    Reads `<version>/assets/decoding.json` only (no TensorFlow), so it also
    names the pair of a model that TF Serving serves from that directory.

    Args:
        export_dir: a version or model directory (see `resolve_export`).

    Returns:
        `(source, target)` language codes (e.g. `("en", "de")`), or None for
        an export that does not record them (one made before they were
        recorded, or from a corpus whose languages were not known).

    Raises:
        FileNotFoundError: no export there (see `resolve_export`).
        ValueError: the settings file is not JSON, or its `languages` entry
            is not two non-empty codes.
    """
    path = resolve_export(export_dir) / "assets" / SETTINGS_ASSET
    languages = export_settings(export_dir).get("languages")
    if languages is None:
        return None
    pair = (languages.get("source"), languages.get("target")) \
        if isinstance(languages, dict) else (None, None)
    if not all(isinstance(code, str) and code for code in pair):
        raise ValueError(f"{path}: 'languages' must be {{\"source\": CODE, \"target\": CODE}}, "
                         f"found {languages!r}.")
    return pair
