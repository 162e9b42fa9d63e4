"""A translation memory: the stored translation of the most similar known message.

Software translators work this way: a new message such as "could not close
file %s" is looked up among the messages already translated, and the
translation of the nearest one ("could not open file %s" -> "Datei %s konnte
nicht geöffnet werden") is offered, with its similarity, as a draft or, when
the similarity is high enough, used as it is.

Similarity is the cosine of character n-gram vectors made by
scikit-learn's `TfidfVectorizer`: n-grams of 1 to 4 characters across word
boundaries (`char`), case kept, sublinear term frequency (1 + log tf), no
inverse document frequency, L2-normalised rows, so the similarity of two
messages is the dot product of their rows, from 0 to 1 (`DEFAULT_VECTORIZER`).
`translate.ngrams` makes these very vectors without importing scikit-learn
(2 s of a command's start-up); settings it does not reproduce go to
scikit-learn.

These settings were tuned on the dev split of the Debian gettext corpus
(`translate prepare --gettext de`: 819 dev messages looked up among 40,628
train messages), by the chrF of the nearest match's translation against the
dev references (sacrebleu `CHRF()`, corpus level), changing one setting at a
time:

| settings | dev chrF | dev BLEU |
|---|---|---|
| `char` 1-4, sublinear tf, no idf (chosen) | 52.5 | 36.1 |
| ... n-grams 1-3 / 2-4 / 2-5 / 3-5 | 52.5 / 51.9 / 52.1 / 51.4 | 35.9 / 35.8 / 36.0 / 35.9 |
| ... with idf | 51.0 | 35.4 |
| ... `char_wb` (n-grams inside words) | 52.0 | 35.5 |
| ... lower-cased | 52.3 | 35.7 |
| ... raw term frequency | 49.8 | 23.5 |
| `char_wb` 2-4 with idf (the usual starting point) | 49.3 | 33.3 |
| words 1-2 with idf | 47.5 | 34.1 |

Inverse document frequency hurts: it weights rare n-grams (a program or
file name) over the shape of the message, and the shape is what makes a
stored translation reusable. Raw term frequency lets the space and other
frequent characters swamp long messages. 1-4 over 2-4 is +0.6 chrF (paired
bootstrap on dev, 200 resamples: 95% interval 0.3 to 0.9); 1-3 ties with
1-4 and was not preferred. Re-ranking the 5 or 20 best by an edit-distance
ratio (`difflib`) changed dev chrF by less than the noise, so it is not done.

`lookup` vectorises the queries once and multiplies them, `batch_size` rows
at a time, with the transposed memory matrix (sparse times sparse; the
product is nearly dense, since nearly every pair of messages shares some
character), then takes each row's best column: the 898 test messages of
that corpus are looked up among its 40,628 train messages in about 0.8 s on
two CPU cores (`benchmarks/baselines.py` measures it).

Exact matches are found by string equality first and get a similarity of
exactly 1.0; any other match is reported below 1.0, so `similarity == 1.0`
means "this very message was translated before".

Using a match: `usable` (similar enough and the same placeholders, so that a
translation of "%s of %d" is never offered for "%d files"), `combine` (the
memory's translation where usable, the model's elsewhere, and where each
output came from) and `choose_threshold` (the threshold that maximises chrF
on a dev split).
"""

import json
import math
import numbers
import typing
from pathlib import Path

import numpy as np
import scipy.sparse

from translate import cache as cache_lib
from translate import ngrams
from translate.atomic import atomic_file
from translate.corpus import read_tsv, sha256_file
from translate.evaluation import check_parallel, check_texts, chrf
from translate.placeholders import same_placeholders

DEFAULT_VECTORIZER = {
    "analyzer": "char",
    "ngram_range": (1, 4),
    "lowercase": False,
    "use_idf": False,
    "sublinear_tf": True,
}
"""`TfidfVectorizer` settings of a memory, chosen on dev (module docstring)."""

DEFAULT_THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(21))
"""Thresholds `choose_threshold` tries by default: 0.0, 0.05, ..., 1.0."""

