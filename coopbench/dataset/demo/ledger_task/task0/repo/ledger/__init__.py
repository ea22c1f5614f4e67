"""A tiny in-memory ledger: accounts, money amounts in cents, statements."""

from .account import Account, InsufficientFunds, Transaction
from .money import format_amount, parse_amount
from .report import render_statement, totals

__all__ = [
    "Account",
    "InsufficientFunds",
    "Transaction",
    "format_amount",
    "parse_amount",
    "render_statement",
    "totals",
]
