"""A creator's reads of the orders their links drove, under /api/v1/creators/ beside creators'."""

from django.urls import path

from common.replica import replica_view
from orders.api import creator_alerts, creator_receipts, creator_stats

urlpatterns = [
    path(
        "me/receipts/<int:line_id>/",
        creator_receipts.MeReceiptView.as_view(),
        name="creator-receipt",
    ),
    path("me/stats/", replica_view(creator_stats.MeStatsView.as_view()), name="creator-stats"),
    path("me/alerts/", creator_alerts.MeAlertListView.as_view(), name="creator-alert-list"),
    path(
        "me/alerts/<int:pk>/",
        creator_alerts.MeAlertDetailView.as_view(),
        name="creator-alert-detail",
    ),
]
