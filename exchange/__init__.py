"""Ledgerboard's token-exchange service: the one place that holds the publisher's Stripe secret.

The desktop app cannot keep a platform secret key, and Stripe's OAuth token endpoint wants one
for every code exchange and every refresh. This small web service, deployed by whoever ships
Ledgerboard, adds the secret and forwards the call to Stripe; it keeps nothing. Nothing in
`desktop` imports it: it is deployed on its own (see exchange/README.md).
"""

__version__ = "1.0.0"
