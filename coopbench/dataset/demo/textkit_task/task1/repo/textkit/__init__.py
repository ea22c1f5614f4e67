"""Small text helpers: word splitting, identifier cases, wrapping and truncation."""

from .case import camel_case, kebab_case, snake_case
from .words import split_words, word_count
from .wrap import truncate, wrap

__all__ = [
    "camel_case",
    "kebab_case",
    "snake_case",
    "split_words",
    "truncate",
    "word_count",
    "wrap",
]
