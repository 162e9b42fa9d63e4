"""The localisation field's checks of a translation, from Translate Toolkit.

`pofilter`, and the translators' platforms built on Translate Toolkit, judge a
translation against its message with `translate.filters.checks`: are the
printf conversions, brace fields, tags, escapes, line breaks, URLs... of the
message all in the translation? This module runs those checks, not a copy of
them: a `Checker` keeps one Translate Toolkit process (`translate.toolkit`:
the toolkit's package is also named `translate`, so it cannot be imported
here) and sends it (message, translation) pairs, many per round trip, as JSON
lines over the process's standard input and output.

The checks are `StandardChecker`'s, the checker `pofilter` runs by default,
configured with a `CheckerConfig` of the target language; `DEFAULT_CHECKS`
names those run. Of them, `CRITICAL_CHECKS` are the ones the toolkit
classes as critical (its `@critical` decorator): a failure there breaks the
program (a lost `%s`, an unclosed tag, a missing line break), while the
others (`@functional`, `@cosmetic`) are most often a mistake a reader sees.
`Checker.categories` reports the toolkit's own classification.

Two choices where `pofilter`'s defaults check less:

- `variables` is given the delimited variable markers of
  `translate.placeholders` that `printf` and `pythonbraceformat` do not
  cover (`${name}`, `%{name}`, `@NAME@`); `pofilter`'s standard checker has
  none, so there `variables` checks nothing. `$name` is left out: the
  toolkit's marker for it (`$` up to the first non-word character) also
  takes prices (`$5`, which a German translation writes `5 $`) and the `$s`
  of `%1$s`; `translate po`'s own placeholder rule covers `$name`.
- `accelerators` runs only with a known accelerator marker (`_`, `&` or `~`,
  see `translate.accelerators`): without a convention, an `&` or `_` is text.

`choose` and `choose_many` take a message's hypotheses (a beam's n-best list,
best first) and pick the first that fails no check.
"""

import json
import subprocess
import tempfile
import weakref

from translate import toolkit
from translate.accelerators import check_marker

DEFAULT_CHECKS = (
    "printf", "pythonbraceformat", "variables", "xmltags", "escapes", "newlines", "tabs",
    "brackets", "numbers", "urls", "emails", "startwhitespace", "endwhitespace",
    "doublespacing",
)
"""The checks run on every pair (`accelerators` is added with a marker)."""

ACCELERATOR_CHECK = "accelerators"

CRITICAL_CHECKS = frozenset(
    {"escapes", "newlines", "tabs", "printf", "pythonbraceformat", "variables", "xmltags"})
"""The checks of a (message, translation) pair that Translate Toolkit 3.20
classes as critical. Its unit checker, which `pofilter` also runs, adds one
more, `nplurals` (as many plural forms as the language has), which
`translate po` meets by writing every form its catalog's header asks for."""

VARIABLE_MARKERS = (("${", "}"), ("%{", "}"), ("@", "@"))
"""`CheckerConfig.varmatches` (start and end markers) for the `variables`
check."""

BATCH_PAIRS = 512
"""Pairs per round trip with the toolkit's process."""

# The toolkit's process: one JSON line of settings in argv, then one line per
# request (a list of [message, translation]) and one reply line each. The
# first reply says it is ready, with the category of every check; all JSON
# is ASCII, so no encoding setting of either process matters.
_CHILD = r"""
import json, sys
from translate.filters.checks import CheckerConfig, StandardChecker
from translate.filters.decorators import Category
from translate.storage.pypo import pounit

def send(reply):
    sys.stdout.write(json.dumps(reply) + "\n")
    sys.stdout.flush()

settings = json.loads(sys.argv[1])
config = CheckerConfig(targetlanguage=settings["language"],
                       accelmarkers=settings["accelerators"],
                       varmatches=[tuple(m) for m in settings["variables"]])
checker = StandardChecker(checkerconfig=config, limitfilters=settings["checks"])
unknown = sorted(set(settings["checks"]) - set(checker.defaultfilters))
if unknown:
    send({"unknown": unknown, "known": sorted(StandardChecker().defaultfilters)})
    sys.exit(0)

def check(message, translation):
    unit = pounit(message)
    unit.target = translation
    return {name: str(text) for name, text in checker.run_filters(unit).items()}

check("a", "a")  # each check records its category when it first runs
names = {Category.CRITICAL: "critical", Category.FUNCTIONAL: "functional",
         Category.COSMETIC: "cosmetic", Category.EXTRACTION: "extraction"}
send({"categories": {name: names.get(checker.categories.get(name), "none")
                     for name in settings["checks"]}})
for line in iter(sys.stdin.readline, ""):
    try:
        send({"failures": [check(m, t) for m, t in json.loads(line)]})
    except Exception as error:
        send({"error": f"{type(error).__name__}: {error}"})
"""


class CheckerError(RuntimeError):
    """The toolkit's process failed: it ended, or a check raised an error."""


def _stop(process, stderr):
    """Ends the toolkit's process: closing its input ends its loop."""
    try:
        process.communicate(timeout=5)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
    stderr.close()


