from django.conf import settings
from django.conf.urls.static import static
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from accounts.otp import otp_verify_view
from common.errors import api_not_found
from common.health import healthz, readyz
from common.observability.views import metrics
from creators.urls import api_urlpatterns as creator_public_urls
from shop.api.urls import brand_urls, public_urls

api_v1 = [
    path("auth/", include("accounts.api.urls")),
    path("", include(public_urls)),
    path("brand/", include(brand_urls)),
    path("brand/", include("creators.api.brand_urls")),
    path("brand/", include("commissions.api.brand_urls")),
    path("", include("payments.api.urls")),
    path("", include("orders.api.urls")),
    path("creators/", include("creators.api.urls")),
    path("creators/", include("orders.api.creator_urls")),
    path("creators/", include("commissions.api.urls")),
    path("", include(creator_public_urls)),
]

# The ledger's admin pages moved with their models from creators to commissions; bookmarks of
# the old addresses still land on the same page.
MOVED_TO_COMMISSIONS = (
    "commissionterms|commissionline|payoutaccount|brandpayoutaccount|payout|settlement"
    "|settlementline|settlementpayout"
)

urlpatterns = [
    path("healthz", healthz, name="healthz"),
    path("readyz", readyz, name="readyz"),
    path("metrics", metrics, name="metrics"),
    re_path(
        rf"^admin/creators/(?P<model>{MOVED_TO_COMMISSIONS})/(?P<rest>.*)$",
        RedirectView.as_view(
            url="/admin/commissions/%(model)s/%(rest)s", permanent=True, query_string=True
        ),
    ),
    # The second sign-in factor for staff who can refund or pay out (shop/two_factor.py).
    path("admin/verify/", otp_verify_view, name="admin-otp-verify"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI and ReDoc come from drf-spectacular-sidecar's static files: no CDN.
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/redoc/", SpectacularRedocView.as_view(url_name="schema"), name="api-redoc"),
    path("api/v1/", include(api_v1)),
    re_path(r"^api/", api_not_found),
    path("", include("creators.urls")),
    path("", include("orders.urls")),
    # Uploaded files, served by Django only under DEBUG (`make run`); production serves
    # them from the storage (a web server or an object store).
    *static(settings.MEDIA_URL, document_root=settings.MEDIA_ROOT),
]

handler400 = "common.errors.handler400"
handler403 = "common.errors.handler403"
handler404 = "common.errors.handler404"
handler500 = "common.errors.handler500"

admin.site.site_header = "Tribe"
admin.site.site_title = "Tribe admin"
admin.site.index_title = "Brands, catalog and orders"
