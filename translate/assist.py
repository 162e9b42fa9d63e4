"""The model together with a translation memory, as translators use them.

Above a similarity threshold (chosen on the memory corpus's dev split with
this model's own dev translations, never on test) the memory's stored
translation is used, below it the model's; a match whose placeholders differ
from the message's is never used as it is (`translate.memory.usable`).
"""

import json
from pathlib import Path

from translate import cache, evaluation, memory
from translate.atomic import atomic_file
from translate.corpus import normalize, sha256_file
from translate.matches import given


def dev_threshold(translator, memory_corpus, run_dir=None, tm=None):
    """The threshold maximising dev chrF of memory + this model.

    Cached in `run_dir/memory_threshold.json` (per memory corpus), since it
    costs a translation of the dev split.

    Args:
        translator: a `translate.inference.Translator` (anything with
            `translate(sentences)`).
        memory_corpus: the corpus directory of the memory (its `dev.tsv`).
        run_dir: where to cache the choice, or None.
        tm: the memory of `memory_corpus` if the caller has it already
            (building one fits TF-IDF over the whole training split).

    Returns:
        The threshold, a float.
    """
    memory_corpus = Path(memory_corpus).resolve()
    cache = Path(run_dir) / "memory_threshold.json" if run_dir else None
    cached = json.loads(cache.read_text()) if cache and cache.exists() else {}
    if str(memory_corpus) in cached:
        return cached[str(memory_corpus)]
    sources, references = evaluation.read_tsv_pairs(memory_corpus / "dev.tsv")
    tm = tm or memory.TranslationMemory.from_corpus(memory_corpus)
    matches = tm.lookup(sources)
    threshold = memory.choose_threshold(sources, references, matches,
                                        translate_reading(translator, sources, matches))
    if cache:
        cached[str(memory_corpus)] = threshold
        cache.write_text(json.dumps(cached, indent=1))
    return threshold


MATCH_FLOOR = "match_floor.json"
"""In a run directory: the floor `dev_match_floor` chose, with what it was
chosen for (the weights' and the dev split's SHA-256) and the dev chrF of
each candidate."""


def _floor_key(corpus_dir, weights):
    return {"dev_sha256": sha256_file(Path(corpus_dir) / "dev.tsv"),
            "weights_sha256": sha256_file(weights)}


def recorded_match_floor(run_dir, corpus_dir, weights):
    """`(floor, scores)` that `dev_match_floor` recorded in `run_dir` for
    these weights and this dev split, or None: the caller need not load the
    model to learn it."""
    try:
        found = json.loads((Path(run_dir) / MATCH_FLOOR).read_text(encoding="utf-8"))
        if any(found.get(name) != value
               for name, value in _floor_key(corpus_dir, weights).items()):
            return None
        return float(found["floor"]), [tuple(pair) for pair in found["scores"]]
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None  # none recorded, or a broken record: chosen again


def dev_match_floor(translator, corpus_dir, run_dir=None, weights=None):
    """The least similarity from which a model that reads matches is given
    its memory match, chosen on the dev split of its own corpus.

    The model translates the dev split twice, given each message's match in
    the corpus's training memory (from the training's own floor,
    `translator.min_match_similarity`) and given none, and
    `translate.memory.choose_match_floor` takes the floor whose mix scores
    best. Cached in `run_dir/MATCH_FLOOR` for those weights and that split.

    Args:
        translator: a `translate.inference.Translator` that `reads_matches`.
        corpus_dir: the run's corpus directory (its `train.tsv`, `dev.tsv`).
        run_dir: where to cache the choice, or None.
        weights: the weights file the translator loaded (the cache's key).

    Returns:
        `(floor, scores)`: the floor (never below the training's) and
        `[(floor, dev chrF)]`.
    """
    corpus_dir = Path(corpus_dir)
    cache_it = run_dir is not None and weights is not None
    if cache_it:
        found = recorded_match_floor(run_dir, corpus_dir, weights)
        if found is not None:
            return found
    sources, references = evaluation.read_tsv_pairs(corpus_dir / "dev.tsv")
    matches = memory.TranslationMemory.from_corpus(corpus_dir, cache=True).lookup(sources)
    reading = translate_reading(translator, sources, matches)
    without = translator.translate(sources)
    least = translator.min_match_similarity
    floor, scores = memory.choose_match_floor(
        references, reading, without, [m.similarity for m in matches],
        [least] + [f for f in memory.MATCH_FLOORS if f > least])
    if cache_it:
        with atomic_file(Path(run_dir) / MATCH_FLOOR, encoding="utf-8") as f:
            json.dump({**_floor_key(corpus_dir, weights), "floor": floor, "scores": scores},
                      f, indent=1)
    return floor, scores


