import pytest

from ledger import Account, InsufficientFunds, Transaction


def test_deposit_and_withdraw():
    acct = Account("ada", 1000)
    assert acct.deposit(250, "salary") == 1250
    assert acct.withdraw(1000) == 250
    assert acct.history == [Transaction("deposit", 250, "salary"), Transaction("withdrawal", 1000)]


def test_withdraw_whole_balance():
    acct = Account("ada", 500)
    assert acct.withdraw(500) == 0


def test_insufficient_funds():
    acct = Account("ada", 100)
    with pytest.raises(InsufficientFunds):
        acct.withdraw(101)
    assert acct.balance == 100
    assert acct.history == []


@pytest.mark.parametrize("amount", [0, -5])
def test_amount_must_be_positive(amount):
    acct = Account("ada", 100)
    with pytest.raises(ValueError):
        acct.deposit(amount)
    with pytest.raises(ValueError):
        acct.withdraw(amount)
