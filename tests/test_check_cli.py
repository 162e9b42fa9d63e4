"""`translate translate --check` and `translate evaluate --checks`, with
stand-in translators (no model needed)."""

import pytest

from translate import cli, evaluation, toolkit
from translate.checks import Checker

LINES = ["Open %s", "Click <b>here</b>", "Wait 30 seconds"]


class OneBest:
    """A greedy `translate.inference.Translator`: one hypothesis per sentence."""

    answers = {"Open %s": "%s öffnen", "Click <b>here</b>": "Klicken Sie hier",
               "Wait 30 seconds": "Warten Sie dreißig Sekunden"}

    def n_best(self, sentences, batch_size=64, progress=None):
        return [[self.answers[s]] for s in sentences]


class NBest(OneBest):
    """A beam search translator: several hypotheses, best first."""

    hypotheses = {"Open %s": ["Öffnen", "%s öffnen"],
                  "Click <b>here</b>": ["Klicken Sie hier", "Klicken Sie <b>hier</b>"],
                  "Wait 30 seconds": ["Warten Sie dreißig Sekunden", "Warte"]}

    def n_best(self, sentences, batch_size=64, progress=None):
        return [self.hypotheses[s] for s in sentences]


def run_check(tmp_path, monkeypatch, capsys, translator):
    monkeypatch.setattr(cli, "_translator", lambda args: translator)
    (tmp_path / "in.txt").write_text("\n".join(LINES) + "\n", encoding="utf-8")
    assert cli.main(["translate", "run", str(tmp_path / "in.txt"), "--check",
                     "--language", "de"]) == 0
    return capsys.readouterr()


def test_check_prints_the_first_passing_hypothesis(tmp_path, monkeypatch, capsys):
    out, err = run_check(tmp_path, monkeypatch, capsys, NBest())
    assert out.splitlines() == ["%s öffnen", "Klicken Sie <b>hier</b>",
                                "Warten Sie dreißig Sekunden"], "none passes: the first"
    assert err.splitlines() == [
        "line 3: no hypothesis passes the checks; the first, printed, fails numbers "
        "(Different numbers)",
        "checks: 2 of 3 lines passed (2 with a hypothesis after the first); the first "
        "hypotheses of the other 1 failed: numbers 1"]


def test_check_with_one_hypothesis_checks_it(tmp_path, monkeypatch, capsys):
    out, err = run_check(tmp_path, monkeypatch, capsys, OneBest())
    assert out.splitlines() == [OneBest.answers[line] for line in LINES]
    assert "line 2: no hypothesis passes the checks; the first, printed, fails xmltags" in err
    assert err.splitlines()[-1] == ("checks: 1 of 3 lines passed (0 with a hypothesis after "
                                    "the first); the first hypotheses of the other 2 failed: "
                                    "xmltags 1, numbers 1")


def test_check_without_the_toolkit_is_an_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv(toolkit.ENVIRONMENT_VARIABLE, str(tmp_path))
    monkeypatch.setattr(cli, "_translator", pytest.fail)  # the toolkit is looked for first
    (tmp_path / "in.txt").write_text("Open\n", encoding="utf-8")
    assert cli.main(["translate", "run", str(tmp_path / "in.txt"), "--check"]) == 2
    assert "translate translate: error: Translate Toolkit is not installed" in \
        capsys.readouterr().err


def test_check_rates_count_per_100_sentences():
    with Checker("de") as checker:
        rates = evaluation.check_rates(checker, LINES + ["Close"],
                                       list(OneBest.answers.values()) + ["Schließen"])
    assert rates["sentences"] == 4 and rates["failing"] == 2 and rates["failing_per_100"] == 50
    assert set(rates["counts"]) == set(checker.checks)
    assert rates["counts"]["xmltags"] == rates["counts"]["numbers"] == 1
    assert rates["per_100"]["xmltags"] == 25 and rates["per_100"]["printf"] == 0
    with pytest.raises(ValueError, match="differ in length"):
        evaluation.check_rates(checker, LINES, ["x"])
