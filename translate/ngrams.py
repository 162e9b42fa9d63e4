"""Character n-gram vectors, as scikit-learn's `TfidfVectorizer` makes them, without importing it.

A translation memory (`translate.memory`) compares messages by the cosine of
their character n-gram vectors: `TfidfVectorizer(analyzer="char",
use_idf=False, ...)`, rows L2-normalised. `CharNgramVectorizer` makes the
same vectors for those settings: the same vocabulary (every n-gram of the
fitted texts, numbered in sorted order), the same values (term counts,
`1 + log(count)` with `sublinear_tf`, float32). It exists for start-up time
alone: importing scikit-learn takes ~2 s on 2 CPU cores (it imports SciPy's
statistics), a fifth of what `translate po` may take to answer, and a memory
needs nothing else of it. `tests/test_ngrams.py` holds it to scikit-learn's
own output; `vectorizer` hands any other settings to scikit-learn.
"""

import collections
import re

import numpy as np
import scipy.sparse

# `TfidfVectorizer` settings this module reproduces, with the values it
# supports (None: any value); `vectorizer` gives anything else to scikit-learn.
_SUPPORTED = {
    "analyzer": {"char"},
    "ngram_range": None,
    "lowercase": {True, False},
    "use_idf": {False},
    "sublinear_tf": {True, False},
    "norm": {"l2"},
}
# scikit-learn's char analyzer folds runs of whitespace into one space.
_WHITE_SPACES = re.compile(r"\s\s+")


def _reproduced(settings):
    return all(key in _SUPPORTED and (_SUPPORTED[key] is None or value in _SUPPORTED[key])
               for key, value in settings.items())


class CharNgramVectorizer:
    """L2-normalised character n-gram counts, scikit-learn's way (module docstring).

    Args:
        ngram_range: `(min_n, max_n)`, the n-gram lengths counted.
        lowercase: lower-case the texts first.
        sublinear_tf: weight a count c as `1 + log(c)`.
        vocabulary: a fitted `{n-gram: column}` mapping to use as it is
            (`fit` then changes nothing), or None to learn one.
        **settings: the other `TfidfVectorizer` settings, each with the
            value this class reproduces (`supports`).

    Attributes:
        vocabulary_: the `{n-gram: column}` mapping, after `fit`.

    Raises:
        ValueError: a setting this class does not reproduce.
    """

    def __init__(self, ngram_range=(1, 4), lowercase=True, sublinear_tf=False,
                 vocabulary=None, dtype=np.float32, **settings):
        if not _reproduced(settings):
            raise ValueError(f"CharNgramVectorizer does not reproduce {settings}; "
                             f"use scikit-learn's TfidfVectorizer.")
        self.min_n, self.max_n = ngram_range
        self.lowercase = lowercase
        self.sublinear_tf = sublinear_tf
        self.dtype = dtype
        self._fixed = vocabulary is not None
        if self._fixed:
            self.vocabulary_ = dict(vocabulary)

    @staticmethod
    def supports(settings):
        """Whether `TfidfVectorizer(**settings)` is one this class reproduces."""
        return settings.get("analyzer") == "char" and _reproduced(settings)

    def _ngrams(self, text):
        """The n-grams of one text, as scikit-learn's char analyzer lists them."""
        if self.lowercase:
            text = text.lower()
        text = _WHITE_SPACES.sub(" ", text)
        return [text[i:i + n] for n in range(self.min_n, min(self.max_n, len(text)) + 1)
                for i in range(len(text) - n + 1)]

    def _counts(self, texts, vocabulary, grow):
        """`(data, indices, indptr)` of the texts' n-gram counts.

        With `grow`, unseen n-grams are added to `vocabulary` in order of
        appearance; otherwise they are left out.
        """
        data, indices, indptr = [], [], [0]
        for text in texts:
            for gram, count in collections.Counter(self._ngrams(text)).items():
                column = (vocabulary.setdefault(gram, len(vocabulary)) if grow
                          else vocabulary.get(gram))
                if column is not None:
                    indices.append(column)
                    data.append(count)
            indptr.append(len(indices))
        return (np.asarray(data, dtype=self.dtype), np.asarray(indices, dtype=np.int32),
                np.asarray(indptr, dtype=np.int32))

    def _weighted(self, data, indices, indptr):
        """The weighted, L2-normalised rows as a CSR matrix."""
        matrix = scipy.sparse.csr_matrix((data, indices, indptr),
                                         shape=(len(indptr) - 1, len(self.vocabulary_)))
        matrix.sort_indices()
        if self.sublinear_tf:
            np.log(matrix.data, out=matrix.data)
            matrix.data += 1
        norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1), dtype=self.dtype).ravel())
        norms[norms == 0] = 1  # a text without any known n-gram stays a zero row
        matrix.data /= np.repeat(norms, np.diff(matrix.indptr))
        return matrix

    def fit_transform(self, texts):
        """Learns the vocabulary of `texts` (unless fixed) and returns their vectors.

        Args:
            texts: a sequence of strings.

        Returns:
            A `(len(texts), len(vocabulary_))` float32 CSR matrix.

        Raises:
            ValueError: no n-gram in any of the texts ("empty vocabulary").
        """
        if self._fixed:
            return self.transform(texts)
        vocabulary = {}
        data, indices, indptr = self._counts(texts, vocabulary, grow=True)
        if not vocabulary:
            raise ValueError("empty vocabulary; the texts hold no character n-gram")
        # Columns in sorted n-gram order, as scikit-learn numbers them.
        order = sorted(vocabulary)
        renumber = np.empty(len(order), dtype=np.int32)
        for column, gram in enumerate(order):
            renumber[vocabulary[gram]] = column
        self.vocabulary_ = {gram: column for column, gram in enumerate(order)}
        return self._weighted(data, renumber[indices], indptr)

    def fit(self, texts):
        """Learns the vocabulary of `texts` (unless fixed); returns self."""
        self.fit_transform(texts)
        return self

    def transform(self, texts):
        """The vectors of `texts` over the fitted vocabulary (unseen n-grams left out).

        Args:
            texts: a sequence of strings.

        Returns:
            A `(len(texts), len(vocabulary_))` float32 CSR matrix.
        """
        return self._weighted(*self._counts(texts, self.vocabulary_, grow=False))


def vectorizer(settings, vocabulary=None):
    """A vectorizer for a memory's `TfidfVectorizer` settings, fitted when `vocabulary` is given.

    `CharNgramVectorizer` where it reproduces the settings; scikit-learn's
    `TfidfVectorizer` (imported only then) otherwise.

    Args:
        settings: `TfidfVectorizer` keyword arguments.
        vocabulary: a fitted `{n-gram: column}` mapping, or None.

    Returns:
        An object with `fit_transform`, `transform` and (once fitted)
        `vocabulary_`, as scikit-learn's.
    """
    if CharNgramVectorizer.supports(settings):
        return CharNgramVectorizer(vocabulary=vocabulary, **settings)
    from sklearn.feature_extraction.text import TfidfVectorizer

    if vocabulary is None:
        return TfidfVectorizer(dtype=np.float32, **settings)
    # A fixed vocabulary fits nothing; `fit` only readies `transform`.
    return TfidfVectorizer(dtype=np.float32, vocabulary=vocabulary, **settings).fit(["x"])
