"""Filling a catalog's untranslated entries: memories first, then the model's hypotheses.

The rules are the package's (`translate.localize`); this module applies
them: `fill_catalog` to a parsed catalog with any translation function,
`fill_po` to a .po file with an exported model.
"""

from pathlib import Path

from translate import accelerators, assist
from translate.checks import Checker
from translate.corpus import normalize
from translate.exported import ExportedModel
from translate.localize import segments
from translate.localize.catalog_memory import CatalogMemory
from translate.localize.catalogs import entry_state, nplurals, plural_sources, read_catalog
from translate.localize.splice import write_filled
from translate.localize.suggestions import Form, dress, hypothesis_lists, judge
from translate.localize.summary import FillSummary, count_kept, count_terms
from translate.matches import given
from translate.memory import TranslationMemory, floor_similarity, usable
from translate.signatures import SERVING_SIGNATURE

MODEL_NAME = "gru-keras"
"""How the model names itself in the translator comments."""

COMMENT_PREFIX = "machine translation:"


def _mark(entry, comment):
    """Flags a filled entry fuzzy and records where its draft came from."""
    entry.fuzzy = True
    entry.tcomment = f"{entry.tcomment}\n{comment}" if entry.tcomment else comment


def _by_segments(by_entry, translate_n_best, encoding, checker, glossary, accelerator):
    """Retries, segment by segment, the forms of `by_entry` (entry id -> its
    judged forms) none of whose candidates passed (`segments.retry`); an
    entry all of whose forms pass then takes its retried ones."""
    failed = [f for entry_forms in by_entry.values() for f in entry_forms if f.pick is None]
    retried = segments.retry(failed, translate_n_best, accelerator)
    judge(list(retried.values()), encoding, checker, glossary, accelerator)
    for entry_id, entry_forms in by_entry.items():
        forms = [retried.get(id(f), f) for f in entry_forms]
        if any(f.by_segments for f in forms) and all(f.pick is not None for f in forms):
            by_entry[entry_id] = forms


def _model_comment(model_label, forms):
    """The origin comment of a model translation: which hypotheses were
    taken, or in how many segments it was translated."""
    comment = f"{COMMENT_PREFIX} model {MODEL_NAME} {model_label}"
    in_segments = sum(f.segments for f in forms if f.by_segments)
    hypotheses = [f.hypothesis for f in forms]
    note = None
    if in_segments:
        note = f"in {in_segments} segments"
    elif any(hypotheses):
        of = max(len(f.candidates) - (1 if f.segments else 0) for f in forms)
        note = (f"hypothesis {hypotheses[0] + 1} of {of}" if len(hypotheses) == 1 else
                "hypotheses " + ", ".join(str(h + 1) for h in hypotheses) + f" of {of}")
    if note:
        comment = (f"{comment[:-1]}, {note})" if comment.endswith(")")
                   else f"{comment} ({note})")
    return comment + _missed_note(forms)


def _missed_note(forms):
    """`; glossary term missed: page -> Seite` for the terms the picks lack, or ""."""
    missed = []
    for form in forms:
        missed += [entry for entry in form.missed_terms if entry not in missed]
    if not missed:
        return ""
    terms = ", ".join(f"{entry.source} -> {entry.target}" for entry in missed)
    return f"; glossary term{'s' if len(missed) > 1 else ''} missed: {terms}"


