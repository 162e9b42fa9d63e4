"""A user cache of costly choices, keyed by fingerprints of what they depend on.

An export directory is not written to (TF Serving may be serving it, and it
may be read-only), so what is worked out once for an export, such as the
memory threshold that costs a translation of a dev split, is kept here:
`$TRANSLATE_CACHE_DIR`, else `$XDG_CACHE_HOME/gru-translate`, else
`~/.cache/gru-translate`. Each file is a JSON object from a key (a
fingerprint of the inputs: a changed export or corpus is a new key, never a
stale value) to a value, replaced atomically. Deleting the directory only
costs the work again.
"""

import hashlib
import json
import os
from pathlib import Path

from translate.atomic import atomic_file


def cache_dir():
    """The cache directory (not created)."""
    if os.environ.get("TRANSLATE_CACHE_DIR"):
        return Path(os.environ["TRANSLATE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "gru-translate"


def fingerprint(*parts):
    """A short stable key of strings (file digests, names, settings)."""
    return hashlib.sha256("\0".join(map(str, parts)).encode("utf-8")).hexdigest()[:32]


def lookup(name, key):
    """The value cached under `key` in `<cache dir>/<name>.json`, or None.

    An unreadable or malformed cache file counts as empty: a cache never
    stops the work it saves.
    """
    try:
        return json.loads((cache_dir() / f"{name}.json").read_text(encoding="utf-8")).get(key)
    except (OSError, ValueError, AttributeError):
        return None


def store(name, key, value):
    """Caches `value` (JSON-ready) under `key`; a cache that cannot be
    written is skipped, since the value is returned to the caller anyway.

    Returns:
        The cache file's path, or None when it could not be written.
    """
    path = cache_dir() / f"{name}.json"
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(entries, dict):
            entries = {}
    except (OSError, ValueError):
        entries = {}
    entries[key] = value
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_file(path, encoding="utf-8") as f:
            json.dump(entries, f, indent=1, sort_keys=True)
    except OSError:
        return None
    return path
