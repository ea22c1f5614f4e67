"""Fitting text into a width: greedy word wrapping and truncation."""


def wrap(text: str, width: int) -> list[str]:
    """Greedily wrap ``text`` into lines of at most ``width`` characters.

    Words are separated by any whitespace and joined with single spaces. A word
    longer than ``width`` is put on a line of its own rather than broken.
    """
    if width < 1:
        raise ValueError("width must be at least 1")
    lines: list[str] = []
    current = ""
    for word in text.split():
        if current and len(current) + 1 + len(word) > width:
            lines.append(current)
            current = word
        else:
            current = f"{current} {word}" if current else word
    if current:
        lines.append(current)
    return lines


def truncate(text: str, length: int, suffix: str = "...") -> str:
    """Shorten ``text`` to at most ``length`` characters, ending with ``suffix`` if cut.

    Text that already fits is returned unchanged.
    """
    if length < len(suffix):
        raise ValueError("length must leave room for the suffix")
    if len(text) <= length:
        return text
    return text[: length - len(suffix)] + suffix
