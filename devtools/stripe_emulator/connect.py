"""Stripe Connect, as much as creator payouts need: Express accounts, account links, transfers.

- `POST /v1/accounts` (type, country, email, capabilities, business_type, metadata),
  `GET /v1/accounts/{id}`, `POST /v1/accounts/{id}` (email, metadata), `GET /v1/accounts`.
  A new Express account cannot receive transfers until onboarding is done.
- `POST /v1/account_links` (account, type, refresh_url, return_url): the link points at
  `/_config/accounts/{id}/onboard`, which completes onboarding as if the person had filled
  in Stripe's form (and redirects to `return_url`), then sends `account.updated`.
- `POST /_config/accounts/{id}/restrict` (`disabled_reason`): the account loses payouts and
  its transfers capability, then `account.updated` (a suspended or under-review account).
- `POST /v1/transfers` (amount, currency, destination, transfer_group, description,
  metadata), `GET /v1/transfers/{id}`, `GET /v1/transfers` (destination, transfer_group).
  A transfer to an account whose `transfers` capability is not active is refused with
  Stripe's `insufficient_capabilities_for_transfer`; `transfer.created` is sent.

Idempotency-Key replay comes from app.py's middleware, like every other POST.
"""

from __future__ import annotations

import time
from urllib.parse import urlencode

from aiohttp import web
from localstripe import resources, server
from localstripe.resources import StripeObject

from devtools.stripe_emulator.validation import check_metadata, error, unknown_parameter
from devtools.stripe_emulator.webhooks import schedule

ACCOUNT_TYPES = {"express", "standard", "custom"}
LINK_TYPES = {"account_onboarding", "account_update"}
LINK_TTL = 300
ONBOARDING_DUE = ["external_account", "individual.dob.day", "tos_acceptance.date"]


def _requirements(due: list[str], disabled_reason: str | None) -> dict:
    return {
        "currently_due": list(due),
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": [],
        "disabled_reason": disabled_reason,
        "errors": [],
        "current_deadline": None,
    }


class Account(StripeObject):
    object = "account"
    _id_prefix = "acct_"

    def __init__(
        self,
        type=None,
        country=None,
        email=None,
        capabilities=None,
        business_type=None,
        metadata=None,
        default_currency=None,
        **params,
    ):
        if params:
            raise unknown_parameter(params)
        if type not in ACCOUNT_TYPES:
            raise error(400, "Missing required param: type.", param="type")
        if email is not None and (not isinstance(email, str) or "@" not in email):
            raise error(400, f"Invalid email address: {email}", param="email")
        if capabilities not in (None, "") and not isinstance(capabilities, dict):
            raise error(400, "Invalid capabilities: a hash.", param="capabilities")
        check_metadata(metadata)
        super().__init__()
        self.type = type
        self.country = (country or "US").upper()
        self.email = email
        self.business_type = business_type
        self.default_currency = (default_currency or "usd").lower()
        self.metadata = metadata or {}
        self.capabilities = {name: "inactive" for name in (capabilities or {"transfers": {}})}
        self.charges_enabled = False
        self.payouts_enabled = False
        self.details_submitted = False
        self.requirements = _requirements(ONBOARDING_DUE, "requirements.past_due")
        self.future_requirements = _requirements([], None)

    @classmethod
    def _api_update(cls, id, email=None, metadata=None, **params):
        if params:
            raise unknown_parameter(params)
        account = cls._api_retrieve(id)
        if email is not None:
            account.email = email
        if metadata is not None:
            check_metadata(metadata)
            account.metadata = {**account.metadata, **metadata}
        schedule(account, "account.updated")
        return account

    def _onboard(self) -> None:
        self.details_submitted = True
        self.charges_enabled = True
        self.payouts_enabled = True
        self.capabilities = {name: "active" for name in self.capabilities}
        self.requirements = _requirements([], None)
        schedule(self, "account.updated")

    def _restrict(self, reason: str) -> None:
        self.charges_enabled = False
        self.payouts_enabled = False
        self.capabilities = {name: "inactive" for name in self.capabilities}
        self.requirements = _requirements(["business_profile.url"], reason)
        schedule(self, "account.updated")


class AccountLink:
    """Not stored: Stripe's account links have no id and expire within minutes."""

    def __init__(self, url: str, created: int) -> None:
        self.url = url
        self.created = created

    def _export(self, expand=None) -> dict:
        return {
            "object": "account_link",
            "created": self.created,
            "expires_at": self.created + LINK_TTL,
            "url": self.url,
        }