def fill_catalog(catalog, translate=None, *, model_label, translate_n_best=None, memory=None,
                 threshold=None, catalog_memory=None, checker=None, accelerator=None,
                 glossary=None, segments_first=True):
    """Fills the untranslated messages of a parsed catalog, in place.

    The rules (checks, hypotheses, fuzzy flag, comments, whitespace,
    accelerators, plurals) are the package docstring's (`translate.localize`).

    Args:
        catalog: a `polib.POFile`; its untranslated entries are changed.
        translate: `f(sentences) -> translations`, a list of strings in, a
            list of as many strings out (e.g. `ExportedModel.translate`, or
            a TF Serving client's `translate`): one hypothesis per message.
            Give this or `translate_n_best`.
        model_label: how the comment names the model, e.g.
            "translator/3 (translate_n_best)".
        translate_n_best: `f(sentences) -> hypotheses`: for each sentence, a
            list of its hypotheses, best first, each a string or a `(text,
            format_ok)` pair (e.g. `ExportedModel.n_best` with
            `with_format`). Whichever is given is called once, with each
            distinct message left to it (as written, its accelerator
            removed) and each distinct segment of those translated in
            segments first, or not at all when none is left; then once
            more for the segments of messages none of whose candidates
            passed, if any.
        memory: a `translate.memory.TranslationMemory` (the corpus memory),
            or None.
        threshold: the similarity from which a fuzzy match of either memory
            is used; needed with `memory`. None with `catalog_memory` alone:
            its exact and near matches only.
        catalog_memory: a `translate.localize.catalog_memory.CatalogMemory`
            (the translated entries of this and other catalogs of the
            project), offered ahead of `memory`, or None.
        checker: a `translate.checks.Checker` whose checks every suggestion
            must pass too, or None for this module's own rules alone.
        accelerator: the catalog's accelerator marker ("_", "&", "~"), or
            None.
        glossary: a `translate.glossary.Glossary`, or None. A memory match
            that lacks a term of its message is not used; of the model's
            hypotheses, the first that passes and has every term is taken,
            else the first that passes, and its comment names the terms it
            lacks. (Give `translate_n_best` the glossary too, e.g. the
            export's glossary signature, so that its hypotheses use it.)
        segments_first: a message with two segments or more that hold text
            (`translate.localize.segments.parts_first`) gets, before its
            whole hypotheses, the candidate joined from its segments'
            translations; False: segments only when no whole hypothesis
            passes.

    Returns:
        A `FillSummary`.

    Raises:
        ValueError: neither or both of `translate` and `translate_n_best`;
            `memory` without a `threshold`; an unknown accelerator marker;
            or the function returned a different number of results than it
            was given messages.
        TypeError: `translate_n_best` returned a string for a message.
        translate.toolkit.ToolkitMissing, translate.checks.CheckerError:
            from `checker`.
    """
    if (translate is None) == (translate_n_best is None):
        raise ValueError("give one of translate and translate_n_best.")
    if memory is not None and threshold is None:
        raise ValueError("a translation memory needs a similarity threshold.")
    accelerators.check_marker(accelerator)
    if translate is not None:
        def translate_n_best(sentences):
            return [[text] for text in translate(sentences)]
    summary = FillSummary(memory_threshold=None if threshold is None else float(threshold),
                          checks=None if checker is None else list(checker.checks),
                          catalog_memory=None if catalog_memory is None else len(catalog_memory))
    forms = nplurals(catalog)
    encoding = catalog.encoding or "utf-8"

    todo = []
    for entry in catalog:
        if entry.obsolete or entry.msgid == "":
            continue
        summary.entries += 1
        state = entry_state(entry)
        if state == "partial":
            summary.partial_plurals += 1
        elif state != "untranslated":
            setattr(summary, state, getattr(summary, state) + 1)
        else:
            summary.untranslated += 1
            todo.append(entry)

    # The memories first: what they fill, the model need not translate.
    from_memory = _reuse(todo, forms, catalog_memory, memory, threshold, summary, encoding,
                         checker, glossary, accelerator)

    # Then the model, each distinct message (its accelerator removed) once.
    def sources(entry):
        return plural_sources(entry, forms) if entry.msgid_plural else [entry.msgid]

    hypotheses = {}  # message given to the model -> its hypotheses, first-seen order
    plans = {}  # message translated in segments first -> its parts
    for entry in todo:
        if id(entry) not in from_memory:
            for text in sources(entry):
                plain = accelerators.remove(text, accelerator)[0]
                hypotheses.setdefault(plain, [])
                parts = segments.parts_first(plain) if segments_first else None
                if parts:
                    plans[plain] = parts
    queries = [text for text in hypotheses if text.strip()]
    queries = list(dict.fromkeys(queries + [segment for parts in plans.values()
                                            for segment, _ in parts
                                            if segments.has_text(segment)]))
    found = dict(zip(queries, hypothesis_lists(translate_n_best(queries), len(queries))
                     if queries else []))
    hypotheses.update({text: found[text] for text in hypotheses if text in found})
    joined = {plain: segments.join(parts, found) for plain, parts in plans.items()}

    def form(source, flags):
        plain, key = accelerators.remove(source, accelerator)
        candidates = [(dress(source, accelerators.restore(text, key)), ok)
                      for text, ok in hypotheses[plain]]
        if plain not in joined:
            return Form(source, candidates, flags=flags)
        text, ok, count = joined[plain]
        return Form(source, [(dress(source, accelerators.restore(text, key)), ok)] + candidates,
                    flags=flags, segments=count)

    by_entry = {id(entry): [form(s, tuple(entry.flags)) for s in sources(entry)]
                for entry in todo if id(entry) not in from_memory}
    judge([f for entry_forms in by_entry.values() for f in entry_forms], encoding, checker,
          glossary, accelerator)
    _by_segments(by_entry, translate_n_best, encoding, checker, glossary, accelerator)

    for entry in todo:
        if id(entry) in from_memory:
            kind, note, entry_forms = from_memory[id(entry)]
            comment = f"{COMMENT_PREFIX} {note}"
        else:
            entry_forms = by_entry[id(entry)]
            if any(f.pick is None for f in entry_forms):
                count_kept(summary, entry, entry_forms)
                continue
            comment = _model_comment(model_label, entry_forms)
            summary.fallbacks += any(f.hypothesis for f in entry_forms)
            summary.by_segments += any(f.by_segments for f in entry_forms)
        texts = [f.candidates[f.pick][0] for f in entry_forms]
        if entry.msgid_plural:
            entry.msgstr_plural = dict(enumerate(texts))
            summary.plurals += 1
        else:
            entry.msgstr = texts[0]
        _mark(entry, comment)
        if glossary is not None:
            count_terms(summary, glossary, entry, entry_forms, accelerator)
        summary.filled_entries.append(entry)
        if id(entry) not in from_memory:
            summary.from_model += 1
        elif kind == "memory":
            summary.from_memory += 1
        else:
            summary.from_catalog += 1
            setattr(summary, f"catalog_{kind}", getattr(summary, f"catalog_{kind}") + 1)
    return summary


