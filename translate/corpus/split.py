"""Deterministic train/dev/test splits that never change between runs or machines.

Every decision comes from SHA-256 of UTF-8 text (never Python's salted
`hash`): a text's position is `u = int(sha256(salt + "\\0" + text)[:8]) / 2**64`,
a number in [0, 1).
"""

import collections
import hashlib

from translate.corpus.clean import normalize
from translate.corpus.pairs import CorpusError

SPLITS = ("train", "dev", "test")
_BY = ("hash", "catalog")
_MIN_EXPECTED = 10  # an empty split is an error once its fraction asks for this many

_RULES = {
    "hash": (
        "each pair by u = the first 8 bytes of sha256(salt + '\\0' + normalize(source)), "
        "big-endian, / 2**64: test if u < test_fraction, dev if u < test_fraction + "
        "dev_fraction, else train; a pair's split depends on its source text alone"),
    "catalog": (
        "whole origins (catalogs): N pairs; origins in order of u = the first 8 bytes "
        "of sha256(salt + '\\0' + origin), big-endian, / 2**64 (ties by name); each "
        "goes to test if that brings test's pair count closer to test_fraction * N, "
        "else to dev if that brings dev's count closer to dev_fraction * N, else to "
        "train"),
}


def split_pairs(pairs, dev_fraction=0.02, test_fraction=0.02, by="hash", salt=""):
    """Splits pairs into train, dev and test, deterministically.

    by="hash": each pair goes by its normalised source text alone (see
    `describe_split_rule`), so a pair lands in the same split whatever else
    the corpus holds, and pairs with the same source always share a split.

    by="catalog": whole origins (gettext catalogs, files) are held out, so no
    catalog's vocabulary and style leaks from train into dev or test. Origins
    are visited in the order of their hash; each joins test if that brings
    test's pair count closer to `test_fraction` of the corpus, else dev if that
    brings dev closer to `dev_fraction`, else train. A held-out split thus
    overshoots its target by less than half the last catalog it took, and a
    catalog more than twice a split's target never joins it. Origins are
    hashed as given: read files by relative paths for a split that holds on
    other machines (gettext domains, e.g. "coreutils", are stable anyway).

    Args:
        pairs: an iterable of `Pair`.
        dev_fraction: the share of pairs for dev, in [0, 1).
        test_fraction: the share of pairs for test, in [0, 1);
            `dev_fraction + test_fraction` must be below 1.
        by: "hash" or "catalog".
        salt: a string mixed into every hash, to draw a different split.

    Returns:
        A dict with keys "train", "dev", "test", each a list of `Pair`s in
        their input order.

    Raises:
        ValueError: bad fractions or an unknown `by`.
        CorpusError: the corpus is empty, or a split came out empty although
            its fraction of the corpus is at least 10 pairs (with
            by="catalog": every catalog was too large to hold out).
    """
    _check_arguments(by, dev_fraction, test_fraction, salt)
    pairs = list(pairs)
    if not pairs:
        raise CorpusError("cannot split an empty corpus")
    if by == "hash":
        splits = _split_by_hash(pairs, dev_fraction, test_fraction, salt)
    else:
        splits = _split_by_catalog(pairs, dev_fraction, test_fraction, salt)
    fractions = {"train": 1.0 - dev_fraction - test_fraction, "dev": dev_fraction,
                 "test": test_fraction}
    for name in SPLITS:
        expected = fractions[name] * len(pairs)
        if not splits[name] and expected >= _MIN_EXPECTED:
            hint = (" (by='catalog' holds out whole catalogs, and every catalog is more "
                    "than twice that size; use by='hash' or a larger fraction)"
                    if by == "catalog" else "")
            raise CorpusError(
                f"the {name} split is empty although its fraction {fractions[name]:g} "
                f"of {len(pairs)} pairs asks for about {expected:.0f}{hint}")
    return splits


def describe_split_rule(by, dev_fraction, test_fraction, salt):
    """The split rule as a JSON-serialisable dict, for a corpus manifest.

    Args:
        by: "hash" or "catalog".
        dev_fraction: as for `split_pairs`.
        test_fraction: as for `split_pairs`.
        salt: as for `split_pairs`.

    Returns:
        A dict with "by", "dev_fraction", "test_fraction", "salt", "hash"
        ("sha256") and "rule" (the rule in words).

    Raises:
        ValueError: as `split_pairs`.
    """
    _check_arguments(by, dev_fraction, test_fraction, salt)
    return {"by": by, "dev_fraction": float(dev_fraction),
            "test_fraction": float(test_fraction), "salt": salt, "hash": "sha256",
            "rule": _RULES[by]}


def position(text, salt=""):
    """A text's stable position in [0, 1), from SHA-256.

    Args:
        text: the text (used as given; `split_pairs` normalises sources first).
        salt: mixed into the hash.

    Returns:
        A float in [0, 1), the same on every run and machine.
    """
    digest = hashlib.sha256(f"{salt}\0{text}".encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _check_arguments(by, dev_fraction, test_fraction, salt):
    if by not in _BY:
        raise ValueError(f"by must be one of {_BY}; received {by!r}")
    for name, value in (("dev_fraction", dev_fraction), ("test_fraction", test_fraction)):
        if not 0 <= value < 1:
            raise ValueError(f"{name} must be in [0, 1); received {value}")
    if dev_fraction + test_fraction >= 1:
        raise ValueError(
            f"dev_fraction + test_fraction must be below 1 to leave pairs for "
            f"training; received {dev_fraction} + {test_fraction}")
    if not isinstance(salt, str):
        raise ValueError(f"salt must be a string; received {type(salt).__name__}")


def _split_by_hash(pairs, dev_fraction, test_fraction, salt):
    splits = {name: [] for name in SPLITS}
    for pair in pairs:
        u = position(normalize(pair.source), salt)
        name = ("test" if u < test_fraction else
                "dev" if u < test_fraction + dev_fraction else "train")
        splits[name].append(pair)
    return splits


def _split_by_catalog(pairs, dev_fraction, test_fraction, salt):
    sizes = collections.Counter(pair.origin for pair in pairs)
    targets = {"test": test_fraction * len(pairs), "dev": dev_fraction * len(pairs)}
    counts = {"test": 0, "dev": 0}
    assignment = {}
    for origin in sorted(sizes, key=lambda o: (position(o, salt), o)):
        assignment[origin] = "train"
        for name in ("test", "dev"):
            # Closer to the target: |count + size - target| < |count - target|.
            if counts[name] + sizes[origin] / 2 < targets[name]:
                assignment[origin] = name
                counts[name] += sizes[origin]
                break
    splits = {name: [] for name in SPLITS}
    for pair in pairs:
        splits[assignment[pair.origin]].append(pair)
    return splits
