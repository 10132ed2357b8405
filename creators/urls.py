from django.urls import path, re_path

from common.replica import replica_view
from creators import views
from creators.api.storefront import StorefrontView
from creators.attribution.views import LinkClickView, link_redirect

urlpatterns = [
    path("", views.home_page, name="home"),
    path("r/<text:code>", link_redirect, name="link-redirect"),
    # Any case and a trailing slash match, so that they can be redirected to the canonical URL.
    re_path(
        r"^@(?P<handle>[A-Za-z0-9_.]{1,30})/?$",
        replica_view(views.storefront_page),
        name="storefront-page",
    ),
    re_path(
        r"^@(?P<handle>[A-Za-z0-9_.]{1,30})/page/(?P<number>[0-9]{1,4})/?$",
        replica_view(views.storefront_page),
        name="storefront-page-number",
    ),
    re_path(
        r"^@(?P<handle>[A-Za-z0-9_.]{1,30})/p/(?P<product_id>[0-9]{1,18})/?$",
        replica_view(views.product_page),
        name="product-page",
    ),
    path(
        ".well-known/apple-app-site-association",
        views.apple_app_site_association,
        name="apple-app-site-association",
    ),
    path(".well-known/assetlinks.json", views.assetlinks, name="assetlinks"),
    # The default return and refresh URLs of Stripe's Connect onboarding (an app may ask
    # for its own deep link instead).
    path("creators/payouts/return", views.payout_return_page, name="payout-return"),
    path("creators/payouts/refresh", views.payout_refresh_page, name="payout-refresh"),
]

# Mounted under /api/v1/ by config/urls.py.
api_urlpatterns = [
    path("r/<text:code>", link_redirect, name="link-redirect"),
    path(
        "storefronts/<text:handle>/",
        replica_view(StorefrontView.as_view()),
        name="storefront-json",
    ),
    path("links/<text:code>/clicks/", LinkClickView.as_view(), name="link-click"),
]
