"""The `translate` command: parses arguments, calls the modules, prints."""

import argparse
import logging
import os
import sys
import time

from translate.config import CHOICES, INFERENCE_PRECISIONS, ConfigError
from translate.corpus import CorpusError
from translate.distribute import STRATEGIES
from translate.endpoint.limits import Limits
from translate import serving, signatures
from translate.accelerators import MARKERS
from translate.checks import CheckerError
from translate.serving import ServingError
from translate.toolkit import ToolkitMissing


def _add_prepare(commands):
    p = commands.add_parser(
        "prepare", help="read corpora, clean, split, train SentencePiece",
        description="Reads parallel text, cleans and splits it, trains "
                    "SentencePiece, and writes a corpus directory.")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--gettext", metavar="LANG",
                        help="system gettext catalogs of language LANG (msgid -> msgstr)")
    source.add_argument("--tsv", nargs="+", metavar="FILE",
                        help="source<TAB>target[<TAB>...] files")
    source.add_argument("--parallel", nargs=2, metavar=("SRC_FILE", "TGT_FILE"),
                        help="two aligned files, one sentence per line")
    source.add_argument("--po", nargs="+", metavar="FILE", help="gettext .po files")
    p.add_argument("--locale-dir", default="/usr/share/locale",
                   help="where --gettext looks (default: %(default)s)")
    p.add_argument("--out", required=True, metavar="CORPUS_DIR")
    p.add_argument("--skip-bad-lines", action="store_true",
                   help="count and skip malformed lines instead of stopping")
    p.add_argument("--split-by", choices=("hash", "catalog"), default="hash")
    p.add_argument("--dev-fraction", type=float, default=0.02)
    p.add_argument("--test-fraction", type=float, default=0.02)
    p.add_argument("--max-chars", type=int, default=500)
    p.add_argument("--vocab-size", type=int, default=8000)
    p.add_argument("--model-type", choices=("unigram", "bpe"), default="unigram")
    p.add_argument("--separate-vocabularies", action="store_true",
                   help="one SentencePiece model per side instead of a joint one")
    p.add_argument("--no-masking", dest="mask_spans", action="store_false",
                   help="tokenizers for a model that reads placeholders, markup and line "
                        "breaks as text, not masked as sentinels (the default)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing CORPUS_DIR")
    p.set_defaults(run=_run_prepare)


def _run_prepare(args):
    from tqdm import tqdm

    from translate.prepare import prepare_corpus

    manifest = prepare_corpus(
        args.out, gettext=args.gettext, locale_dir=args.locale_dir,
        tsv=args.tsv or (), parallel=args.parallel, po=args.po or (),
        skip_bad_lines=args.skip_bad_lines, split_by=args.split_by,
        dev_fraction=args.dev_fraction, test_fraction=args.test_fraction,
        max_chars=args.max_chars, vocab_size=args.vocab_size,
        model_type=args.model_type, joint=not args.separate_vocabularies,
        overwrite=args.force, mask_spans=args.mask_spans,
        progress=lambda it: tqdm(it, desc="reading", unit=" pairs", file=sys.stderr))
    counts = manifest["counts"]
    print(f"wrote {args.out}: " + ", ".join(
        f"{n} {name}" for name, n in counts["splits"].items()))
    print("counts: " + ", ".join(
        f"{k.replace('_', ' ')} {v}" for k, v in counts["filters"].items() if v))


def _add_train(commands):
    p = commands.add_parser(
        "train", help="train (or resume) a model on a corpus directory",
        description="Trains a GRU encoder-decoder. Re-running the same command "
                    "after an interruption resumes from the last checkpoint.")
    p.add_argument("corpus_dir", metavar="CORPUS_DIR")
    p.add_argument("--run-dir", required=True, metavar="RUN_DIR")
    settings = p.add_mutually_exclusive_group()
    settings.add_argument("--preset", default=None,
                          help="named settings: tiny, small (default), base")
    settings.add_argument("--config", metavar="FILE", help="a YAML or JSON config")
    _add_budget_arguments(p)
    p.add_argument("--strategy", choices=STRATEGIES, default="default",
                   help="default: one device; mirrored: every local GPU; multi_worker: "
                        "several machines, set up by TF_CONFIG (docs/distributed.md)")
    p.add_argument("--precision", choices=CHOICES[("train", "precision")],
                   help="replaces the config's train.precision")
    p.set_defaults(run=_run_train)


def _add_budget_arguments(p, minutes=None, steps=None):
    default = " (default: %(default)s)"
    p.add_argument("--time-budget", type=float, metavar="MINUTES", default=minutes,
                   help="stop, after a checkpoint, when this much time has passed"
                        + ("" if minutes is None else default))
    p.add_argument("--max-steps", type=int, metavar="STEPS", default=steps,
                   help="stop, after a checkpoint, at this many training steps in all "
                        "(resumed runs included); with --time-budget, whichever comes first"
                        + ("" if steps is None else default))


def _run_train(args):
    from translate import config, distribute, training

    # First: a multi-worker strategy must exist before TensorFlow runs anything.
    worker = distribute.make_strategy(args.strategy)
    settings = (config.load(args.config) if args.config
                else config.preset(args.preset or "small"))
    if args.precision:
        settings["train"]["precision"] = args.precision
    result = training.train(args.corpus_dir, args.run_dir, settings,
                            time_budget_minutes=args.time_budget,
                            max_steps=args.max_steps,
                            on_epoch_end=_dev_scorer(args.corpus_dir, settings),
                            strategy=worker)
    _report_training(result, args.run_dir)


def _report_training(result, run_dir):
    """Prints `translate.training.train`'s result."""
    if result["resumed_from_step"] is not None:
        print(f"resumed from step {result['resumed_from_step']}")
    at_stop = ("" if result["dev_loss_at_stop"] is None
               else f" (dev loss at the stop {result['dev_loss_at_stop']:.4f})")
    print(f"step {result['step']}, epoch {result['epoch']}, stopped: {result['stopped']}"
          f"{at_stop}, best dev loss {result['best_dev_loss']:.4f}; "
          f"run directory {run_dir}")


