"""Payments: the Stripe client, the stored inbound Stripe events and their dispatch.

Below every app that takes or sends money (shop, creators, orders, the commission code), so
they all use it without importing each other.

- `stripe/client.py`  the one `stripe.StripeClient` (settings read at call time), minor units
                      at the boundary, upstream errors as `UpstreamUnavailable`
- `models.py`         `StripeEvent`: each verified webhook event, stored raw, unique by id
- `services.py`       `stripe_webhook_receive` (verify, store once, process) and
                      `stripe_event_process`; the apps above register a handler per event
                      family (`payment_intent`, `charge`, `refund` by orders, `account` by
                      creators) with `stripe_event_handler_register` in AppConfig.ready()
- `api/webhooks.py`   POST /api/v1/webhooks/stripe/
"""
