"""Refusals about disputes: each has a stable code and writes nothing."""

from __future__ import annotations

from common.errors import Conflict


class ChargeDisputed(Conflict):
    code = "charge_disputed"
    default_message = (
        "This payment is disputed by the card holder's bank: it cannot be refunded while the "
        "dispute is open, nor after the bank gave the money back."
    )


class DisputeClosed(Conflict):
    code = "dispute_closed"
    default_message = "This dispute is closed: no more evidence can be submitted."


class DisputeSeveralBrands(Conflict):
    code = "dispute_several_brands"
    default_message = (
        "This payment covers several brands' lines: the platform's staff answer its dispute."
    )