def _add_adapt(commands):
    from translate import adaptation

    p = commands.add_parser(
        "adapt", help="continue training a run on a project's translated catalogs",
        description="Continues training RUN_DIR (a run of `translate train`) on the "
                    "translated, non-fuzzy entries of gettext catalogs and on TSV pairs, "
                    "mixed with a sample of the run's own training corpus so that it keeps "
                    "its general quality (mixed fine-tuning), with the same vocabulary. "
                    "Writes a new run directory (--run-dir), which `translate export` and "
                    "the other commands take as any run; re-running the same command "
                    "after an interruption resumes from its last checkpoint. RUN_DIR is "
                    "not modified.")
    p.add_argument("base_run", metavar="RUN_DIR", help="the run to adapt")
    p.add_argument("--po", action="extend", nargs="+", default=[], metavar="CATALOG",
                   help="gettext catalogs (.po, or .mo) whose translated entries to learn")
    p.add_argument("--tsv", action="extend", nargs="+", default=[], metavar="FILE",
                   help="source<TAB>target files of more pairs to learn")
    p.add_argument("--run-dir", required=True, metavar="OUT",
                   help="the adaptation's run directory (and its corpus, OUT/corpus)")
    _add_budget_arguments(p, minutes=adaptation.DEFAULT_MINUTES,
                          steps=adaptation.DEFAULT_STEPS)
    p.add_argument("--mix", type=float, default=adaptation.DEFAULT_MIX, metavar="R",
                   help="the in-domain share of the training pairs, the rest a sample of "
                        "RUN_DIR's corpus (default: %(default)s)")
    p.add_argument("--learning-rate", type=float, default=adaptation.DEFAULT_LEARNING_RATE,
                   metavar="LR", help="the peak learning rate (default: %(default)s)")
    p.set_defaults(run=_run_adapt)


def _run_adapt(args):
    from translate import adaptation

    settings = adaptation.adaptation_config(args.base_run, args.learning_rate)
    record, result = adaptation.adapt(
        args.base_run, args.run_dir, settings, po=args.po, tsv=args.tsv, mix=args.mix,
        time_budget_minutes=args.time_budget, max_steps=args.max_steps,
        dev_scorer=_dev_scorer)
    print(f"adapted on {record['in_domain_pairs']} pairs ("
          + ", ".join(f"{r.get('po', r.get('tsv'))} {r['kept']}" for r in record["inputs"])
          + f"), each {record['copies']} times, and {record['general_pairs']} pairs of "
          f"{record['general_corpus']}: in-domain share {record['in_domain_share']:.2f}")
    _report_training(result, args.run_dir)


def _dev_scorer(corpus_dir, settings, limit=400):
    """Dev BLEU/chrF after each epoch (greedy, the first `limit` dev pairs)."""
    from pathlib import Path

    from translate import evaluation, prepare
    from translate.inference import Translator

    corpus_dir = Path(corpus_dir)
    sources, references = evaluation.read_tsv_pairs(corpus_dir / "dev.tsv")
    sources, references = sources[:limit], references[:limit]
    paths = prepare.tokenizer_paths(corpus_dir)

    translator = None

    def score(model, epoch):
        nonlocal translator
        if translator is None:  # made once: a new one would trace its search again
            translator = Translator(
                model, *paths, beam_width=1,
                max_length_ratio=settings["decode"]["max_length_ratio"],
                max_length_extra=settings["decode"]["max_length_extra"])
        started = time.perf_counter()
        scores = evaluation.score(translator.translate(sources), references)
        print(f"epoch {epoch}: dev BLEU {scores['bleu']:.1f}, chrF {scores['chrf']:.1f} "
              f"(greedy, {len(sources)} sentences, {time.perf_counter() - started:.1f} s)")
        return {"dev_bleu": scores["bleu"], "dev_chrf": scores["chrf"]}
    return score


def _add_precision_argument(p):
    p.add_argument("--inference-precision", choices=INFERENCE_PRECISIONS, default="float32",
                   help="of the output projection: bfloat16 is faster on a CPU that multiplies "
                        "bfloat16 natively (AVX512-BF16, AMX) and slower on others "
                        "(default: %(default)s)")


def _add_greedy_row_argument(p):
    p.add_argument("--greedy-row", action=argparse.BooleanOptionalAction,
                   help="beam search also follows each sentence's greedy hypothesis, a "
                        "candidate beside the beams (default: the run's config, "
                        "decode.greedy_row)")