class Transfer(StripeObject):
    object = "transfer"
    _id_prefix = "tr_"

    def __init__(
        self,
        amount=None,
        currency=None,
        destination=None,
        transfer_group=None,
        description=None,
        metadata=None,
        source_transaction=None,
        **params,
    ):
        if params:
            raise unknown_parameter(params)
        amount = resources.try_convert_to_int(amount)
        if not isinstance(amount, int) or amount <= 0:
            raise error(400, "Invalid positive integer: amount.", param="amount")
        if not isinstance(currency, str) or len(currency) != 3:
            raise error(400, "Missing required param: currency.", param="currency")
        if not destination:
            raise error(400, "Missing required param: destination.", param="destination")
        check_metadata(metadata)
        account = resources.store.get(f"account:{destination}")
        if not account:
            raise error(
                400,
                f"No such destination: '{destination}'",
                code="resource_missing",
                param="destination",
            )
        if account.capabilities.get("transfers") != "active":
            raise error(
                400,
                "Your destination account needs to have at least one of the following "
                "capabilities enabled: transfers, crypto_transfers, legacy_payments",
                code="insufficient_capabilities_for_transfer",
                param="destination",
            )
        super().__init__()
        self.amount = amount
        self.amount_reversed = 0
        self.currency = currency.lower()
        self.destination = destination
        self.transfer_group = transfer_group
        self.description = description
        self.metadata = metadata or {}
        self.source_transaction = source_transaction
        self.reversed = False
        self.balance_transaction = f"txn_{resources.random_id(24)}"
        schedule(self, "transfer.created")

    @classmethod
    def _api_list_all(
        cls, url, destination=None, transfer_group=None, limit=None, starting_after=None, **params
    ):
        if params:
            raise unknown_parameter(params)
        li = super()._api_list_all(url, limit=limit, starting_after=starting_after)
        li._list = [
            t
            for t in li._list
            if (destination is None or t.destination == destination)
            and (transfer_group is None or t.transfer_group == transfer_group)
        ]
        li._list.sort(key=lambda t: t.created, reverse=True)
        return li


def _link_create(account=None, type=None, refresh_url=None, return_url=None, **params):
    params.pop("collect", None)
    params.pop("collection_options", None)
    if params:
        raise unknown_parameter(params)
    if not account:
        raise error(400, "Missing required param: account.", param="account")
    Account._api_retrieve(account)
    if type not in LINK_TYPES:
        raise error(400, f"Invalid type: {type}", param="type")
    for name, value in (("refresh_url", refresh_url), ("return_url", return_url)):
        if value is not None and not str(value).startswith("http"):
            raise error(400, f"Not a valid URL: {name}", param=name)
    return account, return_url


async def account_link_create(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    data.pop("expand", None)
    account, return_url = _link_create(**data)
    query = f"?{urlencode({'return_url': return_url})}" if return_url else ""
    url = f"{request.url.origin()}/_config/accounts/{account}/onboard{query}"
    return server.json_response(AccountLink(url, int(time.time()))._export())


async def account_onboard(request: web.Request) -> web.Response:
    """What Stripe's hosted onboarding does when the person finishes it."""
    account = Account._api_retrieve(request.match_info["id"])
    account._onboard()
    return_url = request.query.get("return_url")
    if request.method == "GET" and return_url:
        raise web.HTTPFound(return_url)
    return server.json_response(account._export())


async def account_restrict(request: web.Request) -> web.Response:
    data = await server.get_post_data(request) or {}
    account = Account._api_retrieve(request.match_info["id"])
    account._restrict(str(data.get("disabled_reason") or "rejected.other"))
    return server.json_response(account._export())


def add_routes(router: web.UrlDispatcher) -> None:
    """Register the Connect routes on the emulator's router."""
    router.add_post("/v1/accounts", server.api_create(Account, "/v1/accounts"))
    router.add_get("/v1/accounts", server.api_list_all(Account, "/v1/accounts"))
    router.add_get("/v1/accounts/{id}", server.api_retrieve(Account, "/v1/accounts/{id}"))
    router.add_post("/v1/accounts/{id}", server.api_update(Account, "/v1/accounts/{id}"))
    router.add_post("/v1/account_links", account_link_create)
    router.add_post("/v1/transfers", server.api_create(Transfer, "/v1/transfers"))
    router.add_get("/v1/transfers", server.api_list_all(Transfer, "/v1/transfers"))
    router.add_get("/v1/transfers/{id}", server.api_retrieve(Transfer, "/v1/transfers/{id}"))
    router.add_route("*", "/_config/accounts/{id}/onboard", account_onboard)
    router.add_post("/_config/accounts/{id}/restrict", account_restrict)
