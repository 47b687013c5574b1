"""A local server that speaks the Stripe API and Stripe's OAuth, for demo mode and tests."""
