from ledger import Account, render_statement, totals


def make_account():
    acct = Account("grace")
    acct.deposit(10000, "pay")
    acct.withdraw(2550, "rent")
    acct.deposit(5)
    return acct


def test_totals():
    assert totals(make_account().history) == {"deposits": 10005, "withdrawals": 2550, "net": 7455}


def test_totals_empty():
    assert totals([]) == {"deposits": 0, "withdrawals": 0, "net": 0}


def test_render_statement():
    assert render_statement(make_account()) == (
        "Statement for grace\n"
        "+100.00  pay\n"
        "-25.50  rent\n"
        "+0.05\n"
        "Balance: 74.55"
    )
