"""The public catalog the apps and storefronts read."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, cast

from django.core.cache import cache
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from drf_spectacular.utils import extend_schema
from rest_framework import generics, permissions
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response

from common.page_queries import PageRows
from common.serializers import ErrorSchema
from shop import catalog_json, selectors
from shop.api.filters import ProductFilter, ProductFilterBackend, WhitelistOrdering
from shop.api.serializers import (
    BrandPublicSerializer,
    ProductPublicSerializer,
)
from shop.cache import list_cache_key, list_cache_seconds
from shop.models import Product

PRODUCT_ORDERINGS: dict[str, tuple[str, ...]] = {
    "newest": ("-created_at", "-id"),
    "best_selling": ("-units_sold", "-id"),
    "price": ("min_price", "id"),
    "-price": ("-min_price", "-id"),
    "title": ("title", "id"),
    "-title": ("-title", "-id"),
}


class ProductListView(generics.ListAPIView):
    """Active products of active brands; the list is cached for a few seconds."""

    serializer_class = ProductPublicSerializer
    permission_classes = [permissions.AllowAny]
    filter_backends = [ProductFilterBackend, WhitelistOrdering]
    filterset_class = ProductFilter
    ordering_map = PRODUCT_ORDERINGS
    default_ordering = "newest"

    def get_queryset(self):
        return selectors.product_public_queryset()

    @extend_schema(summary="List products", responses={200: ProductPublicSerializer(many=True)})
    def get(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]
        return self.list(request, *args, **kwargs)

    def list(self, request: Request, *args: Any, **kwargs: Any) -> HttpResponseBase:  # type: ignore[override]
        # One query reads the page's rows (with the fields the cursor needs),
        # their stored list entries and their variants' live stock. Its SQL is compiled once
        # per query string (common.page_queries) and prepared by psycopg once run a few times.
        paginator = self.paginator
        assert isinstance(paginator, CursorPagination)
        ordering = WhitelistOrdering.ordering_for(request, self)
        fields = dict.fromkeys(["id", *(name.lstrip("-") for name in ordering)])

        def page_queryset() -> QuerySet[Product, dict[str, Any]]:
            queryset = self.filter_queryset(selectors.product_listing_queryset())
            return queryset.values(*fields, "listing_template", "listing_stock")

        # What shapes the query besides the paginator's steps: the filters and the ordering.
        paging = {paginator.cursor_query_param, paginator.page_size_query_param}
        key = (
            "products",
            *sorted((k, tuple(v)) for k, v in request.query_params.lists() if k not in paging),
        )
        # PageRows answers what the cursor paginator asks of a queryset.
        rows = cast(QuerySet[Product, dict[str, Any]], PageRows(page_queryset, key))
        page_rows: list[dict[str, Any]] = self.paginate_queryset(rows) or []
        results = catalog_json.page_json(page_rows)
        links = {"next": paginator.get_next_link(), "previous": paginator.get_previous_link()}
        if request.accepted_renderer.format != "json":
            return Response({**links, "results": json.loads(results)})
        body = json.dumps(links)[:-1] + ', "results": ' + results + "}"
        return HttpResponse(body, content_type="application/json")


def _cached_list(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Serve repeat list requests from the cache before any DRF machinery runs.

    Cached pages are public and identical for everyone, so authentication, throttling and
    content negotiation are skipped for them; a miss goes through the full view.
    """

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if request.method != "GET":
            return view(request, *args, **kwargs)
        seconds = list_cache_seconds()
        if seconds <= 0:  # caching off: nothing is stored, so nothing is looked up
            return view(request, *args, **kwargs)
        key = list_cache_key(f"{request.get_host()}{request.path}", dict(request.GET.lists()))
        cached = cache.get(key)
        if cached is not None:
            return HttpResponse(cached, content_type="application/json")
        response = view(request, *args, **kwargs)
        if response.status_code == 200 and response.get("Content-Type", "").startswith(
            "application/json"
        ):
            if isinstance(response, Response):
                response.render()
            if isinstance(response, HttpResponse):
                cache.set(key, response.content, timeout=seconds)
        return response

    return wrapper


product_list = _cached_list(ProductListView.as_view())


class ProductDetailView(generics.RetrieveAPIView):
    """One product with live stock."""

    serializer_class = ProductPublicSerializer
    permission_classes = [permissions.AllowAny]

    @extend_schema(
        summary="Get a product", responses={200: ProductPublicSerializer, 404: ErrorSchema}
    )
    def get(self, request: Request, pk: int) -> Response:
        product = selectors.product_public_get(product_id=pk)
        return Response(self.get_serializer(product).data)


class BrandDetailView(generics.RetrieveAPIView):
    serializer_class = BrandPublicSerializer
    permission_classes = [permissions.AllowAny]

    @extend_schema(summary="Get a brand", responses={200: BrandPublicSerializer, 404: ErrorSchema})
    def get(self, request: Request, slug: str) -> Response:
        return Response(self.get_serializer(selectors.brand_public_get(slug=slug)).data)
