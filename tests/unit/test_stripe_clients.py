"""The one registry of Stripe clients per account and mode, used by the app's sync service
and the `sync` command alike, against the simulator over HTTP."""

from __future__ import annotations

from desktop.services.stripe.client import STRIPE_READ_LIMITS, StaticKey, StripeClients

LIVE_KEY = "sk_live_clients000001"
TEST_KEY = "sk_test_clients000001"


def test_one_client_per_account_and_mode_and_one_limit_across_reconnects(simulator):
    asked = []

    def account(account_id: int):
        asked.append(account_id)
        return StaticKey(LIVE_KEY if account_id == 1 else TEST_KEY), simulator.base_url

    clients = StripeClients(account)
    live = clients(1, True)
    assert clients(1, True) is live and asked == [1]
    assert clients(1, False) is not live and clients(2, False) is not live and asked == [1, 1, 2]
    assert live.limiter.limit == STRIPE_READ_LIMITS[True]
    assert clients(2, False).limiter.limit == STRIPE_READ_LIMITS[False]

    page = live.list_page("/v1/charges", limit=3)
    assert len(page["data"]) == 3 and clients.stats.requests == 1  # one count for all

    clients.forget(1)  # a reconnect: new secrets, the same rate limit
    again = clients(1, True)
    assert again is not live and again.limiter is live.limiter and asked == [1, 1, 2, 1]
    assert clients(2, False).limiter is not live.limiter


def test_a_server_without_stripes_limits_gets_the_rate_asked_for(simulator):
    clients = StripeClients(lambda _id: (StaticKey(LIVE_KEY), simulator.base_url))
    clients.requests_per_second = 5_000.0
    limiter = clients(7, True).limiter
    assert limiter.limit == limiter.rate == 5_000.0