def _offers(entry, forms, catalog_memory, match, threshold):
    """`(kind, note, targets)` for each stored translation offered for an
    entry, best first: the catalog memory's, then the corpus memory's match
    where usable."""
    found = []
    if catalog_memory is not None:
        found += [(offer.kind, f"catalog memory, {offer.note}", offer.targets)
                  for offer in catalog_memory.offers(entry.msgctxt, entry.msgid,
                                                     entry.msgid_plural or None, threshold)]
    if match is not None and usable(entry.msgid, match, threshold):
        found.append(("memory", f"memory, similarity {floor_similarity(match.similarity):.2f}",
                      (match.target,)))
    return found


def _reuse(todo, forms, catalog_memory, memory, threshold, summary, encoding, checker,
           glossary, accelerator):
    """The entries the memories fill: `id(entry) -> (kind, comment note, forms)`.

    Each entry takes the first offer (`_offers`) all of whose forms pass
    every check and have every glossary term; the offers before it that did
    not are counted as rejected.
    """
    singular = [e for e in todo if not e.msgid_plural]
    matches = dict(zip(map(id, singular), memory.lookup([normalize(e.msgid) for e in singular])
                       if memory is not None else []))
    offered = {}
    for entry in todo:
        sources = plural_sources(entry, forms) if entry.msgid_plural else [entry.msgid]
        offered[id(entry)] = [
            (kind, note, [Form(s, [(dress(s, text), None)], flags=tuple(entry.flags))
                          for s, text in zip(sources, targets)])
            for kind, note, targets in _offers(entry, forms, catalog_memory,
                                               matches.get(id(entry)), threshold)]
    judge([f for offers in offered.values() for _, _, fs in offers for f in fs], encoding,
          checker, glossary, accelerator)
    chosen = {}
    for key, offers in offered.items():
        for kind, note, entry_forms in offers:
            rejected = "memory" if kind == "memory" else "catalog"
            if any(f.pick is None for f in entry_forms):
                setattr(summary, f"{rejected}_rejected",
                        getattr(summary, f"{rejected}_rejected") + 1)
            elif any(f.missed_terms for f in entry_forms):
                summary.memory_glossary_rejected += 1
            else:
                chosen[key] = kind, note, entry_forms
                break
    return chosen