def _similarity(text):
    """A similarity from 0 to 1, for argparse."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a similarity from 0 to 1, got {text!r}")
    return value


def _add_match_floor_argument(p):
    p.add_argument("--match-floor", type=_similarity, metavar="S",
                   help="a model that reads memory matches (train.memory_matches) is given "
                        "only matches at least this similar, else translates the message "
                        "alone (default: chosen on its corpus's dev split, cached in the run)")


def _match_floor(args):
    """`--match-floor`, or for a run whose model reads matches the floor
    chosen on its corpus's dev split (`assist.dev_match_floor`, told on
    stderr); None for a model that reads none."""
    from pathlib import Path

    from translate import rundir

    run_dir = Path(args.run_dir)
    if args.match_floor is not None or not rundir.is_run(run_dir) or not rundir.read_config(
            run_dir)["train"]["memory_matches"]:
        return args.match_floor
    from translate import assist
    from translate.inference import Translator

    corpus_dir, weights = rundir.corpus_dir(run_dir), run_dir / rundir.BEST_WEIGHTS
    found = assist.recorded_match_floor(run_dir, corpus_dir, weights)
    cached = found is not None
    if not cached:  # only then is the model loaded: twice the dev split to translate
        found = assist.dev_match_floor(Translator.from_run(
            run_dir, precision=args.inference_precision), corpus_dir, run_dir, weights)
    floor, scores = found
    tried = ", ".join(f"{f:g}: {value:.2f}" for f, value in scores)
    print(f"matches given from similarity {floor:g}, chosen on the dev split "
          f"(chrF {tried}){' (cached)' if cached else ''}", file=sys.stderr)
    return floor


def _add_model_arguments(p):
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--beam", type=int, metavar="N",
                   help="beam width (1: greedy; default: the run's config)")
    _add_greedy_row_argument(p)
    _add_match_floor_argument(p)
    p.add_argument("--batch-size", type=int, default=64)
    _add_precision_argument(p)


def _add_memory_arguments(p):
    p.add_argument("--memory", metavar="CORPUS_DIR",
                   help="combine with the translation memory of this corpus (its train.tsv)")
    p.add_argument("--memory-threshold", type=_similarity, metavar="S",
                   help="similarity from which the memory is used (default: chosen on "
                        "the memory corpus's dev split)")


def _translator(args):
    from translate.inference import Translator
    from translate.machine import warn_if_bfloat16_is_slow

    if args.inference_precision == "bfloat16":
        warn_if_bfloat16_is_slow(f"translate {args.command}")
    overrides = {key: value for key, value in (("beam_width", args.beam or None),
                                               ("greedy_row", args.greedy_row))
                 if value is not None}
    # Without --memory no match is given: no floor to choose (two dev translations).
    floor = _match_floor(args) if getattr(args, "memory", None) else args.match_floor
    return Translator.from_run(args.run_dir, precision=args.inference_precision,
                               min_match_similarity=floor, **overrides)


def _memory(args, translator):
    """The translation memory of `--memory` and its threshold."""
    from translate import assist, memory

    tm = memory.TranslationMemory.from_corpus(args.memory)
    threshold = args.memory_threshold
    if threshold is None:
        threshold = assist.dev_threshold(translator, args.memory, args.run_dir, tm=tm)
    return tm, threshold


def _translate_sources(args, translator, sources):
    """Model (and memory) outputs and their origins for `sources`; with a
    memory, also `(matches, model_outputs)` (the model's own, each reading
    its match when the model reads matches), else None."""
    from translate import assist, memory

    if not args.memory:
        outputs = translator.translate(sources, args.batch_size, progress=_progress)
        return outputs, None, None, None
    tm, threshold = _memory(args, translator)
    matches = tm.lookup(sources)
    model_outputs = assist.translate_reading(translator, sources, matches, args.batch_size,
                                             progress=_progress)
    outputs, origins = memory.combine(sources, model_outputs, matches, threshold)
    return outputs, origins, threshold, (matches, model_outputs)


def _add_glossary_argument(p):
    p.add_argument("--glossary", action="append", metavar="FILE",
                   help="a glossary every suggestion follows: CSV with 'source' and 'target' "
                        "columns (Weblate's export), TBX, or a .po of terms; repeat for more "
                        "files. Its terms are masked and written as their targets (a masking "
                        "model; otherwise hypotheses with the terms are preferred)")


def _glossary(args, target_language=None):
    """The `Glossary` of `--glossary`, or None."""
    if not getattr(args, "glossary", None):
        return None
    from translate.glossary import Glossary

    glossary = Glossary.read(args.glossary, target_language)
    if glossary.skipped:
        print(f"glossary: {len(glossary.skipped)} untranslated or fuzzy entries skipped "
              f"(first: {glossary.skipped[0][1]})", file=sys.stderr)
    return glossary


def _term_line(rates, what):
    if rates["rate"] is None:
        return f"glossary terms: no source has one ({what})"
    missed = ", ".join(f"{term} {n}" for term, n in list(rates["missed"].items())[:5])
    return (f"glossary terms followed ({what}): {100 * rates['rate']:.1f}% "
            f"({rates['following']}/{rates['with_terms']})"
            + (f"; most missed: {missed}" if missed else ""))


def _add_language_argument(p):
    p.add_argument("--language", metavar="LANG",
                   help="the translations' language for the checks (e.g. de, pt_BR; "
                        "default: none, the toolkit's language-neutral settings)")


def _check_counts(failures):
    """`check count, ...` of a Counter of failed checks, most frequent first."""
    return ", ".join(f"{name} {n}" for name, n in failures.most_common()) or "none"


def _add_evaluate(commands):
    p = commands.add_parser("evaluate", help="BLEU, chrF and placeholder accuracy on a TSV")
    _add_model_arguments(p)
    p.add_argument("--tsv", required=True, metavar="FILE")
    _add_memory_arguments(p)
    p.add_argument("--out", metavar="FILE",
                   help="hypotheses file (default: RUN_DIR/hypotheses-<tsv name>-<beamN or greedy>"
                        "[-memory].txt, next to evaluation-<same>.json)")
    p.add_argument("--checks", action=argparse.BooleanOptionalAction, default=None,
                   help="count Translate Toolkit's (pofilter's) check failures per 100 "
                        "sentences, of the hypotheses and of the references (default: on "
                        "when the toolkit is installed, as make installs it)")
    _add_language_argument(p)
    _add_glossary_argument(p)
    p.set_defaults(run=_run_evaluate)


def _evaluation_checks(args, sources, outputs, references):
    """The check rates of hypotheses and references, or None and why not."""
    from translate import checks, evaluation, toolkit

    if args.checks is False:
        return None, "not run (--no-checks)"
    if args.checks is None:
        try:
            toolkit.toolkit_dir()
        except ToolkitMissing as error:
            return None, f"not run: {error}"
    with checks.Checker(args.language) as checker:
        return {"language": args.language, "critical": sorted(checks.CRITICAL_CHECKS),
                "hypotheses": evaluation.check_rates(checker, sources, outputs),
                "references": evaluation.check_rates(checker, sources, references)}, None


def _run_evaluate(args):
    import json
    from pathlib import Path

    from translate import evaluation
    from translate.atomic import atomic_file

    sources, references = evaluation.read_tsv_pairs(args.tsv)
    glossary = _glossary(args, args.language)
    translator = _translator(args)
    translator.glossary = glossary
    outputs, origins, threshold, with_memory = _translate_sources(args, translator, sources)
    scores = evaluation.score(outputs, references)
    placeholders = evaluation.placeholder_accuracy(sources, outputs)
    # One name per split and setting, so evaluations side by side never overwrite.
    variant = (f"{Path(args.tsv).stem}-"
               + ("greedy" if translator.beam_width == 1 else f"beam{translator.beam_width}")
               + ("-memory" if args.memory else "") + ("-glossary" if glossary else ""))
    out = Path(args.out or Path(args.run_dir) / f"hypotheses-{variant}.txt")
    with atomic_file(out, encoding="utf-8") as f:
        f.writelines(line + "\n" for line in outputs)
    checked, not_checked = _evaluation_checks(args, sources, outputs, references)
    report = {"tsv": str(args.tsv), "beam": translator.beam_width, **scores,
              "placeholders": placeholders, "checks": checked, "hypotheses": str(out)}
    if origins is not None:
        report["memory"] = _memory_report(args, translator, sources, references, outputs,
                                          origins, threshold, *with_memory)
    if glossary is not None:
        report["glossary"] = {"files": args.glossary, "terms": len(glossary),
                              "hypotheses": evaluation.term_rates(glossary, sources, outputs),
                              "references": evaluation.term_rates(glossary, sources,
                                                                  references)}
    report_path = Path(args.run_dir) / f"evaluation-{variant}.json"
    with atomic_file(report_path, encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    print(f"BLEU {scores['bleu']:.2f}  ({scores['bleu_signature']})")
    print(f"chrF {scores['chrf']:.2f}  ({scores['chrf_signature']})")
    if placeholders["accuracy"] is not None:
        print(f"placeholders reproduced exactly: {100 * placeholders['accuracy']:.1f}% "
              f"({placeholders['reproduced']}/{placeholders['with_placeholders']})")
    if origins is not None:
        _print_memory_report(report["memory"], len(outputs))
    if glossary is not None:
        print(_term_line(report["glossary"]["hypotheses"], "hypotheses"))
        print(_term_line(report["glossary"]["references"], "references"))
    if checked is None:
        print(f"checks: {not_checked}")
    else:
        hypotheses, human = checked["hypotheses"], checked["references"]
        print("check failures per 100 sentences, hypotheses / references "
              "(Translate Toolkit; * critical):")
        for name in hypotheses["per_100"]:
            if hypotheses["counts"][name] or human["counts"][name]:
                mark = "*" if name in checked["critical"] else ""
                print(f"  {name}{mark} {hypotheses['per_100'][name]:.1f} / "
                      f"{human['per_100'][name]:.1f}")
        print(f"  any check {hypotheses['failing_per_100']:.1f} / "
              f"{human['failing_per_100']:.1f}")
    print(f"hypotheses: {out}; scores: {report_path}")


def _memory_report(args, translator, sources, references, outputs, origins, threshold,
                   matches, model_outputs):
    """What `translate evaluate --memory` reports of the memory: the threshold
    switch's use, the model's own scores (reading its matches, if it reads
    them) and, per band of match similarity, those of the memory's match,
    the model (also without matches, for a model that reads them) and the
    combination."""
    from translate import evaluation

    reads = bool(getattr(translator, "reads_matches", False))
    systems = {"memory": [m.target for m in matches]}
    if reads:
        systems["model without matches"] = translator.translate(sources, args.batch_size,
                                                                progress=_progress)
    systems["model"] = model_outputs
    systems["model + memory"] = outputs
    model_scores = evaluation.score(model_outputs, references)
    return {"corpus": args.memory, "threshold": threshold,
            "used": sum(o.kind == "memory" for o in origins), "model_reads_matches": reads,
            "model": {"bleu": model_scores["bleu"], "chrf": model_scores["chrf"]},
            "bands": evaluation.band_scores([m.similarity for m in matches], references,
                                            systems)}


def _print_memory_report(report, sentences):
    reading = " (reading its matches)" if report["model_reads_matches"] else ""
    print(f"memory used for {report['used']}/{sentences} sentences "
          f"(threshold {report['threshold']:.2f}); the model alone{reading}: "
          f"BLEU {report['model']['bleu']:.2f}, chrF {report['model']['chrf']:.2f}")
    names = [k for k in report["bands"][0] if k not in ("band", "sentences")] if report[
        "bands"] else []
    print("chrF per band of match similarity: " + " | ".join(["band", "sentences", *names]))
    for row in report["bands"]:
        print("  " + " | ".join([row["band"], str(row["sentences"]),
                                 *(f"{row[name]['chrf']:.2f}" for name in names)]))


def _add_translate(commands):
    p = commands.add_parser("translate", help="translate lines from a file or stdin")
    _add_model_arguments(p)
    p.add_argument("file", nargs="?", metavar="FILE", help="default: standard input")
    _add_memory_arguments(p)
    p.add_argument("--check", action="store_true",
                   help="print each line's first hypothesis (of the model's n best, after "
                        "the memory's match) that passes Translate Toolkit's checks; where "
                        "none passes, the first, and standard error says which checks it "
                        "failed (needs the toolkit: make installs it)")
    _add_language_argument(p)
    _add_glossary_argument(p)
    p.set_defaults(run=_run_translate, exit_at_once=True)


def _progress(batches):
    """The progress bar of a translation, on standard error."""
    from tqdm import tqdm

    return tqdm(batches, desc="translating", unit=" batches", file=sys.stderr)


def _add_signature_argument(p):
    p.add_argument("--signature", choices=signatures.SIGNATURES,
                   default=signatures.SERVING_SIGNATURE,
                   help=f"{signatures.SERVING_SIGNATURE} (default): beam search; "
                        f"{signatures.GREEDY_SIGNATURE}: greedy search")


def _read_lines(path):
    """The lines of a file, or of standard input when `path` is None."""
    if path:
        with open(path, encoding="utf-8") as f:
            return [line.rstrip("\n") for line in f]
    return [line.rstrip("\n") for line in sys.stdin]


def _run_translate(args):
    sources = _read_lines(args.file)
    if not sources:
        return
    if args.check:
        _print_checked(args, sources)
        return
    translator = _translator(args)
    translator.glossary = _glossary(args, args.language)
    outputs = _translate_sources(args, translator, sources)[0]
    for line in outputs:
        print(line)


def _print_checked(args, sources):
    """`translate translate --check`: the first passing hypothesis of each line."""
    from collections import Counter

    from translate import checks, memory

    with checks.Checker(args.language) as checker:
        checker.start()  # a missing toolkit is reported before the model loads
        glossary = _glossary(args, args.language)
        translator = _translator(args)
        translator.glossary = glossary
        hypotheses = translator.n_best(sources, args.batch_size, progress=_progress)
        if glossary is not None:  # those with every term first: they are tried first
            hypotheses = [sorted(texts, key=lambda text, s=source: bool(glossary.missed(s, text)))
                          for source, texts in zip(sources, hypotheses)]
        if args.memory:
            tm, threshold = _memory(args, translator)
            outputs, origins = memory.combine(sources, [h[0] for h in hypotheses],
                                              tm.lookup(sources), threshold)
            for i, origin in enumerate(origins):
                if origin.kind == "memory":
                    hypotheses[i].insert(0, outputs[i])
        chosen = checks.choose_many(checker, sources, hypotheses)
    failed, lower = Counter(), 0
    for number, (texts, (index, failures)) in enumerate(zip(hypotheses, chosen), 1):
        if index is None:
            failed.update(failures[0].keys())
            print(f"line {number}: no hypothesis passes the checks; the first, printed, "
                  f"fails " + "; ".join(f"{name} ({message})"
                                         for name, message in failures[0].items()),
                  file=sys.stderr)
        lower += bool(index)
        print(texts[index or 0])
    kept = sum(index is None for index, _ in chosen)
    print(f"checks: {len(sources) - kept} of {len(sources)} lines passed ({lower} with a "
          f"hypothesis after the first); the first hypotheses of the other {kept} failed: "
          f"{_check_counts(failed)}", file=sys.stderr)


def _add_align(commands):
    p = commands.add_parser("align", help="draw the attention alignment of one sentence")
    _add_model_arguments(p)
    p.add_argument("sentence")
    p.add_argument("--out", required=True, metavar="PNG")
    p.set_defaults(run=_run_align)


def _run_align(args):
    from translate import plots

    source, target, weights = _translator(args).alignment(args.sentence)
    plots.attention_heatmap(weights, source, target, args.out)
    print(f"{' '.join(target)}\nalignment: {args.out}")


def _add_export(commands):
    p = commands.add_parser(
        "export", help="export a run as a TF Serving SavedModel (text in, text out)",
        description="Writes BASE_DIR/NAME/VERSION/: a SavedModel whose signatures take raw "
                    "sentences and return translations (serving_default: beam search; "
                    "translate_greedy), with TF Serving warm-up requests. It needs only "
                    "TensorFlow and TensorFlow Text to run.")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--out", required=True, metavar="BASE_DIR",
                   help="the model base directory (TF Serving's --model_base_path is "
                        "BASE_DIR/NAME)")
    p.add_argument("--name", default="translator", help="model name (default: %(default)s)")
    p.add_argument("--version", type=int, metavar="N",
                   help="version number (default: 1 + the highest existing one)")
    p.add_argument("--force", action="store_true", help="replace an existing version")
    p.add_argument("--beam", type=int, metavar="N",
                   help="beam width of serving_default (default: the run's config)")
    p.add_argument("--length-penalty", type=float, metavar="A",
                   help="length penalty exponent (default: the run's config)")
    _add_greedy_row_argument(p)
    _add_match_floor_argument(p)
    _add_precision_argument(p)
    p.add_argument("--shortlist", type=_shortlist, metavar="FREQUENT:PER_PIECE",
                   help="every search keeps to each sentence's lexical shortlist: the "
                        "FREQUENT most frequent target pieces, PER_PIECE for each source "
                        "piece, its source pieces (faster steps; a piece outside can never "
                        "be written), e.g. 2000:100; default: the whole vocabulary")
    _add_language_arguments(p, "record in the export (default: a gettext corpus's own, "
                               "else none)")
    p.set_defaults(run=_run_export)


def _shortlist(text):
    """`FREQUENT:PER_PIECE` -> `(frequent, per_piece)`, for argparse."""
    try:
        frequent, per_piece = (int(part) for part in text.split(":"))
        if frequent >= 1 and per_piece >= 1:
            return frequent, per_piece
    except ValueError:
        pass
    raise argparse.ArgumentTypeError(
        f"expected FREQUENT:PER_PIECE, two positive integers (e.g. 2000:100), got {text!r}")


def _add_language_arguments(p, what):
    p.add_argument("--source", metavar="LANG", help=f"source language code to {what}")
    p.add_argument("--target", metavar="LANG", help=f"target language code to {what}")


def _languages(args):
    """`(source, target)` from --source/--target, or None when neither is given."""
    if (args.source is None) != (args.target is None):
        raise ValueError("--source and --target go together: give both language codes.")
    return None if args.source is None else (args.source, args.target)


def _run_export(args):
    from translate.export import export

    path = export(args.run_dir, args.out, name=args.name, version=args.version,
                  force=args.force, beam_width=args.beam,
                  length_penalty=args.length_penalty, greedy_row=args.greedy_row,
                  languages=_languages(args), precision=args.inference_precision,
                  shortlist=args.shortlist, min_match_similarity=_match_floor(args))
    print(path)


def _add_client(commands):
    p = commands.add_parser(
        "client", help="translate lines through a running TF Serving (REST or gRPC)",
        description="Sends lines from FILE (or standard input) to a TensorFlow Serving that "
                    "serves an exported translator, in requests of at most --batch-size "
                    "lines, and prints one translation per line (empty lines stay empty).")
    p.add_argument("file", nargs="?", metavar="FILE", help="default: standard input")
    p.add_argument("--server", required=True, metavar="HOST:PORT",
                   help="TF Serving's REST port (8501 by default) or gRPC port (8500)")
    p.add_argument("--protocol", choices=serving.PROTOCOLS, default="rest")
    p.add_argument("--rest-format", choices=serving.REST_FORMATS, default=None,
                   help="REST request form: row (instances, the default) or columnar (inputs)")
    p.add_argument("--name", default="translator", help="model name (default: %(default)s)")
    p.add_argument("--version", type=int, metavar="N",
                   help="model version (default: the latest the server has)")
    _add_signature_argument(p)
    p.add_argument("--batch-size", type=int, default=64, metavar="N",
                   help="lines per request (default: %(default)s)")
    p.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                   help="seconds one request may take (default: %(default)s)")
    p.add_argument("--memory", metavar="CORPUS_DIR",
                   help="send each line's nearest match in this corpus's translation memory "
                        "to a model that reads matches (its translate_match signature; "
                        "train.memory_matches)")
    p.add_argument("--min-match-similarity", type=_similarity, default=0.0, metavar="S",
                   help="send only matches at least this similar: the floor the export "
                        "records, min_match_similarity in its assets/decoding.json (default: "
                        "%(default)s)")
    p.set_defaults(run=_run_client, exit_at_once=True)


def _run_client(args):
    from translate.serving import connect

    sources = _read_lines(args.file)
    matches = None
    if args.memory:
        from translate.corpus import normalize
        from translate.matches import given
        from translate.memory import TranslationMemory

        tm = TranslationMemory.from_corpus(args.memory, cache=True)
        matches = given(tm.lookup([normalize(s) for s in sources]), args.min_match_similarity)
    options = {} if args.rest_format is None else {"rest_format": args.rest_format}
    with connect(args.server, protocol=args.protocol, name=args.name, version=args.version,
                 signature=args.signature, timeout=args.timeout, **options) as client:
        outputs = client.translate(sources, args.batch_size,
                                   progress=_progress if args.file else None, matches=matches)
    for line in outputs:
        # One output line per input line, whatever line breaks a translation holds.
        print(" ".join(line.splitlines()))


def _add_po(commands):
    p = commands.add_parser(
        "po", help="fill the untranslated entries of a gettext catalog through an export",
        description="Fills the untranslated messages of CATALOG with an exported model's "
                    "translations (the translation memory's where usable, with --memory), "
                    "each flagged fuzzy with a comment saying where it came from. Each "
                    "message takes the first of the model's hypotheses (its n best, where "
                    "the export has them) that keeps every placeholder and passes Translate "
                    "Toolkit's checks, the ones pofilter runs; where none does, it stays "
                    "untranslated and is counted per check. "
                    "Everything else in the catalog is kept. Writes --out, or CATALOG "
                    "itself with --in-place, atomically.")
    p.add_argument("catalog", metavar="CATALOG", help="the .po file to fill")
    p.add_argument("--model", required=True, metavar="EXPORT_DIR",
                   help="a version directory of `translate export`, or its model directory "
                        "(BASE_DIR/NAME: the highest version is used)")
    target = p.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", metavar="OUT.po", help="the filled catalog to write")
    target.add_argument("--in-place", action="store_true", help="overwrite CATALOG")
    _add_memory_arguments(p)
    p.add_argument("--memory-po", action="append", default=[], metavar="OTHER.po",
                   help="another catalog of the project (another domain, the previous "
                        "release) whose translated entries join the catalog memory; "
                        "repeatable")
    p.add_argument("--no-catalog-memory", dest="catalog_memory", action="store_false",
                   help="do not offer the catalog's own translated entries (exact matches, "
                        "near matches repaired, similar messages) ahead of the model")
    p.add_argument("--batch-size", type=int, default=64, metavar="N",
                   help="sentences per model call (default: %(default)s)")
    _add_signature_argument(p)
    p.add_argument("--accelerator", choices=MARKERS, default=None,
                   help="the catalog's keyboard accelerator marker (_ GTK/GNOME, & Qt/KDE, "
                        "~ LibreOffice): removed before translation, put back after it, and "
                        "checked (default: none, the convention unknown)")
    p.add_argument("--no-checks", dest="checks", action="store_false",
                   help="skip Translate Toolkit's checks (pofilter's), which every suggestion "
                        "must otherwise pass; they need the toolkit, which make installs "
                        "(without it, and without this option, po stops with an error)")
    p.add_argument("--segments", choices=("first", "fallback"), default="first",
                   help="first: a message of two sentences or lines or more is offered its "
                        "segments' translations joined before its whole hypotheses (on the "
                        "dev split, 1.6-9 chrF higher on such messages); fallback: segments "
                        "only where no whole hypothesis passes (default: %(default)s)")
    _add_glossary_argument(p)
    p.set_defaults(run=_run_po, exit_at_once=True)


def _run_po(args):
    from translate.localize import catalogs, fill

    from collections import Counter

    glossary = None
    if args.glossary:  # a TBX's target language set: the catalog's language
        glossary = _glossary(args, catalogs.read_catalog(args.catalog).metadata.get("Language")
                             or None)
    summary = fill.fill_po(args.catalog, args.model, args.catalog if args.in_place else args.out,
                           memory_corpus=args.memory, memory_threshold=args.memory_threshold,
                           memory_catalogs=args.memory_po, catalog_memory=args.catalog_memory,
                           batch_size=args.batch_size, signature=args.signature,
                           progress=_progress, checks=args.checks, accelerator=args.accelerator,
                           glossary=glossary, segments_first=args.segments == "first")
    print(f"{summary.out}: filled {summary.filled} of {summary.untranslated} untranslated "
          f"messages as fuzzy ({summary.from_catalog} from the catalog memory, "
          f"{summary.from_memory} from the corpus memory, {summary.from_model} "
          f"by the model {summary.model}, {summary.plurals} of them plural, "
          f"{summary.fallbacks} with a hypothesis after the first, {summary.by_segments} "
          f"in segments)")
    if summary.catalog_memory is not None:
        print(f"catalog memory ({summary.catalog_memory} translated entries): "
              f"{summary.catalog_exact} exact, {summary.catalog_near} near (repaired), "
              f"{summary.catalog_fuzzy} similar; {summary.catalog_rejected} offers failed a check")
    if summary.memory_threshold is not None:
        origin = {True: " (cached)", False: " (chosen on the memory's dev split)"}.get(
            summary.threshold_cached, "")
        print(f"memory threshold: {summary.memory_threshold:.2f}{origin}; "
              f"{summary.memory_rejected} usable corpus matches failed a check")
    # Each kept message once, under the worst problem of its best suggestion.
    print(f"kept untranslated: {summary.kept_placeholders} lost or altered a placeholder, "
          f"{summary.kept_format} flagged by the export (format_ok), {summary.kept_msgfmt} "
          f"rejected by msgfmt --check-format, {summary.kept_empty} empty, "
          f"{summary.kept_unwritable} not writable (charset, control or broken characters), "
          f"{summary.kept_failed_checks} failed only Translate Toolkit's checks; untouched: "
          f"{summary.translated} translated, {summary.fuzzy} fuzzy, {summary.partial_plurals} "
          f"partly translated plural")
    if glossary is not None:
        missed = ", ".join(f"{term} {n}" for term, n in sorted(
            summary.glossary_missed_terms.items(), key=lambda item: -item[1])[:5])
        print(f"glossary ({len(glossary)} terms): {summary.glossary_followed} of "
              f"{summary.glossary_entries} filled entries with a term follow it; "
              f"{summary.glossary_missed} filled without (commented)"
              + (f": {missed}" if missed else "")
              + f"; {summary.memory_glossary_rejected} memory matches lacked a term")
    if summary.checks is None:
        print("checks: not run (--no-checks)")
    else:
        print(f"checks the best suggestion of the kept messages failed: "
              f"{_check_counts(Counter(summary.kept_checks))}")
    for kind, msgids in (("placeholders", summary.placeholder_msgids),
                         ("checks", summary.check_msgids)):
        for msgid in msgids[:5]:
            print(f"  {kind}: {msgid!r}")
        if len(msgids) > 5:
            print(f"  ... and {len(msgids) - 5} more")


def _add_serve(commands):
    p = commands.add_parser(
        "serve", help="a LibreTranslate-compatible HTTP endpoint (for Weblate) in front of "
                      "an export",
        description="Answers LibreTranslate's API (GET /languages, POST /translate with q, "
                    "source, target, format, alternatives, api_key; JSON or form data) with "
                    "an exported model, loaded here (--model) or served by TF Serving "
                    "(--tf-serving). The texts of concurrent requests go to the model in one "
                    "call. Stops on Ctrl-C or SIGTERM.")
    model = p.add_argument_group("the model")
    model.add_argument("--model", metavar="EXPORT_DIR",
                       help="a version directory of `translate export`, or its model "
                            "directory (the highest version); with --tf-serving only read "
                            "for its language pair")
    model.add_argument("--tf-serving", metavar="HOST:PORT",
                       help="forward to this TF Serving instead of loading the model (its "
                            "REST port, 8501, or with --protocol grpc its gRPC port, 8500)")
    model.add_argument("--protocol", choices=serving.PROTOCOLS, default="rest",
                       help="how to talk to --tf-serving (default: %(default)s)")
    model.add_argument("--name", default="translator",
                       help="the model's name on TF Serving (default: %(default)s)")
    model.add_argument("--model-version", type=int, metavar="N",
                       help="the version TF Serving is asked for (default: its latest)")
    model.add_argument("--timeout", type=float, default=10.0, metavar="SECONDS",
                       help="seconds one TF Serving request may take (default: %(default)s)")
    _add_signature_argument(model)
    _add_language_arguments(model, "answer for (default: the pair the export records)")
    _add_memory_arguments(model)
    _add_glossary_argument(model)
    web = p.add_argument_group("the endpoint")
    web.add_argument("--host", default="127.0.0.1",
                     help="address to listen on (default: %(default)s; 0.0.0.0 for all)")
    web.add_argument("--port", type=int, default=5000,
                     help="port to listen on (default: %(default)s; 0: a free one)")
    web.add_argument("--api-key", action="append", default=[], metavar="KEY",
                     help="a key a request must give as api_key (repeat for several; "
                          "default: none needed)")
    web.add_argument("--api-key-file", metavar="FILE",
                     help="more keys, one per line (kept out of the process list)")
    defaults = Limits()
    web.add_argument("--batch-size", type=int, default=defaults.batch_sentences, metavar="N",
                     help="the most texts of concurrent requests in one model call "
                          "(default: %(default)s; 1: no batching)")
    web.add_argument("--batch-wait-ms", type=float, default=defaults.batch_wait * 1000,
                     metavar="MS", help="the most a request waits for others to join its "
                                        "model call (default: %(default)s)")
    web.add_argument("--max-texts", type=int, default=defaults.max_texts, metavar="N",
                     help="the most texts in one request (default: %(default)s)")
    web.add_argument("--max-chars", type=int, default=defaults.max_chars, metavar="N",
                     help="the most characters in one text (default: %(default)s)")
    web.add_argument("--max-body-bytes", type=int, default=defaults.max_body_bytes,
                     metavar="N", help="the largest request body (default: %(default)s)")
    web.add_argument("--log-level", default="info",
                     choices=("critical", "error", "warning", "info", "debug"),
                     help="the server's log (default: %(default)s; warning hides the "
                          "access log)")
    p.set_defaults(run=_run_serve)


def _api_keys(args):
    keys = list(args.api_key)
    if args.api_key_file:
        with open(args.api_key_file, encoding="utf-8") as f:
            keys += [line.strip() for line in f if line.strip()]
    if any(not key.strip() for key in keys):
        raise ValueError("an --api-key must not be empty.")
    return keys


def _match_from(args, backend):
    """For a model that reads memory matches (through TF Serving: as the
    export `--model` names records), the least similarity of the matches it
    is given; None for another model, or a signature without a match twin."""
    if args.signature not in signatures.MATCH_TWINS:
        return None
    if args.tf_serving:
        settings = signatures.export_settings(args.model) if args.model else {}
        return (settings.get("min_match_similarity", 0.0) if settings.get("reads_matches")
                else None)
    return backend.min_match_similarity if backend.reads_matches else None


def _run_serve(args):
    from translate.endpoint import server
    from translate.endpoint.languages import LanguagePair

    if args.model is None and args.tf_serving is None:
        raise ValueError("name the model: --model EXPORT_DIR, or --tf-serving HOST:PORT.")
    pair = _languages(args) or (signatures.export_languages(args.model) if args.model else None)
    if pair is None:
        raise ValueError(
            (f"the export {args.model} does not record its language pair"
             if args.model else "TF Serving does not say the model's language pair")
            + ": pass --source LANG --target LANG (e.g. --source en --target de).")
    pair = LanguagePair(*pair)
    limits = Limits(max_body_bytes=args.max_body_bytes, max_texts=args.max_texts,
                    max_chars=args.max_chars, batch_sentences=args.batch_size,
                    batch_wait=args.batch_wait_ms / 1000)
    keys = _api_keys(args)
    if args.memory_threshold is not None and not args.memory:
        raise ValueError("--memory-threshold needs --memory.")
    tm = None
    if args.memory:  # before minutes of loading: a missing corpus, a taken port
        from translate import assist, memory

        tm = memory.TranslationMemory.from_corpus(args.memory)
    glossary = _glossary(args, pair.target)
    if glossary is not None and args.signature != signatures.SERVING_SIGNATURE:
        raise ValueError(f"--glossary needs beam search (--signature "
                         f"{signatures.SERVING_SIGNATURE}), not {args.signature}.")
    sock = server.bind(args.host, args.port)
    if args.tf_serving:
        backend = serving.connect(args.tf_serving, protocol=args.protocol, name=args.name,
                                  version=args.model_version, signature=args.signature,
                                  timeout=args.timeout)
        label = f"TF Serving {backend.target}, model {args.name!r} ({args.signature})"
    else:
        from translate.exported import ExportedModel

        backend = ExportedModel(args.model, args.signature)
        label = f"{backend.path} ({args.signature})"
    threshold, match_from = args.memory_threshold, None
    if tm is not None:
        if threshold is None:
            print("choosing the memory threshold on the memory corpus's dev split...",
                  file=sys.stderr, flush=True)
            threshold = assist.dev_threshold(backend, args.memory, tm=tm)
        label += f", memory {args.memory} from similarity {threshold:.2f}"
        match_from = _match_from(args, backend) if glossary is None else None
        if match_from is not None:
            label += f", the model reading matches from similarity {match_from:.2f}"
    if glossary is not None:
        label += f", glossary of {len(glossary)} terms"
    from translate.endpoint.app import create_app

    app = create_app(backend, pair, api_keys=keys, limits=limits, memory=tm,
                     memory_threshold=threshold, glossary=glossary, match_from=match_from)
    print(f"translate serve: {server.url(sock)} translates {pair} with {label}"
          f"{'; API key needed' if keys else ''}", flush=True)
    server.run(app, sock, log_level=args.log_level)


def build_parser():
    parser = argparse.ArgumentParser(
        prog="translate", description="GRU neural machine translation.")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_prepare(commands)
    _add_train(commands)
    _add_adapt(commands)
    _add_evaluate(commands)
    _add_translate(commands)
    _add_align(commands)
    _add_export(commands)
    _add_client(commands)
    _add_po(commands)
    _add_serve(commands)
    return parser


def _main(argv):
    """`(exit status, args)` of one command."""
    args = build_parser().parse_args(argv)
    try:
        args.run(args)
    except (ConfigError, CorpusError, OSError, ValueError, ToolkitMissing,
            CheckerError) as error:
        # OSError: also FileNotFoundError, FileExistsError, ServingError.
        print(f"translate {args.command}: error: {error}", file=sys.stderr)
        return 2, args
    return 0, args


def main(argv=None):
    """Runs one `translate` command.

    Args:
        argv: the arguments (default: the process's).

    Returns:
        The exit status: 0, or 2 after an error it has printed.
    """
    return _main(argv)[0]


def console():
    """Entry point of the `translate` console script (and `python -m translate`).

    Runs `main`; after the commands a user waits for at the prompt (`po`,
    `translate`, `client`), the process then ends without Python's
    teardown of TensorFlow, which takes 1-1.5 s on 2 CPU cores after
    everything is written. Everything such a command opens is closed by
    then: its files are written atomically, its checker process is stopped.
    """
    code, args = _main(None)
    if getattr(args, "exit_at_once", False):
        sys.stdout.flush()
        sys.stderr.flush()
        logging.shutdown()
        os._exit(code)
    sys.exit(code)


if __name__ == "__main__":
    console()
