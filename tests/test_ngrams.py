"""`translate.ngrams` makes the vectors scikit-learn's `TfidfVectorizer` makes."""

import random
import subprocess
import sys

import numpy as np
import pytest
from sklearn.feature_extraction.text import TfidfVectorizer

from translate import ngrams
from translate.memory import DEFAULT_VECTORIZER

ALPHABET = "ab cdÄé%s{}\n\t  <>/\u00a0\U0001F600"


def _texts(seed, count=300):
    rng = random.Random(seed)
    texts = ["", " ", "a", "Save", "  two  spaces\n\nand lines  ", "Größe ändern: %(size)s"]
    texts += ["".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 30)))
              for _ in range(count)]
    return texts


def _assert_same(ours, theirs):
    # The same matrix; scikit-learn leaves a fitted matrix's columns unsorted within a row.
    theirs = theirs.copy()
    theirs.sort_indices()
    assert ours.shape == theirs.shape
    assert ours.dtype == theirs.dtype == np.float32
    np.testing.assert_array_equal(ours.indptr, theirs.indptr)
    np.testing.assert_array_equal(ours.indices, theirs.indices)
    np.testing.assert_allclose(ours.data, theirs.data, rtol=1e-6)


@pytest.mark.parametrize("settings", [
    DEFAULT_VECTORIZER,
    {**DEFAULT_VECTORIZER, "ngram_range": (2, 5)},
    {**DEFAULT_VECTORIZER, "lowercase": True},
    {**DEFAULT_VECTORIZER, "sublinear_tf": False},
])
def test_fit_and_transform_equal_scikit_learn(settings):
    fitted, queries = _texts(1), _texts(2, 100)
    ours = ngrams.vectorizer(settings)
    theirs = TfidfVectorizer(dtype=np.float32, **settings)
    assert isinstance(ours, ngrams.CharNgramVectorizer)
    _assert_same(ours.fit_transform(fitted), theirs.fit_transform(fitted))
    assert ours.vocabulary_ == theirs.vocabulary_
    _assert_same(ours.transform(queries), theirs.transform(queries))


def test_a_fitted_vocabulary_is_used_as_it_is():
    theirs = TfidfVectorizer(dtype=np.float32, **DEFAULT_VECTORIZER).fit(_texts(3))
    vocabulary = {gram: int(column) for gram, column in theirs.vocabulary_.items()}
    ours = ngrams.vectorizer(DEFAULT_VECTORIZER, vocabulary)
    queries = _texts(4, 100)
    _assert_same(ours.fit_transform(queries), theirs.transform(queries))
    assert ours.vocabulary_ == vocabulary


def test_texts_without_any_ngram_are_an_error_as_in_scikit_learn():
    with pytest.raises(ValueError, match="empty vocabulary"):
        ngrams.vectorizer(DEFAULT_VECTORIZER).fit_transform(["", ""])


@pytest.mark.parametrize("other", [{"use_idf": True}, {"analyzer": "char_wb"},
                                   {"analyzer": "word"}, {"min_df": 2}])
def test_settings_it_does_not_reproduce_go_to_scikit_learn(other):
    settings = {**DEFAULT_VECTORIZER, **other}
    assert isinstance(ngrams.vectorizer(settings), TfidfVectorizer)
    with pytest.raises(ValueError, match="does not reproduce"):
        ngrams.CharNgramVectorizer(**{k: v for k, v in settings.items()
                                      if k not in ("ngram_range", "lowercase", "sublinear_tf")})


def test_a_memory_looks_up_without_importing_scikit_learn(tmp_path):
    (tmp_path / "train.tsv").write_text(
        "Could not open file %s\tDatei %s konnte nicht geöffnet werden\n"
        "Print the page\tSeite drucken\n", encoding="utf-8")
    code = ("import sys\n"
            "from translate.memory import TranslationMemory\n"
            f"tm = TranslationMemory.from_corpus({str(tmp_path)!r})\n"
            "print(tm.lookup(['Could not close file %s'])[0].target)\n"
            "print('sklearn' in sys.modules)\n")
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True).stdout.split("\n")
    assert found[:2] == ["Datei %s konnte nicht geöffnet werden", "False"]
