"""The redirect `/r/<code>` and the app click endpoint. No PostgreSQL on the warm path."""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import http_date
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.errors import NotFound
from common.serializers import ErrorSchema, StrictCharField
from common.throttling import ScopedRateThrottle
from creators.attribution.clicks import ClickRecord, click_new_id, click_record
from creators.attribution.clients import CLIENT_COOKIE, ClickClient, click_client
from creators.attribution.links import link_target_get
from creators.attribution.tokens import token_for_click, token_for_storefront, token_read

ATTRIBUTION_COOKIE = "tribe_atk"
ONE_YEAR = 60 * 60 * 24 * 365
# What django's never_cache sets, written directly: patch_cache_control parses and re-joins
# the header on every tap, which measured ~15 us of the redirect's ~75 us of its own work.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def _take_click(target: dict[str, Any], client: ClickClient, source: str) -> str | None:
    """Record the tap; returns the attribution token (None for bots, which never attribute)."""
    click_id = click_new_id()
    click_record(
        ClickRecord(
            click_id=click_id,
            link_id=target["link_id"],
            client_hash=client.key_hash,
            ip_hash=client.ip_hash,
            user_agent=client.user_agent,
            source=source,
            is_bot=client.is_bot,
            at=time.time(),
        )
    )
    if client.is_bot:
        return None
    return token_for_click(click_id=click_id, link_id=target["link_id"])


def storefront_token_after(link_token: str, *, creator_id: int) -> str:
    """The creator's storefront token for a fresh click's token, stamped with its time."""
    return token_for_storefront(creator_id=creator_id, issued_at=token_read(link_token).issued_at)


def _storefront_path(target: dict[str, Any], token: str | None) -> str:
    product_id = int(target["target_product_id"])
    query = f"product={product_id}"
    if token:
        query += f"&atk={quote(token, safe='')}"  # as urlencode would, without its overhead
    return f"/@{target['handle']}?{query}#product-{product_id}"


def _never_cache(response: HttpResponse) -> HttpResponse:
    response.headers["Expires"] = http_date()
    response.headers["Cache-Control"] = NEVER_CACHE
    return response


def link_redirect(request: HttpRequest, code: str) -> HttpResponse:
    """302 to the product on the creator's storefront (or its fallback when sold out)."""
    target = link_target_get(code)
    if target is None or not target["active"]:
        return _never_cache(
            render(
                request,
                "creators/link_missing.html",
                {"handle": target["handle"] if target is not None else ""},
                status=404,
            )
        )
    client = click_client(request)
    token = _take_click(target, client, source="web")
    response = HttpResponseRedirect(_storefront_path(target, token))
    secure = not settings.DEBUG
    if token:
        response.set_cookie(
            ATTRIBUTION_COOKIE,
            token,
            max_age=target["window_days"] * 24 * 3600,
            httponly=True,
            samesite="Lax",
            secure=secure,
        )
    if client.new_cookie:
        response.set_cookie(
            CLIENT_COOKIE,
            client.new_cookie,
            max_age=ONE_YEAR,
            httponly=True,
            samesite="Lax",
            secure=secure,
        )
    return _never_cache(response)


class AppClickInput(serializers.Serializer):
    device_id = StrictCharField(
        max_length=128, required=False, help_text="The app's install or device id."
    )


class AppClickOutput(serializers.Serializer):
    attribution_token = serializers.CharField(allow_null=True)
    storefront_token = serializers.CharField(
        allow_null=True,
        help_text="Send as a cart line's attribution token for the other products the shopper "
        "adds from this creator's storefront (null for bots).",
    )
    product = serializers.DictField()
    storefront = serializers.DictField()


class LinkClickView(APIView):
    """For apps that open a link themselves: count the tap, get the token and what to show."""

    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "clicks"

    @extend_schema(
        summary="Record an app tap on an affiliate link",
        request=AppClickInput,
        responses={200: AppClickOutput, 404: ErrorSchema},
    )
    def post(self, request: Request, code: str) -> Response:
        target = link_target_get(code)
        if target is None or not target["active"]:
            raise NotFound("No such link.", code="link_not_found")
        data = AppClickInput(data=request.data)
        data.is_valid(raise_exception=True)
        client = click_client(
            request._request,
            device_id=data.validated_data.get("device_id"),
            can_set_cookie=False,
            app_call=True,
        )
        token = _take_click(target, client, source="app")
        return Response(
            {
                "attribution_token": token,
                "storefront_token": storefront_token_after(token, creator_id=target["creator_id"])
                if token
                else None,
                "product": {**target["product"], "show_product_id": target["target_product_id"]},
                "storefront": {
                    "handle": target["handle"],
                    "url": f"{settings.SITE_URL}/@{target['handle']}",
                },
            }
        )
