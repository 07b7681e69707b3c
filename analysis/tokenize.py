"""分词 (tokenisation): jieba with the bureau's place names and remit terms in its dictionary.

One :class:`jieba.Tokenizer` per process, separate from jieba's default one (so a bare
``jieba.lcut`` elsewhere is unaffected). Its dictionary loads once (about 1 s); RQ workers call
:func:`warm` in the parent process so forked jobs inherit it. Words are only ever added, so
several profiles in one process share the tokenizer safely.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable

import jieba

from yuqing.profile import Profile

jieba.setLogLevel(logging.WARNING)  # jieba logs its dictionary build at INFO on stderr
log = logging.getLogger(__name__)

_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None
_added: set[str] = set()


def _get() -> jieba.Tokenizer:
    global _tokenizer
    with _lock:
        if _tokenizer is None:
            _tokenizer = jieba.Tokenizer()
            _tokenizer.initialize()
        return _tokenizer


def add_words(words: Iterable[str]) -> None:
    """Add words (places, remit terms) to the dictionary; idempotent."""
    tok = _get()
    with _lock:
        for word in words:
            word = word.strip()
            if len(word) >= 2 and word not in _added:
                tok.add_word(word, freq=2000)
                _added.add(word)


def profile_words(profile: Profile) -> list[str]:
    """The profile's places (full names and short forms), topic keywords and watch words."""
    words: list[str] = []
    for div in profile.places:
        words.append(div.name)
        if div.short:
            words.append(div.short)
    words.extend(profile.jurisdiction.context_words)
    for topic in profile.remit.topics:
        words.extend(topic.keywords)
    words.extend(profile.remit.not_ours)
    words.extend(profile.watch_words)
    return words


def warm(profile: Profile | None = None) -> None:
    """Load the dictionary now (and the profile's words), instead of in the first job."""
    _get()
    if profile is not None:
        add_words(profile_words(profile))


def lcut(text: str) -> list[str]:
    """Tokens without whitespace-only pieces."""
    return [t for t in _get().lcut(text) if not t.isspace()]
