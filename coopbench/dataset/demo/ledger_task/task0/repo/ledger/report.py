"""Reports over an account's transactions."""

from .account import Account, Transaction
from .money import format_amount


def totals(transactions: list[Transaction]) -> dict[str, int]:
    """Sum deposits and withdrawals; ``net`` is deposits minus withdrawals (all in cents)."""
    deposits = sum(t.amount for t in transactions if t.kind == "deposit")
    withdrawals = sum(t.amount for t in transactions if t.kind == "withdrawal")
    return {"deposits": deposits, "withdrawals": withdrawals, "net": deposits - withdrawals}


def render_statement(account: Account) -> str:
    """Render a plain-text statement: a header, one line per transaction, the balance."""
    lines = [f"Statement for {account.owner}"]
    for t in account.history:
        sign = "+" if t.kind == "deposit" else "-"
        memo = f"  {t.memo}" if t.memo else ""
        lines.append(f"{sign}{format_amount(t.amount)}{memo}")
    lines.append(f"Balance: {format_amount(account.balance)}")
    return "\n".join(lines)
