"""Splitting text into words; ``textkit.case`` builds identifiers from these words."""

import re

# A word is a maximal run of ASCII letters and digits; anything else separates words.
_WORD_RE = re.compile(r"[A-Za-z0-9]+")


def split_words(text: str) -> list[str]:
    """Return the words of ``text`` in order, e.g. ``"Hello, world!" -> ["Hello", "world"]``.

    Spaces, punctuation and underscores are separators and never part of a word.
    """
    return _WORD_RE.findall(text)


def word_count(text: str) -> int:
    """Return how many words ``text`` contains."""
    return len(split_words(text))
