"""Translate Toolkit's checks through `translate.checks`: every check reachable,
the first passing hypothesis chosen, the toolkit's process and its errors."""

import gc

import pytest

from translate import checks, toolkit

# A translation failing exactly one check, for each check run.
FAILING = {
    "printf": ("Could not open %s", "Konnte nicht öffnen"),
    "pythonbraceformat": ("Hello {name}", "Hallo {nom}"),
    "variables": ("See @GPG@ for details", "Siehe GPG für Einzelheiten"),
    "xmltags": ("Click <b>here</b>", "Klicken Sie hier"),
    "escapes": ("Write \\n for a line break", "Schreiben Sie n für einen Zeilenumbruch"),
    "newlines": ("First line\nsecond line", "Erste Zeile zweite Zeile"),
    "tabs": ("Name:\tvalue", "Name: Wert"),
    "brackets": ("Delete (permanently)", "Endgültig löschen"),
    "numbers": ("Wait 30 seconds", "Warten Sie dreißig Sekunden"),
    "urls": ("See https://example.org/help", "Siehe die Hilfe"),
    "emails": ("Write to help@example.org", "Schreiben Sie uns"),
    "startwhitespace": (" indented", "eingerückt"),
    "endwhitespace": ("Name: ", "Name:"),
    "doublespacing": ("One.  Two.", "Eins. Zwei."),
    "accelerators": ("_Open", "Öffnen"),
}
CLEAN = [
    ("Could not open %s", "%s konnte nicht geöffnet werden"),
    ('<a href="mailto:%(email)s">Write to %(name)s</a>',
     '<a href="mailto:%(email)s">Schreiben Sie %(name)s</a>'),
    ("Saved {0} of {count} in 5 s\n", "{0} von {count} in 5 s gespeichert\n"),
    ("See https://example.org or help@example.org", "Siehe https://example.org oder "
                                                    "help@example.org"),
]


@pytest.fixture(scope="module")
def checker():
    with checks.Checker("de", accelerator="_") as checker:
        yield checker


@pytest.mark.parametrize("name", sorted(FAILING))
def test_each_check_catches_its_failure(checker, name):
    (failed,) = checker.failures([FAILING[name]])
    assert list(failed) == [name], failed
    assert failed[name], "the toolkit's message comes along"


def test_the_checks_run_are_the_issue_s_and_each_is_reachable(checker):
    assert set(checker.checks) == set(FAILING)
    assert checker.checks[-1] == "accelerators", "added for a known marker only"
    assert "accelerators" not in checks.Checker("de").checks


def test_correct_translations_pass_every_check(checker):
    assert checker.failures(CLEAN) == [{}] * len(CLEAN)


def test_critical_checks_are_the_toolkit_s_own_classification(checker):
    categories = checker.categories
    assert {name for name, kind in categories.items() if kind == "critical"} == \
        checks.CRITICAL_CHECKS
    assert categories["brackets"] == "cosmetic" and categories["urls"] == "functional"


def test_many_pairs_go_in_batches_and_keep_their_order(checker, monkeypatch):
    monkeypatch.setattr(checks, "BATCH_PAIRS", 7)
    pairs = [FAILING[name] for name in sorted(FAILING)] * 3 + CLEAN
    found = checker.failures(pairs)
    assert [list(f) for f in found] == [[name] for name in sorted(FAILING)] * 3 + [[]] * 4


def test_choose_takes_the_first_passing_hypothesis(checker):
    source = "Delete %d files from <b>%s</b>?"
    index, failures = checks.choose(checker, source, [
        "%d Dateien löschen?", "%d Dateien aus %s löschen?",
        "%d Dateien aus <b>%s</b> löschen?", "%d Dateien von <b>%s</b> löschen?"])
    assert index == 2
    assert set(failures[0]) == {"printf", "xmltags"} and set(failures[1]) == {"xmltags"}
    assert failures[2] == {} and failures[3] == {}
    assert checks.choose(checker, source, ["Löschen?", "Dateien löschen"])[0] is None
    chosen = checks.choose_many(checker, ["Open", "Close %s"], [["Öffnen"], ["Schließen", "%s"]])
    assert [index for index, _ in chosen] == [0, 1]
    with pytest.raises(ValueError, match="2 messages but 1 hypothesis lists"):
        checks.choose_many(checker, ["a", "b"], [["x"]])


def test_variables_are_the_delimited_markers_only(checker):
    found = checker.failures([("Using %{user} and ${prefix}", "Verwende user und prefix"),
                              ("Costs $5", "Kostet 5 $"), ("%1$s of %2$d", "%2$d von %1$s")])
    assert found[0]["variables"] == "Do not translate: ${prefix}, %{user}"
    assert found[1:] == [{}, {}], "no $ marker: prices and positions are no variables"


def test_pairs_must_be_two_strings(checker):
    with pytest.raises(TypeError, match=r"pairs\[1\] must be \(message, translation\)"):
        checker.failures([("a", "b"), ("a", None)])


def test_an_unknown_check_or_marker_is_named():
    with pytest.raises(ValueError, match="has no check printff; it has accelerators, "):
        checks.Checker(checks=["printff"]).start()
    with pytest.raises(ValueError, match="unknown accelerator marker '%'"):
        checks.Checker(accelerator="%")


def test_the_process_starts_lazily_and_ends_on_close_and_collection():
    checker = checks.Checker()
    assert checker._process is None, "nothing started before the first use"
    checker.start()
    process = checker._process
    assert process.poll() is None
    checker.close()
    assert process.poll() is not None
    assert checker.failures([FAILING["tabs"]]) == [{"tabs": "Different tabs"}], "starts again"
    process = checker._process
    del checker
    gc.collect()
    assert process.poll() is not None, "garbage collection ends it"


def test_a_dead_process_is_a_clear_error():
    with checks.Checker() as checker:
        checker.start()
        checker._process.kill()
        checker._process.wait()
        with pytest.raises(checks.CheckerError, match="Translate Toolkit process .* ended "
                                                      "with exit status -9"):
            checker.failures([("a", "b")])


def test_a_missing_toolkit_says_how_to_install_it(tmp_path, monkeypatch):
    monkeypatch.setenv(toolkit.ENVIRONMENT_VARIABLE, str(tmp_path))
    with pytest.raises(toolkit.ToolkitMissing, match=f"not installed in {tmp_path}: run "
                                                     "`python -m translate.toolkit --install`"):
        checks.Checker("de").failures([("a", "b")])


def test_a_broken_toolkit_directory_is_a_clear_error(tmp_path, monkeypatch):
    (tmp_path / "translate" / "filters" / "checks").mkdir(parents=True)  # but no code
    monkeypatch.setenv(toolkit.ENVIRONMENT_VARIABLE, str(tmp_path))
    with pytest.raises(checks.CheckerError, match="(?s)exit status 1: .*ImportError"):
        checks.Checker("de").start()
