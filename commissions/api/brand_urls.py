"""A brand's settlement statements and codes' figures, under /api/v1/brand/."""

from django.urls import path

from commissions.api import codes, settlements

urlpatterns = [
    path("codes/stats/", codes.BrandCodeStatsView.as_view(), name="brand-code-stats"),
    path("codes/leaks/", codes.BrandCodeLeaksView.as_view(), name="brand-code-leaks"),
    path(
        "settlements/",
        settlements.BrandSettlementListView.as_view(),
        name="brand-settlement-list",
    ),
    path(
        "settlements/<int:settlement_id>/",
        settlements.BrandSettlementDetailView.as_view(),
        name="brand-settlement-detail",
    ),
    path(
        "settlements/<int:settlement_id>/csv/",
        settlements.BrandSettlementCsvView.as_view(),
        name="brand-settlement-csv",
    ),
]
