"""Money amounts.

Amounts are held as integer cents so that arithmetic is exact; these helpers
convert between cents and the decimal text people read and type.
"""

import re

_AMOUNT_RE = re.compile(r"^(-)?(\d+)(?:\.(\d{1,2}))?$")


def parse_amount(text: str) -> int:
    """Parse a decimal amount such as ``"12.34"``, ``"-5"`` or ``"1,250.5"`` into cents.

    Thousands separators (``,``) and surrounding whitespace are ignored.
    Raises ``ValueError`` for anything else, including more than two decimals.
    """
    cleaned = text.strip().replace(",", "")
    match = _AMOUNT_RE.match(cleaned)
    if match is None:
        raise ValueError(f"not an amount: {text!r}")
    sign, units, fraction = match.groups()
    cents = int(units) * 100 + int((fraction or "0").ljust(2, "0"))
    return -cents if sign else cents


def format_amount(cents: int) -> str:
    """Format cents as a decimal string with two places, e.g. ``1234 -> "12.34"``."""
    sign = "-" if cents < 0 else ""
    units, rest = divmod(abs(cents), 100)
    return f"{sign}{units}.{rest:02d}"
