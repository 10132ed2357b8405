"""The admin's sidebar, grouped by task, each link shown only to who may open its page.

Entries name a model by its model name, found among the registered admins when a page is
drawn, so a model moving between apps keeps its place in the sidebar. A link is shown when
the model's admin grants the signed-in user its module and view permissions: brand staff
see their brand's pages, superusers also the platform's.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.functional import lazy


def registered_admin(model_name: str) -> Any:
    """The model admin registered for the model called `model_name`, or None."""
    from django.contrib import admin  # read at call time: settings import this module

    for model, model_admin in admin.site._registry.items():
        if model._meta.model_name == model_name:
            return model_admin
    return None


def changelist_url(model_name: str) -> str:
    model_admin = registered_admin(model_name)
    if model_admin is None:
        return ""
    opts = model_admin.opts
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist")


def may_view(model_name: str, request: HttpRequest) -> bool:
    """Whether `request`'s user may open the model's changelist."""
    model_admin = registered_admin(model_name)
    return bool(
        model_admin is not None
        and model_admin.has_module_permission(request)
        and model_admin.has_view_permission(request)
    )


def is_superuser(request: HttpRequest) -> bool:
    user = request.user
    return bool(user.is_active and user.is_superuser)


def _item(title: str, icon: str, model_name: str) -> dict[str, Any]:
    return {
        "title": title,
        "icon": icon,
        "link": lazy(changelist_url, str)(model_name),
        "permission": partial(may_view, model_name),
        "model_name": model_name,
    }


SIDEBAR_GROUPS: list[tuple[str, list[tuple[str, str, str]]]] = [
    (
        "Catalog",
        [
            ("Products", "inventory_2", "product"),
            ("Variants", "style", "variant"),
            ("Stock movements", "swap_vert", "stockmovement"),
            ("Inventory feeds", "rss_feed", "inventoryfeed"),
            ("Stock sync runs", "sync", "stocksyncrun"),
            ("Sell-out alerts", "notifications_active", "selloutalert"),
        ],
    ),
    (
        "Orders",
        [
            ("Order desk", "local_shipping", "fulfilment"),
            ("Shipments", "package_2", "shipment"),
            ("All orders", "receipt_long", "order"),
            ("Refunds", "undo", "refund"),
            ("Notifications", "mail", "notification"),
        ],
    ),
    (
        "Creators",
        [
            ("Creators working with us", "groups", "brandcreator"),
            ("Invitations", "handshake", "collaboration"),
            ("Affiliate links", "link", "affiliatelink"),
            ("All creators", "person", "creator"),
            ("Videos", "videocam", "video"),
        ],
    ),
    (
        "Money",
        [
            ("Commissions", "payments", "commissionline"),
            ("Commission holds", "pause_circle", "commissionhold"),
            ("Disputes", "gavel", "dispute"),
            ("Commission terms", "percent", "commissionterms"),
            ("Settlements", "account_balance", "settlement"),
            ("Settlement payouts", "send_money", "settlementpayout"),
            ("Creator payouts", "paid", "payout"),
            ("Creator payout accounts", "account_box", "payoutaccount"),
            ("Brand payout accounts", "account_balance_wallet", "brandpayoutaccount"),
            ("Money audit", "policy", "moneyauditentry"),
        ],
    ),
    (
        "Settings",
        [
            ("Brand and team", "storefront", "brand"),
            ("Order webhooks", "webhook", "brandwebhookendpoint"),
            ("Webhook deliveries", "outbox", "webhookdelivery"),
        ],
    ),
    (
        "Platform",
        [
            ("Users", "manage_accounts", "user"),
            ("Groups", "group_work", "group"),
            ("Undelivered events", "error", "outboxdelivery"),
            ("Periodic tasks", "schedule", "periodictask"),
        ],
    ),
]


def sidebar_navigation() -> list[dict[str, Any]]:
    """The UNFOLD["SIDEBAR"]["navigation"] setting: one group per task."""
    return [
        {"title": title, "separator": True, "items": [_item(*entry) for entry in entries]}
        for title, entries in SIDEBAR_GROUPS
    ]
