"""Refusals of the commissions work: each has a stable code and writes nothing."""

from __future__ import annotations

from common.errors import ApplicationError, Conflict, ValidationFailed


class NegativeAmount(ValidationFailed):
    code = "negative_amount"
    default_message = "Amounts must not be negative."


class CurrencyMismatch(ValidationFailed):
    code = "currency_mismatch"
    default_message = "The amount is not in the currency of the commission it concerns."


class InvalidRate(ValidationFailed):
    code = "invalid_rate"
    default_message = "A commission rate is a percent between 0 and 100."


class PayoutBelowMinimum(ApplicationError):
    status_code = 422
    code = "payout_below_minimum"
    default_message = "The approved balance is below the payout minimum."


class PayoutAccountNotReady(ApplicationError):
    status_code = 422
    code = "payout_account_not_ready"
    default_message = "Connect a payout account and finish its onboarding first."


class CreatorSuspended(ApplicationError):
    status_code = 403
    code = "creator_suspended"
    default_message = "This creator account is suspended."


class PayoutAccountIsManual(Conflict):
    code = "payout_account_manual"
    default_message = "This creator is paid by bank transfer; there is no account to connect."


class SettlementNotPayable(ApplicationError):
    status_code = 422
    code = "settlement_not_payable"
    default_message = "Only a settlement with a positive amount due is paid to the brand."


class BrandPayoutAccountNotReady(ApplicationError):
    status_code = 422
    code = "brand_payout_account_not_ready"
    default_message = "The brand needs a payout account that finished onboarding first."


class HoldAlreadyResolved(Conflict):
    code = "hold_already_resolved"
    default_message = "This hold was already resolved the other way."
