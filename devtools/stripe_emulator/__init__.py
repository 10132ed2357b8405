"""The local Stripe API emulator (the `localstripe` package) for development and tests.

Run it with `python -m devtools.stripe_emulator` (see __main__.py and devtools/README.md).
The modules, one idea each:

- validation.py: Stripe-shaped errors and the small parameter validators;
- cards.py: Stripe's test cards that decline, and Stripe-shaped card errors;
- payment_intents.py: the PaymentIntent parameters and actions real Stripe accepts;
- refunds.py: refund reasons, over-refund checks and events;
- disputes.py: the test card that is disputed, the Disputes and Files APIs, and the
  controls that open and close a dispute;
- webhooks.py: events, signed and retried webhook delivery;
- connect.py: Connect Express accounts, account links and transfers (creator payouts);
- app.py: the aiohttp app (auth, idempotency, CORS, routes, Stripe.js stand-in).

Importing app.py installs the patches over localstripe.
"""

from __future__ import annotations

from localstripe import resources


def in_memory_only() -> None:
    """Never read or write localstripe's /tmp/localstripe.pickle."""
    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None


in_memory_only()  # before anything can touch the store
