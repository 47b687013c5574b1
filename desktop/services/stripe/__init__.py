"""Talking to Stripe: one client per account (auth, the pinned API version, the rate limiter,
retries), the HTTP transport under it, the browser login (OAuth) and the errors a request can
end with, in Ledgerboard's own words. Nothing above this package imports `stripe`: the SDK's
exceptions are turned into the classes of `errors` here, where they happen."""
