"""Identifier cases built from the words of a phrase (see ``textkit.words``)."""

from .words import split_words


def snake_case(text: str) -> str:
    """``"Hello World 2" -> "hello_world_2"``."""
    return "_".join(word.lower() for word in split_words(text))


def kebab_case(text: str) -> str:
    """``"Hello World 2" -> "hello-world-2"``."""
    return "-".join(word.lower() for word in split_words(text))


def camel_case(text: str) -> str:
    """``"hello big World" -> "helloBigWorld"``: first word lower case, the rest capitalised."""
    words = [word.lower() for word in split_words(text)]
    if not words:
        return ""
    return words[0] + "".join(word.capitalize() for word in words[1:])