def fill_po(catalog_path, export_dir, out, *, memory_corpus=None, memory_threshold=None,
            memory_catalogs=(), catalog_memory=True, batch_size=64,
            signature=SERVING_SIGNATURE, progress=None, checks=True, accelerator=None,
            glossary=None, segments_first=True):
    """Fills a .po catalog through an exported model; writes the result.

    Args:
        catalog_path: the .po file to fill.
        export_dir: the exported model (see `resolve_export`).
        out: the .po file to write; `catalog_path` itself to fill it in
            place (written atomically either way).
        memory_corpus: a corpus directory whose `train.tsv` is the
            translation memory, or None.
        memory_threshold: the similarity from which a fuzzy match of either
            memory is used; None chooses it on `memory_corpus`'s dev split
            with this model (`translate.assist.cached_threshold`: once per
            export and memory corpus, then from the user cache); without a
            memory corpus and a threshold, the catalog memory offers its
            exact and near matches only.
        memory_catalogs: paths of other .po catalogs of the project (other
            domains, the previous release) whose translated entries join the
            catalog memory (`translate.localize.catalog_memory`).
        catalog_memory: whether the catalog's own translated entries are a
            memory too (ahead of the corpus memory).
        batch_size: sentences per call of the signature.
        signature: "serving_default" (beam search: the export's n best
            hypotheses, `translate_n_best`, where it has them) or
            "translate_greedy" (one hypothesis).
        progress: optional wrapper of the model's batch iterator.
        checks: run Translate Toolkit's checks (`translate.checks`) for the
            catalog's `Language`; False for this module's own rules alone.
        accelerator: the catalog's accelerator marker ("_", "&", "~"), or
            None when its convention is not known.
        glossary: a `translate.glossary.Glossary` the suggestions follow
            (the export's glossary signatures mask its terms; see
            `fill_catalog`), or None.
        segments_first: as `fill_catalog`.

    Returns:
        A `FillSummary` (with `catalog`, `out` and `model` set).

    Raises:
        FileNotFoundError: no such catalog, no export, or no memory corpus.
        translate.corpus.CorpusError: the catalog cannot be read or parsed,
            or the memory corpus is malformed.
        ValueError: a bad signature, batch size, threshold or accelerator
            marker, a threshold without any memory, or a memory catalog of
            another language.
        translate.toolkit.ToolkitMissing: `checks` without Translate Toolkit
            installed (found before the model is loaded).
        translate.checks.CheckerError: the toolkit's process failed.
        RuntimeError: see `write_filled`.
    """
    # Argument errors first, before minutes of loading and translating.
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
    if memory_threshold is not None and memory_corpus is None and not (
            catalog_memory or memory_catalogs):
        raise ValueError("a memory threshold was given without a memory.")
    accelerators.check_marker(accelerator)
    catalog = read_catalog(catalog_path)
    with Checker(catalog.metadata.get("Language") or None, accelerator) as checker:
        if checks:  # a missing toolkit is reported before the memories and the model
            checker.start(wait=False)  # load, which the toolkit's process imports meanwhile
        stored = None
        if catalog_memory or memory_catalogs:
            stored = CatalogMemory.from_catalogs(catalog, memory_catalogs,
                                                 Path(catalog_path).name, own=catalog_memory)
        # A few batched calls: Grappler's rewriting would cost more than it saves.
        model = ExportedModel(export_dir, signature, optimize=False)
        tm, threshold, cached = None, memory_threshold, None
        if memory_corpus is not None:
            tm = TranslationMemory.from_corpus(memory_corpus, cache=True)
            if threshold is None:
                threshold, cached = assist.cached_threshold(model, memory_corpus,
                                                            model.fingerprint, tm=tm)
        n_best = signature == SERVING_SIGNATURE
        label = model.n_best_label if n_best else model.label
        if glossary:
            label = model.glossary_label(n_best)
        # A model that reads memory matches gets each message's corpus match.
        reading = tm is not None and model.reads_matches and not glossary and n_best
        if reading:
            label = model.match_label(n_best)

        def translate_n_best(sentences):
            matches = (given(tm.lookup([normalize(s) for s in sentences]),
                             model.min_match_similarity) if reading else None)
            if n_best:
                return model.n_best(sentences, batch_size, progress=progress, with_format=True,
                                    glossary=glossary, matches=matches)
            return [[text] for text in model.translate(sentences, batch_size, progress=progress,
                                                       glossary=glossary)]

        summary = fill_catalog(catalog, model_label=label, translate_n_best=translate_n_best,
                               memory=tm, threshold=threshold, catalog_memory=stored,
                               checker=checker if checks else None, accelerator=accelerator,
                               glossary=glossary, segments_first=segments_first)
    write_filled(catalog_path, catalog, summary.filled_entries, out)
    summary.catalog, summary.out, summary.model = str(catalog_path), str(out), label
    summary.threshold_cached = cached
    return summary
