from django.urls import path

from common.replica import replica_view
from shop.api import brand, discounts, feeds, public

public_urls = [
    path("products/", replica_view(public.product_list), name="product-list"),
    path(
        "products/<int:pk>/",
        replica_view(public.ProductDetailView.as_view()),
        name="product-detail",
    ),
    path(
        "brands/<slug:slug>/",
        replica_view(public.BrandDetailView.as_view()),
        name="brand-detail",
    ),
]

brand_urls = [
    path("products/", brand.BrandProductListView.as_view(), name="brand-product-list"),
    path("products/<int:pk>/", brand.BrandProductDetailView.as_view(), name="brand-product-detail"),
    path(
        "products/<int:pk>/archive/",
        brand.BrandProductArchiveView.as_view(),
        name="brand-product-archive",
    ),
    path(
        "products/<int:pk>/activate/",
        brand.BrandProductActivateView.as_view(),
        name="brand-product-activate",
    ),
    path(
        "products/<int:pk>/variants/",
        brand.BrandVariantCreateView.as_view(),
        name="brand-variant-create",
    ),
    path("variants/<int:pk>/", brand.BrandVariantDetailView.as_view(), name="brand-variant-detail"),
    path(
        "variants/<int:pk>/stock/",
        brand.BrandVariantStockView.as_view(),
        name="brand-variant-stock",
    ),
    path(
        "variants/<int:pk>/movements/",
        brand.BrandVariantMovementsView.as_view(),
        name="brand-variant-movements",
    ),
    path("discounts/", discounts.BrandDiscountListView.as_view(), name="brand-discount-list"),
    path(
        "discounts/<int:pk>/",
        discounts.BrandDiscountDetailView.as_view(),
        name="brand-discount-detail",
    ),
    path("feeds/", feeds.BrandFeedListView.as_view(), name="brand-feed-list"),
    path("feeds/<int:pk>/runs/", feeds.BrandFeedRunListView.as_view(), name="brand-feed-runs"),
    path("feeds/<int:pk>/push/", feeds.BrandFeedPushView.as_view(), name="brand-feed-push"),
    path("feed-runs/<int:pk>/", feeds.BrandFeedRunDetailView.as_view(), name="brand-feed-run"),
]
