"""The waitlist API: join a sold-out variant's waitlist, leave it by the emailed link."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from common.serializers import ErrorSchema, StrictCharField
from common.throttling import SimpleRateThrottle
from creators.attribution.views import ATTRIBUTION_COOKIE
from orders.models.waitlist import WaitlistEntry
from orders.waitlist import services


class WaitlistThrottle(SimpleRateThrottle):
    """Per client IP, signed in or not: joining needs no account, so it is the abuse path."""

    scope = "waitlist"

    def get_rate(self) -> str:
        return str(settings.WAITLIST_API_RATE)

    def get_cache_key(self, request: Request, view: object) -> str:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class WaitlistJoinSerializer(serializers.Serializer):
    variant_id = serializers.IntegerField(min_value=1, max_value=2**63 - 1)
    email = serializers.EmailField(max_length=254)
    attribution_token = StrictCharField(
        max_length=500,
        required=False,
        allow_blank=True,
        default="",
        help_text="The `atk` of the link the shopper came from; the tribe_atk cookie is read too.",
    )


class WaitlistEntrySerializer(serializers.ModelSerializer):
    status = serializers.ChoiceField(choices=WaitlistEntry.Status.choices, read_only=True)
    joined_at = serializers.DateTimeField(source="created_at", read_only=True)
    credited = serializers.SerializerMethodField()

    class Meta:
        model = WaitlistEntry
        fields = ("id", "variant_id", "email", "status", "joined_at", "credited")
        read_only_fields = fields

    def get_credited(self, entry: WaitlistEntry) -> bool:
        """Whether a creator's link will be credited for the comeback sale."""
        return bool(entry.attribution_kind)


class WaitlistUnsubscribeSerializer(serializers.Serializer):
    token = StrictCharField(max_length=500)


class WaitlistJoinView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = [WaitlistThrottle]

    @extend_schema(
        summary="Join a sold-out variant's waitlist",
        description=(
            "201 with the new entry, 200 with the same entry when the email already waits "
            "for the variant. 409 `in_stock` when the variant can be bought now, 404 "
            "`variant_not_found` for an unknown or unlisted variant."
        ),
        request=WaitlistJoinSerializer,
        responses={
            200: WaitlistEntrySerializer,
            201: WaitlistEntrySerializer,
            400: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
            429: ErrorSchema,
        },
    )
    def post(self, request: Request) -> Response:
        data = WaitlistJoinSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.waitlist_join(
            variant_id=data.validated_data["variant_id"],
            email=data.validated_data["email"],
            tokens=[
                data.validated_data["attribution_token"],
                request.COOKIES.get(ATTRIBUTION_COOKIE, ""),
            ],
        )
        return Response(
            WaitlistEntrySerializer(result.entry).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class WaitlistUnsubscribeView(APIView):
    permission_classes = [permissions.AllowAny]
    throttle_classes = [WaitlistThrottle]

    @extend_schema(
        summary="Leave a waitlist with the signed token of an emailed link",
        request=WaitlistUnsubscribeSerializer,
        responses={200: WaitlistEntrySerializer, 400: ErrorSchema, 404: ErrorSchema},
    )
    def post(self, request: Request) -> Response:
        data = WaitlistUnsubscribeSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        entry = services.waitlist_unsubscribe(token=data.validated_data["token"])
        return Response(WaitlistEntrySerializer(entry).data)
