"""The brand API's routes that creators own (under /api/v1/brand/)."""

from django.urls import path

from creators.api import codes

urlpatterns = [
    path("codes/", codes.BrandCodeListView.as_view(), name="brand-code-list"),
    path("codes/<int:pk>/", codes.BrandCodeDetailView.as_view(), name="brand-code-detail"),
]
