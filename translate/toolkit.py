"""Translate Toolkit, the localisation field's checker, in a process of its own.

Translate Toolkit (`pofilter`, `translate.filters.checks`) is the library that
translators' platforms and `pofilter` use to check a translation against its
message. Its top-level package is named `translate`, as is this project's:
the two cannot be imported in one Python process, and installing both into
one `site-packages` would mix their files. So the toolkit is installed into a
directory of its own (`python -m translate.toolkit --install`, which `make`
runs: `pip install --target <venv>/translate-toolkit translate-toolkit==...`)
and runs in a child process whose module path starts there
(`python_command`), isolated (`-I`) from this project's working directory and
environment. `translate.checks` talks to such a process.

Where it is: `$TRANSLATE_TOOLKIT_DIR` if set, else `<sys.prefix>/translate-toolkit`.

Also a command: `python -m translate.toolkit --install` installs it;
`python -m translate.toolkit pofilter ARGS...` runs the toolkit's own
`pofilter` (or another of its tools, e.g. `pocount`).
"""

import os
import subprocess
import sys
from pathlib import Path

REQUIREMENT = "translate-toolkit==3.20.4"
"""The Translate Toolkit release this project's checks are written against."""

ENVIRONMENT_VARIABLE = "TRANSLATE_TOOLKIT_DIR"

# The child's first statement: the toolkit's directory before everything else,
# so its `translate` package is the one imported.
_BOOTSTRAP = "import sys; sys.path.insert(0, sys.argv.pop(1)); "


class ToolkitMissing(RuntimeError):
    """Translate Toolkit is not installed where this project looks for it."""


def toolkit_dir():
    """The directory Translate Toolkit is installed in.

    Returns:
        A `Path` holding the toolkit's `translate/filters/checks` package.

    Raises:
        ToolkitMissing: it is not there (the message says how to install it).
    """
    path = Path(os.environ.get(ENVIRONMENT_VARIABLE) or Path(sys.prefix) / "translate-toolkit")
    if not (path / "translate" / "filters" / "checks").is_dir():
        raise ToolkitMissing(
            f"Translate Toolkit is not installed in {path}: run `python -m translate.toolkit "
            f"--install` (or `pip install --target {path} {REQUIREMENT}`), or set "
            f"{ENVIRONMENT_VARIABLE} to where it is. It cannot share site-packages with "
            f"this project: both are the Python package `translate`.")
    return path


def python_command(code, *args):
    """The command line of a Python process that imports the toolkit as `translate`.

    Args:
        code: Python source run as `python -c`; `sys.argv[1:]` are `args`.
        *args: its arguments (strings).

    Returns:
        A list for `subprocess`: this interpreter, isolated (`-I`: no working
        directory, no PYTHON* variables, no user site), the toolkit first.

    Raises:
        ToolkitMissing: see `toolkit_dir`.
    """
    return [sys.executable, "-I", "-c", _BOOTSTRAP + code, str(toolkit_dir()), *map(str, args)]


def tool_command(module, *args):
    """The command line of one of the toolkit's tools, e.g. `pofilter`.

    Args:
        module: the tool's module under `translate.filters`, `translate.tools`
            or `translate.convert` (e.g. "pofilter", "pocount").
        *args: the tool's own arguments.

    Returns:
        A list for `subprocess`.
    """
    code = ("import importlib, sys\n"
            "for package in ('translate.filters', 'translate.tools', 'translate.convert'):\n"
            "    try:\n"
            f"        tool = importlib.import_module(package + '.{module}')\n"
            "        break\n"
            "    except ModuleNotFoundError:\n"
            "        pass\n"
            f"else:\n    sys.exit('no Translate Toolkit tool {module}')\n"
            f"sys.argv[0] = '{module}'\n"
            "tool.main()\n")
    return python_command(code, *args)


def install(target=None):
    """Installs `REQUIREMENT` into `target` (default: where `toolkit_dir` looks)."""
    target = Path(target or os.environ.get(ENVIRONMENT_VARIABLE)
                  or Path(sys.prefix) / "translate-toolkit")
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--upgrade",
                    "--target", str(target), REQUIREMENT], check=True)
    return target


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--install"]:
        print(f"{REQUIREMENT} installed in {install()}")
        return 0
    if not argv or argv[0].startswith("-"):
        print("usage: python -m translate.toolkit --install | TOOL [ARGS...]", file=sys.stderr)
        return 2
    try:
        return subprocess.run(tool_command(argv[0], *argv[1:])).returncode
    except ToolkitMissing as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
