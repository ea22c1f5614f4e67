"""Accounts: a balance in cents plus the list of transactions that produced it."""

from dataclasses import dataclass


class InsufficientFunds(Exception):
    """Raised when a withdrawal would take the balance below what is allowed."""


@dataclass(frozen=True)
class Transaction:
    """One movement of money: ``kind`` is ``"deposit"`` or ``"withdrawal"``."""

    kind: str
    amount: int
    memo: str = ""


class Account:
    """An account owned by ``owner`` whose balance is kept in integer cents."""

    def __init__(self, owner: str, balance: int = 0):
        self.owner = owner
        self.balance = balance
        self.history: list[Transaction] = []

    def deposit(self, amount: int, memo: str = "") -> int:
        """Add ``amount`` cents (must be positive) and return the new balance."""
        if amount <= 0:
            raise ValueError("deposit amount must be positive")
        self.balance += amount
        self.history.append(Transaction("deposit", amount, memo))
        return self.balance

    def withdraw(self, amount: int, memo: str = "") -> int:
        """Remove ``amount`` cents (must be positive) and return the new balance.

        Raises ``InsufficientFunds`` if the balance is too low.
        """
        if amount <= 0:
            raise ValueError("withdrawal amount must be positive")
        if amount > self.balance:
            raise InsufficientFunds(f"{self.owner}: balance {self.balance}, asked {amount}")
        self.balance -= amount
        self.history.append(Transaction("withdrawal", amount, memo))
        return self.balance
