"""Atomic writes: outputs appear complete or not at all."""

import contextlib
import os
import shutil
import tempfile
from pathlib import Path


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _ordinary_permissions(path, directory):
    """mkstemp/mkdtemp create private files; give them the usual umask bits
    (a serving process running as another user must read an export)."""
    os.chmod(path, (0o777 if directory else 0o666) & ~_umask())


@contextlib.contextmanager
def atomic_directory(target, overwrite=False):
    """Yields a temporary directory beside `target`, renamed to it on success.

    Readers never see a half-written directory: everything is written into a
    hidden sibling (same file system), which replaces `target` only when the
    block ends without an exception; on an exception it is removed.

    Args:
        target: the directory to produce.
        overwrite: replace an existing `target`; otherwise an existing
            `target` is an error.

    Yields:
        The temporary directory's `Path`.

    Raises:
        FileExistsError: `target` exists and `overwrite` is false.
    """
    target = Path(target)
    if target.exists() and not overwrite:
        raise FileExistsError(f"{target} already exists; refusing to overwrite it.")
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=target.parent))
    _ordinary_permissions(staging, directory=True)
    try:
        yield staging
        if target.exists():
            retired = Path(tempfile.mkdtemp(prefix=f".{target.name}.old.", dir=target.parent))
            os.replace(target, retired / target.name)
            os.replace(staging, target)
            shutil.rmtree(retired, ignore_errors=True)
        else:
            os.replace(staging, target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise


@contextlib.contextmanager
def atomic_file(target, mode="w", **open_kwargs):
    """Opens a temporary file beside `target`; renames it there on success.

    A replaced file keeps its permission bits (set on the temporary file
    before the rename, so there is no moment with other bits); a new one gets
    the umask's.

    Args:
        target: the file to produce (replaced if it exists).
        mode: "w" or "wb".
        **open_kwargs: passed to `open` (e.g. `encoding`).

    Yields:
        The open file object.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    if target.exists():
        os.chmod(tmp, target.stat().st_mode & 0o7777)
    else:
        _ordinary_permissions(tmp, directory=False)
    try:
        with os.fdopen(fd, mode, **open_kwargs) as f:
            yield f
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_path(target):
    """Yields a temporary path beside `target`, renamed to it on success.

    For writers that take a path, not a file object (Keras's `save_weights`,
    which also wants the name's suffix: the temporary name ends like
    `target`'s). On an exception the temporary file is removed.

    Args:
        target: the file to produce (replaced if it exists).

    Yields:
        The temporary `Path`.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    suffix = "".join(target.suffixes)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix, dir=target.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
