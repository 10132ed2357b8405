"""A brand answers a chargeback through the API: evidence text and files, then submit.

The same service as the admin's evidence page (`orders.services.disputes`): the brand's
owners and managers answer a dispute whose lines are all their brand's; a payment covering
several brands is answered by the platform's staff (409 `dispute_several_brands`).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.selectors import authenticated_user
from common.serializers import ErrorSchema
from orders import order_selectors
from orders.api.order_serializers import BrandDisputeViewSchema
from orders.brand_access import brand_access_for
from orders.models import Dispute
from orders.services.disputes import (
    MAX_EVIDENCE_TEXT,
    EvidenceFile,
    dispute_evidence_submit,
    evidence_files_from,
    evidence_files_oversized,
)


class EvidenceInput(serializers.Serializer):
    text = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_EVIDENCE_TEXT,
        help_text="What happened: delivery, the shopper's messages, why the charge is valid.",
    )
    receipt = serializers.FileField(required=False)
    shipping_documentation = serializers.FileField(required=False, help_text="Proof of delivery.")
    customer_communication = serializers.FileField(required=False)
    uncategorized_file = serializers.FileField(required=False)
    submit = serializers.BooleanField(
        default=True, help_text="Submit to the bank now; false keeps adding evidence."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        oversized = evidence_files_oversized(attrs)
        if oversized:
            raise serializers.ValidationError({n: "A file may be 4 MB at most." for n in oversized})
        return attrs

    def files_given(self) -> list[EvidenceFile]:
        return evidence_files_from(self.validated_data)


class BrandDisputeEvidenceView(APIView):
    permission_classes = [permissions.IsAuthenticated]
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(
        summary="Send evidence for a chargeback of your brand's lines, and submit it",
        description=(
            "Multipart: `text` and up to one file per evidence field (4 MB each), sent to "
            "Stripe; `submit=false` keeps the evidence open for more. Answers the dispute "
            "with your brand's share. 404 `dispute_not_found` (not your brand's, or you only "
            "view it), 409 `dispute_closed`, 409 `dispute_several_brands` (the platform's "
            "staff answer it), 400 `evidence_empty`; Stripe failing: 502/503 with "
            "`retryable`, nothing recorded."
        ),
        request={"multipart/form-data": EvidenceInput},
        responses={
            200: BrandDisputeViewSchema,
            400: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
            502: ErrorSchema,
            503: ErrorSchema,
        },
    )
    def post(self, request: Request, dispute_id: int) -> Response:
        user = authenticated_user(request)
        data = EvidenceInput(data=request.data)
        data.is_valid(raise_exception=True)
        access = brand_access_for(user)
        dispute = dispute_evidence_submit(
            dispute_id=dispute_id,
            user=user,
            writable_brand_ids=sorted(access.write_ids),
            text=data.validated_data.get("text", ""),
            files=data.files_given(),
            submit=data.validated_data["submit"],
        )
        view = Dispute.objects.prefetch_related("lines").get(pk=dispute.pk)
        brand_ids = None if access.unrestricted else access.view_ids
        return Response(
            BrandDisputeViewSchema(order_selectors.dispute_view(view, brand_ids=brand_ids)).data
        )