class Checker:
    """Translate Toolkit's checks of translations, in a process of its own.

    The process starts at the first use (`start`, `failures`, `categories`) and ends
    with `close()`, at the end of a `with` block, or when the checker is
    garbage-collected.

    Args:
        target_language: the translations' language code (e.g. "de",
            "pt_BR"), or None; the toolkit adapts a few checks to it
            (punctuation, numbers).
        accelerator: the catalog's accelerator marker ("_", "&" or "~"), or
            None when its convention is unknown; with one, the
            `accelerators` check is run too.
        checks: the names of the toolkit's checks to run.

    Raises:
        ValueError: `accelerator` is not a known marker.
    """

    def __init__(self, target_language=None, accelerator=None, checks=DEFAULT_CHECKS):
        self.target_language = target_language
        self.accelerator = check_marker(accelerator)
        names = list(dict.fromkeys(checks))
        if accelerator is not None and ACCELERATOR_CHECK not in names:
            names.append(ACCELERATOR_CHECK)
        self.checks = tuple(names)
        self._process = self._stderr = self._finalizer = None
        self._categories = None

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.close()

    def close(self):
        """Ends the toolkit's process, if it runs; the checker can start again."""
        if self._finalizer is not None:
            self._finalizer()
        self._process = self._stderr = self._finalizer = self._categories = None

    @property
    def categories(self):
        """The toolkit's class of each check: {name: "critical" | "functional" | "cosmetic"}.

        Raises:
            translate.toolkit.ToolkitMissing, CheckerError, ValueError: see
            `failures`.
        """
        self.start()
        return dict(self._categories)

    def start(self, wait=True):
        """Starts the toolkit's process, if it does not run yet.

        It starts at the first use anyway; starting it first reports a
        missing toolkit before other work, and lets the process import the
        toolkit while this one does other work (`wait=False`).

        Args:
            wait: also wait for the process to be ready (it then reports a
                broken toolkit or an unknown check here); without, the first
                use waits.

        Raises:
            translate.toolkit.ToolkitMissing, CheckerError, ValueError: see
            `failures`.
        """
        if self._process is None:
            settings = {"language": self.target_language,
                        "accelerators": [self.accelerator] if self.accelerator else [],
                        "variables": VARIABLE_MARKERS, "checks": self.checks}
            command = toolkit.python_command(_CHILD, json.dumps(settings))
            self._stderr = tempfile.TemporaryFile()
            self._process = subprocess.Popen(
                command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                encoding="ascii")
            self._finalizer = weakref.finalize(self, _stop, self._process, self._stderr)
        if wait and self._categories is None:
            reply = self._receive()  # the process's first line: its checks' classes
            if "unknown" in reply:
                self.close()
                raise ValueError(f"Translate Toolkit has no check {', '.join(reply['unknown'])}; "
                                 f"it has {', '.join(reply['known'])}.")
            self._categories = reply["categories"]

    def _receive(self):
        line = self._process.stdout.readline()
        if not line:
            self._process.wait()
            self._stderr.seek(0)
            said = self._stderr.read().decode("utf-8", "replace").strip()
            code = self._process.returncode
            self.close()
            raise CheckerError(
                f"the Translate Toolkit process (checks) ended with exit status {code}"
                + (f": {said[-2000:]}" if said else "")
                + f"; the toolkit is looked for in {toolkit.toolkit_dir()}.")
        reply = json.loads(line)
        if "error" in reply:
            raise CheckerError(f"a Translate Toolkit check failed: {reply['error']}")
        return reply

    def failures(self, pairs):
        """The checks each translation fails.

        Args:
            pairs: `(message, translation)` pairs of strings.

        Returns:
            One dict per pair, in order: `{check name: the toolkit's
            message}`, empty when the translation passes every check.

        Raises:
            TypeError: a pair is not two strings.
            translate.toolkit.ToolkitMissing: the toolkit is not installed
                (its message says how to install it).
            CheckerError: its process ended, or a check raised an error.
            ValueError: a check name the toolkit does not have.
        """
        pairs = [tuple(p) for p in pairs]
        for i, pair in enumerate(pairs):
            if len(pair) != 2 or not all(isinstance(s, str) for s in pair):
                raise TypeError(f"pairs[{i}] must be (message, translation) strings, "
                                f"got {pair!r}.")
        self.start()
        found = []
        for first in range(0, len(pairs), BATCH_PAIRS):
            try:
                self._process.stdin.write(json.dumps(pairs[first:first + BATCH_PAIRS]) + "\n")
                self._process.stdin.flush()
            except OSError:
                pass  # it ended: `_receive` says how
            found += self._receive()["failures"]
        return found


def choose_many(checker, sources, hypotheses):
    """The first passing hypothesis of each message, checked in one batch.

    Args:
        checker: a `Checker`.
        sources: the messages.
        hypotheses: for each message, its translations, best first (e.g. a
            beam's n-best list).

    Returns:
        One `(index, failures)` per message: `index` of the first hypothesis
        that fails no check, or None when each fails one; `failures`, for each
        hypothesis, the dict of `Checker.failures`.

    Raises:
        ValueError: `sources` and `hypotheses` differ in length.
        Also those of `Checker.failures`.
    """
    if len(sources) != len(hypotheses):
        raise ValueError(f"{len(sources)} messages but {len(hypotheses)} hypothesis lists.")
    found = iter(checker.failures([(source, text) for source, texts in zip(sources, hypotheses)
                                   for text in texts]))
    chosen = []
    for texts in hypotheses:
        failures = [next(found) for _ in texts]
        index = next((i for i, failed in enumerate(failures) if not failed), None)
        chosen.append((index, failures))
    return chosen


def choose(checker, source, hypotheses):
    """`(index, failures)` of `choose_many` for one message."""
    return choose_many(checker, [source], [list(hypotheses)])[0]
