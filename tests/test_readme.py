"""The README's commands stay true: every `translate ...` line in its code
blocks parses with the command's own parser, every script it runs exists,
and every `make` target it names is in the Makefile."""

import pathlib
import re
import shlex

import pytest

from translate.cli import build_parser

ROOT = pathlib.Path(__file__).resolve().parents[1]
DOCS = ["README.md", "deploy/README.md", "docs/distributed.md"]


def commands(prefix, inline=False):
    """`(doc, line)` for each command starting with `prefix` in the docs' code
    blocks (and, with `inline`, in inline code spans: prose names commands
    there without all their arguments, so only scripts are checked in them)."""
    found = []
    for doc in DOCS:
        path = ROOT / doc
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        blocks = re.findall(r"```[a-z]*\n(.*?)```", text, re.S)
        # Inline code too, line breaks inside a span joined.
        spans = [" ".join(span.split()) for span in
                 re.findall(r"(?<!`)`([^`]+)`(?!`)", re.sub(r"```.*?```", "", text, flags=re.S))]
        for block in blocks + (spans if inline else []):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.split("  #")[0].split(" > ")[0].split(" < ")[0].strip()
                line = re.sub(r"^(\S+=\S+ )+", "", line)  # leading VAR=value settings
                if line.startswith(prefix):
                    found.append((doc, line))
    return found


@pytest.mark.parametrize("doc, line", commands("translate "))
def test_translate_commands_parse(doc, line):
    argv = shlex.split(line)[1:]
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as error:
        pytest.fail(f"{doc}: `{line}` does not parse (exit {error.code})")
    assert callable(args.run)


@pytest.mark.parametrize("doc, line", commands("python ", inline=True))
def test_scripts_exist(doc, line):
    script = shlex.split(line)[1]
    if script not in ("-m", "-c"):  # a module or a program text, not a script
        assert (ROOT / script).is_file(), f"{doc}: {script} does not exist"


def test_make_targets_exist():
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z][\w-]*):", makefile, re.M))
    for doc, line in commands("make "):
        target = shlex.split(line)[1]
        if "=" not in target:
            assert target in targets, f"{doc}: make {target} is not a Makefile target"
