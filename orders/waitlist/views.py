"""The storefront's notify-me form and the emailed unsubscribe link.

Both are exempt from CSRF by design: the storefront page is cached and sets no session or
CSRF cookie, so it cannot carry a CSRF token, and neither action uses ambient credentials
(a join only adds an email to a list; an unsubscribe is authorised by its signed token).
The form carries the attribution token the page was opened with as `atk`. The join is
rate-limited per client IP in the cache and validated strictly.
"""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from common.client_ip import client_ip
from common.errors import ApplicationError
from creators.attribution.views import ATTRIBUTION_COOKIE
from orders.waitlist import services

TEMPLATE = "orders/waitlist/result.html"


class JoinForm(forms.Form):
    variant_id = forms.IntegerField(min_value=1, max_value=2**63 - 1)
    email = forms.EmailField(max_length=254)
    atk = forms.CharField(max_length=500, required=False)
    # The storefront the form was on, for the way back.
    shop = forms.RegexField(r"^[A-Za-z0-9_.]{1,30}$", required=False)


def _page(
    request: HttpRequest, status: int, title: str, message: str, back: str = ""
) -> HttpResponse:
    context = {"title": title, "message": message, "back": back}
    return render(request, TEMPLATE, context, status=status)


def _back(form: JoinForm) -> str:
    shop = getattr(form, "cleaned_data", {}).get("shop")
    return f"/@{shop.lower()}" if shop else "/"


def _over_rate(request: HttpRequest) -> bool:
    key = f"waitlist-form:{client_ip(request)}"
    if cache.add(key, 1, timeout=60):
        return False
    try:
        count = cache.incr(key)
    except ValueError:  # expired between the two calls
        cache.add(key, 1, timeout=60)
        return False
    return count > int(settings.WAITLIST_FORM_RATE_PER_MINUTE)


@csrf_exempt
@never_cache
@require_POST
def waitlist_join_form(request: HttpRequest) -> HttpResponse:
    """POST email + variant_id (+ atk): join the waitlist; answers with a small page."""
    if _over_rate(request):
        return _page(request, 429, "Slow down", "Too many requests; try again in a minute.")
    form = JoinForm(request.POST)
    if not form.is_valid():
        return _page(
            request, 400, "Check your email", "Please enter a valid email address.", _back(form)
        )
    try:
        result = services.waitlist_join(
            variant_id=form.cleaned_data["variant_id"],
            email=form.cleaned_data["email"],
            tokens=[form.cleaned_data["atk"], request.COOKIES.get(ATTRIBUTION_COOKIE, "")],
        )
    except ApplicationError as exc:
        if exc.code == "in_stock":
            return _page(
                request, 409, "Good news", "It is in stock: you can buy it now.", _back(form)
            )
        return _page(
            request, exc.status_code, "Not found", "We could not find that product.", _back(form)
        )
    return _page(
        request,
        201 if result.created else 200,
        "You are on the list",
        "We will email you as soon as it is back in stock.",
        _back(form),
    )


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def waitlist_unsubscribe_page(request: HttpRequest, token: str) -> HttpResponse:
    """GET asks to confirm (mail scanners follow links); POST (or one-click) unsubscribes."""
    if request.method == "GET":
        return render(request, "orders/waitlist/unsubscribe.html", {"token": token})
    try:
        services.waitlist_unsubscribe(token=token)
    except ApplicationError:
        return _page(request, 404, "Link not valid", "That unsubscribe link is not valid.")
    return _page(request, 200, "Unsubscribed", "You will not hear from us about it again.")
