"""Ledgerboard: a company's Stripe data on its own machine, turned into live KPIs."""

__version__ = "0.1.0"
APP_NAME = "Ledgerboard"