def cached_threshold(translator, memory_corpus, model_fingerprint, tm=None):
    """`dev_threshold` for a model that has no run directory (an export).

    Cached in the user cache (`translate.cache`, "memory_thresholds") under a
    fingerprint of the model and of the memory corpus's train and dev
    splits, so that only the first call with this model and memory pays for
    the dev translation, and a retrained model or a changed corpus never
    gets a stale threshold.

    Args:
        translator: anything with `translate(sentences)` (an exported model).
        memory_corpus: the corpus directory of the memory.
        model_fingerprint: a string that changes whenever the model does
            (`translate.exported.ExportedModel.fingerprint`).
        tm: the memory of `memory_corpus`, if the caller has it.

    Returns:
        `(threshold, cached)`: the threshold, and whether it came from the
        cache.

    Raises:
        FileNotFoundError: the corpus has no train.tsv or dev.tsv.
    """
    memory_corpus = Path(memory_corpus)
    key = cache.fingerprint(model_fingerprint, *(
        sha256_file(memory_corpus / name) for name in ("train.tsv", "dev.tsv")))
    found = cache.lookup("memory_thresholds", key)
    if isinstance(found, (int, float)) and not isinstance(found, bool):
        return float(found), True
    threshold = dev_threshold(translator, memory_corpus, tm=tm)
    cache.store("memory_thresholds", key, threshold)
    return threshold, False


def translate_reading(translator, sources, matches, batch_size=64, progress=None):
    """The model's translations of `sources`, each reading its memory match
    (`translate.memory.Match`) when the model `reads_matches` (and the match
    is at least its `min_match_similarity` similar).

    Args:
        translator: a `translate.inference.Translator`, or anything with
            `translate(sentences)` (then the matches are not read).
        sources: the messages.
        matches: their memory matches, one per message.
        batch_size, progress: as `Translator.translate`.
    """
    if not getattr(translator, "reads_matches", False):
        return translator.translate(sources, batch_size, progress=progress)
    return translator.translate(sources, batch_size, progress=progress,
                                matches=given(matches, translator.min_match_similarity))


def memory_first(sources, tm, threshold, translate, glossary=None, matches=None):
    """`(outputs, origins)`: memory where usable, and the model only for the rest.

    As `translate po` fills a catalog: each message is looked up as the
    corpus stores messages (`translate.corpus.normalize`: single spaces, no
    leading or trailing whitespace), a match is used where
    `translate.memory.usable` says so for the message as given, and
    `translate` is asked only for the messages left (as given: an export
    cleans its input itself), in one call. Unlike `translate evaluate --memory`,
    the model does not translate what the memory fills.

    Args:
        sources: the messages, a list of strings.
        tm: a `translate.memory.TranslationMemory`.
        threshold: the similarity from which a usable match is taken.
        translate: `f(sentences) -> translations` (a list of strings in, as
            many out); not called when the memory fills every message.
        glossary: a `translate.glossary.Glossary`, or None: a match that
            lacks a term of its message is not used (as in `translate po`).
        matches: the messages' lookups in `tm` when the caller has them
            (`tm.lookup` of their normalized forms), or None.

    Returns:
        `(outputs, origins)` as `translate.memory.combine`.

    Raises:
        ValueError: `translate` returned a different number of translations
            than it was given, or a bad `threshold`.
    """
    if matches is None:
        matches = tm.lookup([normalize(s) for s in sources])
    rest = [i for i, (source, match) in enumerate(zip(sources, matches))
            if not memory.usable(source, match, threshold)
            or (glossary is not None and glossary.missed(source, match.target))]
    drafts = list(sources)  # stand-ins where the memory is used (combine ignores them)
    translations = list(translate([sources[i] for i in rest])) if rest else []
    if len(translations) != len(rest):
        raise ValueError(f"the model returned {len(translations)} translations for "
                         f"{len(rest)} messages.")
    for i, translation in zip(rest, translations):
        drafts[i] = translation
    outputs, origins = memory.combine(sources, drafts, matches, threshold)
    for i in rest:  # usable, but lacking a glossary term: the model's
        outputs[i], origins[i] = drafts[i], memory.Origin("model", matches[i].similarity)
    return outputs, origins
