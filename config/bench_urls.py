"""The bench server's URLs: the whole service plus the reference views benchmarks compare with.

A benchmark that needs its own endpoint adds one `path()` to `bench_urlpatterns`.
"""

from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from config import bench_views
from config.urls import handler400, handler403, handler404, handler500


def bare(request: HttpRequest) -> JsonResponse:
    """Answer the smallest JSON through the full middleware stack: the throughput ceiling."""
    return JsonResponse({"ok": True})


bench_urlpatterns = [
    path("bench/bare/", bare, name="bench-bare"),
    path(
        "bench/reserve/<int:variant_id>/<int:order_line_id>/",
        bench_views.reserve,
        name="bench-reserve",
    ),
    path(
        "bench/reserve-code/<int:variant_id>/<int:order_line_id>/",
        bench_views.reserve_with_code,
        name="bench-reserve-code",
    ),
    path("bench/price-page/", bench_views.price_page, name="bench-price-page"),
]

urlpatterns = [*bench_urlpatterns, path("", include("config.urls"))]

__all__ = ["handler400", "handler403", "handler404", "handler500", "urlpatterns"]
