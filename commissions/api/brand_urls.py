"""A brand's settlement statements, under /api/v1/brand/."""

from django.urls import path

from commissions.api import settlements

urlpatterns = [
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
