import pytest

from textkit import split_words, word_count


@pytest.mark.parametrize(
    "text,words",
    [
        ("Hello, world!", ["Hello", "world"]),
        ("  spaced   out  ", ["spaced", "out"]),
        ("snake_case-and-kebab", ["snake", "case", "and", "kebab"]),
        ("version 2 of 10", ["version", "2", "of", "10"]),
        ("", []),
        ("?!", []),
    ],
)
def test_split_words(text, words):
    assert split_words(text) == words


def test_word_count():
    assert word_count("one two, three... four") == 4
    assert word_count("") == 0
