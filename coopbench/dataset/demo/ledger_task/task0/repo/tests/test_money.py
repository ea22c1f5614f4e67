import pytest

from ledger.money import format_amount, parse_amount


@pytest.mark.parametrize(
    "text,cents",
    [("12.34", 1234), ("-5", -500), ("0.5", 50), ("1,250.05", 125005), ("  7.10 ", 710)],
)
def test_parse_amount(text, cents):
    assert parse_amount(text) == cents


@pytest.mark.parametrize("text", ["", "abc", "1.234", "1.2.3", "--1"])
def test_parse_amount_rejects(text):
    with pytest.raises(ValueError):
        parse_amount(text)


@pytest.mark.parametrize("cents,text", [(1234, "12.34"), (5, "0.05"), (-250, "-2.50"), (0, "0.00")])
def test_format_amount(cents, text):
    assert format_amount(cents) == text


def test_round_trip():
    for cents in (-123456, -1, 0, 1, 99, 100, 987654):
        assert parse_amount(format_amount(cents)) == cents
