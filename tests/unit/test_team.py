"""Team mode on a shared PostgreSQL: one syncer per account, told apart by computer."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from desktop.services.accounts import AccountsService
from desktop.store.sync_lock import AccountBusy, AccountSyncLock

pytestmark = pytest.mark.parametrize("store_target", ["postgresql"], indirect=True)


def make_account(simulator=None):
    return AccountsService().create(
        name="Acme",
        auth_method="api_key",
        keyring_entry="",
        livemode=True,
        api_base=simulator.base_url if simulator else None,
    )


def test_a_second_computer_is_told_in_words_which_one_syncs_the_account(db):
    account = make_account()
    office = AccountSyncLock(db, account.id, account.name)
    office.acquire(computer="office-server")
    laptop = AccountSyncLock(db, account.id, account.name)
    with pytest.raises(AccountBusy) as refused:
        laptop.acquire(computer="finance-laptop")
    assert refused.value.holder == "office-server"
    assert "The computer 'office-server' is syncing the account 'Acme'" in str(refused.value)
    other = make_account()
    with AccountSyncLock(db, other.id):  # another account is free to sync elsewhere
        pass
    office.release()
    laptop.acquire(computer="finance-laptop")  # free again once the holder lets go
    laptop.release()


def test_the_sync_command_refuses_an_account_another_computer_syncs(db, simulator, store_target):
    key = "sk_live_teamtests00001"
    env = {**os.environ, "LEDGERBOARD_API_KEY": key, "LEDGERBOARD_COMPUTER_NAME": "laptop"}
    command = [sys.executable, "-m", "desktop", "sync", "--api-base", simulator.base_url]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert first.returncode == 0, first.stderr
    from desktop.store.models import Account

    account = Account.get(Account.api_base == simulator.base_url)
    before = simulator.request_count
    with AccountSyncLock(db, account.id, account.name) as held:
        held.release()
        held.acquire(computer="office-server")
        second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert second.returncode == 2
    assert "'office-server' is syncing the account" in second.stderr
    assert simulator.request_count == before  # not one request to Stripe
