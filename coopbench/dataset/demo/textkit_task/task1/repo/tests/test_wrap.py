import pytest

from textkit import truncate, wrap


def test_wrap():
    text = "the quick brown fox jumps over the lazy dog"
    assert wrap(text, 10) == ["the quick", "brown fox", "jumps over", "the lazy", "dog"]
    assert all(len(line) <= 10 for line in wrap(text, 10))


def test_wrap_long_word_and_blank():
    assert wrap("a supercalifragilistic word", 6) == ["a", "supercalifragilistic", "word"]
    assert wrap("   ", 5) == []


def test_wrap_rejects_bad_width():
    with pytest.raises(ValueError):
        wrap("x", 0)


def test_truncate():
    assert truncate("hello world", 20) == "hello world"
    assert truncate("hello world", 8) == "hello..."
    assert truncate("hello world", 8, suffix="~") == "hello w~"
    assert truncate("hello", 5) == "hello"


def test_truncate_rejects_tiny_length():
    with pytest.raises(ValueError):
        truncate("hello", 2)
