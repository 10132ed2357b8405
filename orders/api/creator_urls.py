"""A creator's reads of the orders their links drove, under /api/v1/creators/ beside creators'."""

from django.urls import path

from orders.api import creator_alerts, creator_receipts

urlpatterns = [
    path(
        "me/receipts/<int:line_id>/",
        creator_receipts.MeReceiptView.as_view(),
        name="creator-receipt",
    ),
    path("me/alerts/", creator_alerts.MeAlertListView.as_view(), name="creator-alert-list"),
    path(
        "me/alerts/<int:pk>/",
        creator_alerts.MeAlertDetailView.as_view(),
        name="creator-alert-detail",
    ),
]
