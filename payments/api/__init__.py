"""Payments' HTTP endpoints: the inbound Stripe webhook."""
