"""Features shared by training and scoring: hashed words, character n-grams, genre and usage cues.

- word unigrams and adjacent bigrams (jieba tokens, digits collapsed);
- character 2- and 3-grams of the text (what a character TF-IDF baseline shows works for short
  Chinese texts: they survive jieba's mis-segmentations of new words and place names);
- the genre (体裁: headline, article, weibo, message) as a marker, so one model learns each
  genre's base rate, and a per-genre decision threshold is chosen on out-of-fold predictions;
- the non-incident usage cues of :mod:`.usage` (sports, film, products, lists, history, chit-chat).

A :class:`~sklearn.feature_extraction.text.HashingVectorizer` keeps the shipped models small
(no vocabulary) and lets one pass feed the emotion and rumour models (and risk's text part).

The remit model (职责) reads its own features, :func:`char_tfidf`: hashed character 1-3-grams
weighted by TF-IDF (sublinear tf, the IDF of the training texts shipped with the model, n-grams
of one training text dropped), beside the genre marker and usage cues. On the same folds the
word+char mix above lost to a plain character TF-IDF baseline on headlines and Weibo posts: its
words and unweighted n-grams let frequent characters drown the rare ones that decide.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import cache
from itertools import repeat
from typing import TYPE_CHECKING

import numpy as np
from scipy.sparse import csr_matrix, hstack

from . import usage

if TYPE_CHECKING:
    from sklearn.feature_extraction.text import HashingVectorizer

N_FEATURES = 2**19
GENRES = ("headline", "article", "weibo", "message")
CHAR_CHARS = 400  # character n-grams of the first 400 characters: the rest adds time, not signal
_PUNCT = re.compile(r"^[\W_]+$")
_DIGITS = re.compile(r"\d+")
_NOT_TEXT = re.compile(r"[\s\W_]+")


def terms(tokens: list[str]) -> list[str]:
    """Unigrams and adjacent bigrams; digits collapse to one shape so counts generalise."""
    words = [_DIGITS.sub("0", t.lower()) for t in tokens if not _PUNCT.match(t)]
    marks = ["#"] if any(t == "#" for t in tokens) else []  # hashtags: a social-post marker
    return words + [a + "_" + b for a, b in zip(words, words[1:], strict=False)] + marks


def char_terms(text: str) -> list[str]:
    """Character 2- and 3-grams (prefixed so they never collide with a word of the same chars),
    none across a space: taken within the runs between spaces."""
    runs = [r for r in _DIGITS.sub("0", _NOT_TEXT.sub(" ", text[:CHAR_CHARS].lower())).split(" ") if len(r) > 1]
    grams = ["c" + r[i:i + 2] for r in runs for i in range(len(r) - 1)]
    grams += ["c" + r[i:i + 3] for r in runs for i in range(len(r) - 2)]
    return grams


def extra_terms(text: str, genre: str) -> list[str]:
    return ["g:" + genre] + ["u:" + kind for kind in usage.detect(text)]


def _identity(doc: list[str]) -> list[str]:
    return doc


@cache
def _vectorizers() -> tuple[HashingVectorizer, HashingVectorizer, HashingVectorizer]:
    """The word, character and extras vectorizers: what the features are. Scoring hashes with
    :func:`_hashed` (faster, the same matrices: a test compares them)."""
    # Heavy (scikit-learn, 1.5 s): only vectorising needs it, not the importers of this module's
    # genres and terms (the counting, the CLI, the dashboards).
    from sklearn.feature_extraction.text import HashingVectorizer

    words = HashingVectorizer(n_features=N_FEATURES, analyzer=_identity, alternate_sign=False,
                              norm="l2")
    chars = HashingVectorizer(n_features=CHAR_FEATURES, analyzer="char", ngram_range=(1, 3),
                              alternate_sign=False, norm=None)
    extras = HashingVectorizer(n_features=EXTRA_FEATURES, analyzer=_identity, alternate_sign=False,
                               norm=None, binary=True)
    return words, chars, extras


def _hashed(docs: Iterable[list[str]], n_features: int) -> csr_matrix:
    """What ``HashingVectorizer(n_features=n_features, analyzer=<the terms given>,
    alternate_sign=False, norm=None)`` gives: scikit-learn's own hashing loop, fed its (term, 1)
    pairs by ``zip`` instead of a generator expression per document (a quarter of the hashing's
    time). A test compares it with the vectorisers of :func:`_vectorizers`."""
    # Heavy (scikit-learn), see _vectorizers; private, so scikit-learn is pinned by constraints.txt.
    from sklearn.feature_extraction._hashing_fast import transform

    indices, indptr, values = transform((zip(d, repeat(1)) for d in docs), n_features, np.float64, False, 0)
    X = csr_matrix((values, indices, indptr), shape=(len(indptr) - 1, n_features))
    X.sum_duplicates()  # also sorts the indices, as FeatureHasher does
    return X


_WHITE_SPACES = re.compile(r"\s\s+")  # scikit-learn's, for its "char" analyser


def _char_grams(text: str) -> list[str]:
    """scikit-learn's "char" analyser with ``ngram_range=(1, 3)`` (lower case, a run of two or
    more white spaces as one space), its loop of appends as comprehensions."""
    s = _WHITE_SPACES.sub(" ", text.lower())
    return [*s, *[s[i:i + 2] for i in range(len(s) - 1)], *[s[i:i + 3] for i in range(len(s) - 2)]]


def vectorize(token_lists: list[list[str]], texts: list[str] | None = None,
              genres: list[str] | None = None) -> csr_matrix:
    """Sparse matrix (n, N_FEATURES): words from ``token_lists``; with ``texts`` also character
    n-grams and usage cues; with ``genres`` the genre markers. L2-normalised rows."""
    # Heavy (scikit-learn), see _vectorizers.
    from sklearn.preprocessing import normalize

    if texts is None:
        docs = [terms(t) for t in token_lists]
    else:
        genres = genres or ["weibo"] * len(texts)
        docs = [terms(t) + char_terms(x) + extra_terms(x, g) for t, x, g in zip(token_lists, texts, genres, strict=True)]
    return normalize(_hashed(docs, N_FEATURES), norm="l2", copy=False)


def genre_of(record: dict) -> str:
    """The genre of a scored record: given (``genre``), else from its source tier and shape.

    论坛/留言板 (forum) → message; 社交媒体 (social) → weibo; a title without body → headline;
    a news source's title and body → article.
    """
    given = record.get("genre")
    if given in GENRES:
        return str(given)
    tier = str(record.get("tier") or "")
    if tier == "forum":
        return "message"
    if tier == "social":
        return "weibo"
    title, text = (record.get("title") or "").strip(), (record.get("text") or "").strip()
    if title and len(text) < 20:
        return "headline"
    if title:
        return "article"
    return "weibo"


# -- the remit model's features: character 1-3-gram TF-IDF (what the baseline shows works) ----
CHAR_FEATURES = 2**20
EXTRA_FEATURES = 2**10
MIN_DF = 2  # a character n-gram seen in one training text only carries no weight (as min_df=2)


def char_counts(texts: list[str]) -> csr_matrix:
    """Hashed character 1-3-gram counts, sublinear (1 + log tf)."""
    X = _hashed([_char_grams(t) for t in texts], CHAR_FEATURES)
    X.data = 1.0 + np.log(X.data)
    return X


def remit_raw(texts: list[str], genres: list[str]) -> csr_matrix:
    """Character counts, then the genre marker and usage cues (binary): what :func:`remit_features`
    weighs. Training fits the IDF on the first block of its training rows only."""
    E = _hashed([extra_terms(x, g) for x, g in zip(texts, genres, strict=True)], EXTRA_FEATURES)
    E.data.fill(1)  # binary
    return hstack([char_counts(texts), E]).tocsr()


def fit_idf(raw: csr_matrix) -> np.ndarray:
    """Smoothed IDF of each character bucket over the training rows; 0 under ``MIN_DF`` rows."""
    counts = raw[:, :CHAR_FEATURES]
    df = np.bincount(counts.indices, minlength=CHAR_FEATURES)
    n = counts.shape[0]
    idf = np.log((1.0 + n) / (1.0 + df)) + 1.0
    idf[df < MIN_DF] = 0.0
    return idf.astype(np.float32)


def remit_features(raw: csr_matrix, idf: np.ndarray, extras_weight: float) -> csr_matrix:
    """TF-IDF rows (l2) beside the genre marker and usage cues weighted ``extras_weight``."""
    # Each stored count times its bucket's IDF, in place: ``@ diags(idf)`` built a 2^20 diagonal
    # and a float64 copy of the IDF per batch, 28 % of an analysis job under bench_load.
    # Buckets of zero IDF are dropped, as the product dropped them, and columns stay sorted.
    X = raw[:, :CHAR_FEATURES].tocsr(copy=True)
    X.data = X.data * idf[X.indices].astype(np.float64)
    X.eliminate_zeros()
    X.sort_indices()
    # Heavy (scikit-learn): only the remit features need it, see _vectorizers.
    from sklearn.preprocessing import normalize

    X = normalize(X)
    return hstack([X, extras_weight * raw[:, CHAR_FEATURES:]]).tocsr()
