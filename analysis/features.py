"""Features shared by training and scoring: hashed word unigrams and bigrams.

A :class:`~sklearn.feature_extraction.text.HashingVectorizer` keeps the shipped models small
(no vocabulary) and lets one tokenisation feed all three models.
"""

from __future__ import annotations

import re

from scipy.sparse import csr_matrix
from sklearn.feature_extraction.text import HashingVectorizer

N_FEATURES = 2**18
_PUNCT = re.compile(r"^[\W_]+$")
_DIGITS = re.compile(r"\d+")


def terms(tokens: list[str]) -> list[str]:
    """Unigrams and adjacent bigrams; digits collapse to one shape so counts generalise."""
    words = [_DIGITS.sub("0", t.lower()) for t in tokens if not _PUNCT.match(t)]
    marks = ["#"] if any(t == "#" for t in tokens) else []  # hashtags: a social-post marker
    return words + [a + "_" + b for a, b in zip(words, words[1:], strict=False)] + marks


def _identity(doc: list[str]) -> list[str]:
    return doc


VECTORIZER = HashingVectorizer(n_features=N_FEATURES, analyzer=_identity, alternate_sign=False,
                               norm="l2")


def vectorize(token_lists: list[list[str]]) -> csr_matrix:
    """Sparse matrix (n, N_FEATURES) from token lists."""
    return VECTORIZER.transform([terms(t) for t in token_lists])