MATCH_FLOORS = (0.0, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
"""Floors `choose_match_floor` tries by default: the least similarity of a
match a model that reads matches is given (1.0: exact matches only)."""

_BELOW_ONE = math.nextafter(1.0, 0.0)


class Match(typing.NamedTuple):
    """The nearest stored message to a query.

    Attributes:
        source: the stored source message.
        target: its stored translation.
        similarity: the cosine similarity of query and `source`, from 0 to
            1; exactly 1.0 only when `source` equals the query.
    """

    source: str
    target: str
    similarity: float


class Origin(typing.NamedTuple):
    """Where one output of `combine` came from.

    Attributes:
        kind: "memory" (the match's stored translation) or "model".
        similarity: the similarity of the sentence's memory match, also when
            the model's translation was used (it says why).
    """

    kind: str
    similarity: float


def _check_threshold(threshold):
    """Returns `threshold` as a float, or raises if it is not a real number."""
    if (not isinstance(threshold, numbers.Real) or isinstance(threshold, bool)
            or math.isnan(threshold)):
        raise ValueError(f"threshold must be a real number, got {threshold!r}.")
    return float(threshold)


class TranslationMemory:
    """Fuzzy lookup of stored translations by character n-gram similarity.

    Args:
        sources: the stored source messages, a sequence of strings.
        targets: their translations, in the same order.
        batch_size: queries multiplied with the memory at once in `lookup`;
            the similarity block of a batch is `batch_size x len(memory)`.
        **vectorizer: `TfidfVectorizer` settings that replace those of
            `DEFAULT_VECTORIZER` (e.g. `ngram_range=(3, 5)`).

    Raises:
        TypeError: `sources` or `targets` is a single string or holds a
            non-string.
        ValueError: the lengths differ (both sizes named), the memory is
            empty, `batch_size` is below 1, or no n-gram could be taken from
            the sources (e.g. all of them are blank).

    A source stored twice keeps its first translation for exact lookups.
    """

    def __init__(self, sources, targets, *, batch_size=64, _fitted=None, **vectorizer):
        sources = check_texts(sources, "sources")
        targets = check_texts(targets, "targets")
        if len(sources) != len(targets):
            raise ValueError(f"sources and targets differ in length: "
                             f"{len(sources)} sources, {len(targets)} targets.")
        if not sources:
            raise ValueError("the translation memory is empty: no sources and targets given.")
        if batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        self.sources = sources
        self.targets = targets
        self.batch_size = batch_size
        self.settings = {**DEFAULT_VECTORIZER, **vectorizer}
        if _fitted is not None:  # (vocabulary, matrix_t) of these very sources, cached
            vocabulary, self._matrix_t = _fitted
            self._vectorizer = ngrams.vectorizer(self.settings, vocabulary)
        else:
            self._vectorizer = ngrams.vectorizer(self.settings)
            try:
                matrix = self._vectorizer.fit_transform(sources)
            except ValueError as error:  # "empty vocabulary"
                raise ValueError(f"no n-grams in the {len(sources)} memory sources: "
                                 f"{error}") from None
            # (features x memory) in CSR, the right-hand side of every lookup product.
            self._matrix_t = matrix.T.tocsr()
        self._exact = {}
        for index, source in enumerate(sources):
            self._exact.setdefault(source, index)

    @classmethod
    def from_corpus(cls, corpus_dir, split="train", cache=False, **kwargs):
        """Builds the memory of a corpus directory's split.

        Args:
            corpus_dir: a directory made by `translate prepare`.
            split: which `<split>.tsv` to store ("train": dev and test stay
                unseen, so that they measure the memory fairly).
            cache: keep the fitted n-gram vocabulary and matrix in the user
                cache (`translate.cache`, `memories/`; some 40 MB for the
                Debian corpus), keyed by the split's SHA-256 and the
                settings, and read them back next time: fitting takes ~8 s
                on 2 cores for 40k messages, reading ~0.5 s.
            **kwargs: what `TranslationMemory` takes (`batch_size`, vectorizer
                settings).

        Returns:
            A `TranslationMemory` of the split's pairs.

        Raises:
            FileNotFoundError: `corpus_dir/<split>.tsv` does not exist.
            translate.corpus.CorpusError: a malformed line (named by number).
            ValueError: the split holds no pair.
        """
        path = Path(corpus_dir) / f"{split}.tsv"
        if not path.is_file():
            raise FileNotFoundError(f"{path} not found: is {corpus_dir} a corpus directory "
                                    f"made by `translate prepare`?")
        sources, targets = [], []
        for pair in read_tsv(path):
            sources.append(pair.source)
            targets.append(pair.target)
        if not sources:
            raise ValueError(f"{path} holds no sentence pair: the translation memory "
                             f"would be empty.")
        if not cache:
            return cls(sources, targets, **kwargs)
        settings = {**DEFAULT_VECTORIZER, **{k: v for k, v in kwargs.items()
                                             if k != "batch_size"}}
        base = cache_lib.cache_dir() / "memories" / cache_lib.fingerprint(
            sha256_file(path), json.dumps(settings, sort_keys=True))
        try:
            fitted = (json.loads(base.with_suffix(".json").read_text(encoding="utf-8")),
                      scipy.sparse.load_npz(base.with_suffix(".npz")).tocsr())
        except (OSError, ValueError):
            fitted = None
        memory = cls(sources, targets, _fitted=fitted, **kwargs)
        if fitted is None:
            try:
                base.parent.mkdir(parents=True, exist_ok=True)
                with atomic_file(base.with_suffix(".npz"), mode="wb") as f:
                    scipy.sparse.save_npz(f, memory._matrix_t, compressed=False)
                with atomic_file(base.with_suffix(".json"), encoding="utf-8") as f:
                    json.dump({k: int(v) for k, v in memory._vectorizer.vocabulary_.items()}, f)
            except OSError:
                pass  # a cache that cannot be written only costs the fit next time
        return memory

    def __len__(self):
        """The number of stored pairs."""
        return len(self.sources)

    def lookup(self, sentences):
        """Finds the nearest stored message of each sentence.

        Args:
            sentences: the query messages, a sequence of strings.

        Returns:
            A list of `Match`, one per sentence, in order. A sentence stored
            in the memory matches itself with similarity 1.0; otherwise the
            most similar source (the first stored one on a tie) with its
            cosine similarity, below 1.0. A sentence sharing no n-gram with
            the memory gets the first stored pair with similarity 0.0.

        Raises:
            TypeError: `sentences` is a single string or holds a non-string.
        """
        sentences = check_texts(sentences, "sentences")
        if not sentences:
            return []
        queries = self._vectorizer.transform(sentences)
        matches = []
        for start in range(0, len(sentences), self.batch_size):
            block = (queries[start:start + self.batch_size] @ self._matrix_t).toarray()
            best = block.argmax(axis=1)
            scores = block[np.arange(len(best)), best]
            for offset, (index, value) in enumerate(zip(best.tolist(), scores.tolist())):
                sentence = sentences[start + offset]
                exact = self._exact.get(sentence)
                if exact is not None:
                    index, similarity = exact, 1.0
                else:
                    similarity = min(max(value, 0.0), _BELOW_ONE)
                matches.append(Match(self.sources[index], self.targets[index], similarity))
        return matches

    def nearest_others(self):
        """Each stored pair's nearest stored pair with another source.

        What a model that reads matches trains on (`translate.matches`): a
        pair's match is never itself, nor another pair of the same source
        (that would teach copying a match that is the answer).

        Returns:
            A list, one item per stored pair, in order: a `Match` with a
            similarity below 1.0, or None when every stored pair has the
            pair's source.
        """
        twins = {}
        for index, source in enumerate(self.sources):
            twins.setdefault(source, []).append(index)
        rows = self._matrix_t.T.tocsr()
        matches = []
        for start in range(0, len(self.sources), self.batch_size):
            block = (rows[start:start + self.batch_size] @ self._matrix_t).toarray()
            for offset in range(len(block)):
                block[offset, twins[self.sources[start + offset]]] = -1.0
            best = block.argmax(axis=1)
            scores = block[np.arange(len(best)), best]
            for index, value in zip(best.tolist(), scores.tolist()):
                matches.append(None if value < 0 else Match(
                    self.sources[index], self.targets[index], min(value, _BELOW_ONE)))
        return matches


def floor_similarity(similarity):
    """A similarity rounded down to two decimals, as comments show it.

    Down, so that "1.00" is only ever an exact match (the 1e-9 absorbs float
    error: 0.29 * 100 is below 29).
    """
    return 1.0 if similarity >= 1.0 else min(math.floor(similarity * 100 + 1e-9), 99) / 100


def usable(query, match, threshold):
    """Tells whether a memory match may be used as the translation of `query`.

    It may when it is similar enough and its placeholders are the query's:
    both the stored source and the stored translation (the text that would be
    used) must hold the same multiset of placeholders as the query
    (`translate.placeholders`), so a translation with `%s` is never offered
    for a message with `%d`, whatever the similarity. An exact match
    (similarity 1.0) passes any threshold up to 1.0.

    Args:
        query: the message to translate.
        match: its `Match` from `TranslationMemory.lookup`.
        threshold: the lowest similarity accepted; above 1.0 nothing is used.

    Returns:
        True when `match.similarity >= threshold` and the placeholders agree.

    Raises:
        TypeError: `query` is not a string.
        ValueError: `threshold` is not a real number (or is NaN).
    """
    threshold = _check_threshold(threshold)
    if not isinstance(query, str):
        raise TypeError(f"query must be a str, got {type(query).__name__}.")
    if match.similarity < threshold:
        return False
    return same_placeholders(query, match.source) and same_placeholders(query, match.target)


def combine(sources, model_translations, matches, threshold):
    """The memory's translation where it is usable, the model's elsewhere.

    Args:
        sources: the messages translated.
        model_translations: the model's translation of each (or any stand-in
            such as the source itself).
        matches: each message's `Match` from `TranslationMemory.lookup`.
        threshold: the lowest similarity at which a match is used (see
            `usable`).

    Returns:
        `(outputs, origins)`: the chosen translations and, for each, an
        `Origin` ("memory" or "model", with the match's similarity).

    Raises:
        TypeError: a sequence is a single string or holds a non-string.
        ValueError: the three lengths differ (all sizes named), or
            `threshold` is not a real number.
    """
    threshold = _check_threshold(threshold)
    sources = check_texts(sources, "sources")
    model_translations = check_texts(model_translations, "model_translations")
    matches = list(matches)
    if not len(sources) == len(model_translations) == len(matches):
        raise ValueError(f"sources, model_translations and matches differ in length: "
                         f"{len(sources)} sources, {len(model_translations)} model "
                         f"translations, {len(matches)} matches.")
    outputs, origins = [], []
    for source, translation, match in zip(sources, model_translations, matches):
        if usable(source, match, threshold):
            outputs.append(match.target)
            origins.append(Origin("memory", match.similarity))
        else:
            outputs.append(translation)
            origins.append(Origin("model", match.similarity))
    return outputs, origins


def threshold_scores(dev_sources, dev_references, matches_dev, model_dev_translations=None,
                     candidates=DEFAULT_THRESHOLDS):
    """chrF on a dev split of `combine` at each candidate threshold.

    Args:
        dev_sources: the dev split's source messages.
        dev_references: their reference translations.
        matches_dev: each dev message's `Match` (a memory built without dev).
        model_dev_translations: the model's dev translations; None uses the
            source itself (a copy) as the model's output, the fallback of a
            memory without a model.
        candidates: the thresholds to try.

    Returns:
        A list of `(threshold, chrF)` in the order of `candidates`.

    Raises:
        TypeError: a sequence is a single string or holds a non-string.
        ValueError: lengths differ, the dev split is empty, there is no
            candidate, or a candidate is not a real number.
    """
    dev_sources, dev_references = check_parallel(dev_sources, dev_references,
                                                 "dev_sources", "dev_references")
    if model_dev_translations is None:
        model_dev_translations = dev_sources
    candidates = [_check_threshold(c) for c in candidates]
    if not candidates:
        raise ValueError("no candidate threshold given.")
    scores, by_choice = [], {}
    for threshold in candidates:
        outputs, origins = combine(dev_sources, model_dev_translations, matches_dev, threshold)
        # Thresholds between two match similarities choose alike: score once.
        choice = tuple(origin.kind == "memory" for origin in origins)
        if choice not in by_choice:
            by_choice[choice] = chrf(outputs, dev_references)
        scores.append((threshold, by_choice[choice]))
    return scores


def choose_match_floor(dev_references, reading, without, similarities,
                       candidates=MATCH_FLOORS):
    """The least match similarity from which a model that reads matches
    should be given its match: the floor that maximises dev chrF.

    A far match can mislead a model more than no match (it was trained on
    both); below the floor the model translates the message alone.

    Args:
        dev_references: the dev split's reference translations.
        reading: the model's dev translations, each given its match.
        without: the model's dev translations given no match.
        similarities: each dev message's match similarity.
        candidates: the floors to try.

    Returns:
        `(floor, scores)`: the candidate with the highest dev chrF (the
        highest such one on a tie: a match is given no more than it earns),
        and `[(floor, chrF)]` in the order of `candidates`.

    Raises:
        ValueError: lengths differ, the split is empty, or no candidate.
    """
    dev_references = check_texts(dev_references, "dev_references")
    reading, without = check_texts(reading, "reading"), check_texts(without, "without")
    similarities = list(similarities)
    if not len(dev_references) == len(reading) == len(without) == len(similarities):
        raise ValueError(f"dev_references, reading, without and similarities differ in "
                         f"length: {len(dev_references)}, {len(reading)}, {len(without)}, "
                         f"{len(similarities)}.")
    if not dev_references or not candidates:
        raise ValueError("choose_match_floor needs dev sentences and candidate floors.")
    scores, by_choice = [], {}
    for floor in candidates:
        choice = tuple(s >= floor and s > 0 for s in similarities)
        if choice not in by_choice:
            by_choice[choice] = chrf([r if given else w for r, w, given
                                      in zip(reading, without, choice)], dev_references)
        scores.append((floor, by_choice[choice]))
    best = max(value for _, value in scores)
    return max(floor for floor, value in scores if value == best), scores


def choose_threshold(dev_sources, dev_references, matches_dev, model_dev_translations=None,
                     candidates=DEFAULT_THRESHOLDS):
    """The similarity threshold that maximises chrF of `combine` on dev.

    chrF (sacrebleu's `CHRF()`, corpus level) rather than BLEU: it is steadier
    on short messages, where a BLEU 4-gram is often missing. Choose on dev,
    never on test. Without model translations the source itself stands in
    for the model (copy below the threshold): the result is then the best
    threshold for a memory alone, to be chosen again once a model exists,
    since a good model wins more of the low-similarity messages than a copy.

    Args:
        dev_sources: the dev split's source messages.
        dev_references: their reference translations.
        matches_dev: each dev message's `Match` (a memory built without dev).
        model_dev_translations: the model's dev translations, or None (copy).
        candidates: the thresholds to try (default 0.0, 0.05, ..., 1.0; a
            value above 1.0 would mean "never use the memory").

    Returns:
        The candidate with the highest dev chrF (the highest such candidate
        on a tie: the memory is used no more than it earns), a float.

    Raises:
        TypeError: a sequence is a single string or holds a non-string.
        ValueError: lengths differ, the dev split is empty, there is no
            candidate, or a candidate is not a real number.
    """
    scores = threshold_scores(dev_sources, dev_references, matches_dev,
                              model_dev_translations, candidates)
    best = max(value for _, value in scores)
    return max(threshold for threshold, value in scores if value == best)
