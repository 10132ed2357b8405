"""The creator's earnings: the commission ledger, balances, payouts and the payout account."""

from __future__ import annotations

from typing import Any

import django_filters
from django.db.models import QuerySet
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from commissions.conf import connect_urls
from commissions.models import CommissionLine, Payout, PayoutAccount
from commissions.selectors import ledger as selectors
from commissions.services.accounts import OnboardingLink, payout_account_connect
from common.errors import NotFound
from common.filters import StrictFilterSet
from common.idempotency import idempotent
from common.pagination import IdCursorPagination
from common.serializers import ErrorSchema, MoneyField
from creators.api import MeAPIView
from creators.api.serializers import RateField
from creators.payout_return import return_url_check
from shop.models import Brand


class CommissionLineFilter(StrictFilterSet):
    status = django_filters.MultipleChoiceFilter(
        choices=CommissionLine.Status.choices, help_text="Repeat to ask for several."
    )
    kind = django_filters.ChoiceFilter(choices=CommissionLine.Kind.choices)
    currency = django_filters.CharFilter(field_name="currency", method="by_currency")
    link = django_filters.NumberFilter(field_name="link_id", help_text="Affiliate link id.")
    video = django_filters.NumberFilter(field_name="link__video_id", help_text="Video id.")
    earned_from = django_filters.DateFilter(
        field_name="earned_at", lookup_expr="date__gte", help_text="From this UTC day on."
    )
    earned_to = django_filters.DateFilter(
        field_name="earned_at", lookup_expr="date__lte", help_text="Up to this UTC day."
    )

    class Meta:
        model = CommissionLine
        fields: list[str] = []

    def by_currency(self, queryset: QuerySet, name: str, value: str) -> QuerySet:
        return queryset.filter(currency=value.strip().upper())


class CommissionLinkSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    video_id = serializers.IntegerField(allow_null=True)


class CommissionBrandSerializer(serializers.ModelSerializer):
    class Meta:
        model = Brand
        fields = ("id", "slug", "name")


class LineReviewSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["under_review"])
    reasons = serializers.ListField(
        child=serializers.CharField(),
        help_text="Stable reason codes: dispute, fraud_self_dealing, ...",
    )


class CommissionLineSerializer(serializers.ModelSerializer):
    amount = MoneyField(amount="amount", currency="currency", help_text="Negative for a reversal.")
    base = MoneyField(
        amount="base",
        currency="currency",
        help_text="Commission: the line's paid amount, shipping excluded. Reversal: the part "
        "refunded since the previous reversal (negative).",
    )
    rate = RateField(help_text="The percent snapshotted when the order was placed.")
    link = CommissionLinkSerializer(allow_null=True, read_only=True)
    brand = CommissionBrandSerializer(read_only=True)
    review = serializers.SerializerMethodField(
        help_text="`under_review` while the line is held back from payout (a dispute, a fraud "
        "check), with the reason codes; null otherwise."
    )
    receipt = serializers.DictField(
        read_only=True,
        help_text="Why this line exists: the attribution receipt (which link and click, which "
        "rule and rate), the formula, the hold; for a reversal the refund and what it reverses.",
    )

    class Meta:
        model = CommissionLine
        fields = (
            "id",
            "kind",
            "status",
            "amount",
            "base",
            "rate",
            "order_id",
            "order_line_id",
            "refund_id",
            "link",
            "brand",
            "earned_at",
            "payable_at",
            "approved_at",
            "payout",
            "review",
            "receipt",
        )
        read_only_fields = fields
        extra_kwargs = {
            "payable_at": {"help_text": "When the line becomes (or became) payable."},
            "payout": {"help_text": "The payout that paid this line; null until paid."},
        }

    @extend_schema_field(LineReviewSerializer(allow_null=True))
    def get_review(self, obj: CommissionLine) -> dict[str, Any] | None:
        reasons = getattr(obj, "open_hold_reasons", None)
        if reasons is None:
            reasons = list(
                obj.holds.filter(resolved_at__isnull=True)
                .order_by("reason")
                .values_list("reason", flat=True)
            )
        if not reasons:
            return None
        return {"status": "under_review", "reasons": list(reasons)}


class MeCommissionListView(MeAPIView, generics.ListAPIView):
    serializer_class = CommissionLineSerializer
    pagination_class = IdCursorPagination
    filterset_class = CommissionLineFilter

    def get_queryset(self) -> QuerySet[CommissionLine]:
        if getattr(self, "swagger_fake_view", False):
            return CommissionLine.objects.none()
        return selectors.commission_line_queryset(creator=self.creator())

    @extend_schema(
        summary="Your commission ledger, newest first",
        description="Every commission and every reversal, each with its receipt and the date it "
        "becomes payable. Lines are never edited: a refund appends a negative reversal.",
        responses={200: CommissionLineSerializer(many=True), 400: ErrorSchema, 404: ErrorSchema},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class BalanceSerializer(serializers.Serializer):
    currency = serializers.CharField()
    pending = MoneyField(
        amount="pending", currency="currency", help_text="Still in the brands' hold."
    )
    available = MoneyField(
        amount="approved",
        currency="currency",
        help_text="Payable, not in a payout yet. Negative after a clawback: it is netted "
        "against your next earnings.",
    )
    under_review = MoneyField(
        amount="under_review",
        currency="currency",
        help_text="Held back for review (a dispute, a fraud check): paid once released.",
    )
    in_payouts = MoneyField(
        amount="in_payouts", currency="currency", help_text="In payouts still being sent."
    )
    paid_out = MoneyField(
        amount="paid_out", currency="currency", help_text="In payouts that were paid."
    )
    payout_minimum = MoneyField(amount="payout_minimum", currency="currency")
    payable_now = serializers.BooleanField(
        help_text="`available` has reached the minimum: the next payout run pays it."
    )
    next_payable_at = serializers.DateTimeField(
        allow_null=True, help_text="When the next pending commission becomes payable."
    )


class BalancesSerializer(serializers.Serializer):
    balances = BalanceSerializer(many=True, help_text="One per currency, by code.")


class MeCommissionBalanceView(MeAPIView):
    serializer_class = BalancesSerializer

    @extend_schema(
        summary="Your balances by status and currency",
        responses={200: BalancesSerializer, 404: ErrorSchema},
    )
    def get(self, request: Request) -> Response:
        balances = selectors.commission_balances(creator=self.creator())
        return Response(BalancesSerializer({"balances": balances}).data)


class PayoutSerializer(serializers.ModelSerializer):
    amount = MoneyField(amount="amount", currency="currency")
    line_count = serializers.IntegerField(help_text="Ledger lines this payout paid.")

    class Meta:
        model = Payout
        fields = (
            "id",
            "status",
            "amount",
            "provider",
            "reference",
            "line_count",
            "failure_code",
            "failure_message",
            "created_at",
            "sent_at",
            "paid_at",
            "failed_at",
        )
        read_only_fields = fields


class MePayoutListView(MeAPIView, generics.ListAPIView):
    serializer_class = PayoutSerializer
    pagination_class = IdCursorPagination
    filterset_fields = ("status", "currency")

    def get_queryset(self) -> QuerySet[Payout]:
        if getattr(self, "swagger_fake_view", False):
            return Payout.objects.none()
        return selectors.payout_queryset(creator=self.creator())

    @extend_schema(
        summary="Your payouts, newest first",
        description="A failed payout shows why; its lines are payable again in a later payout.",
        responses={200: PayoutSerializer(many=True), 400: ErrorSchema, 404: ErrorSchema},
    )
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return self.list(request, *args, **kwargs)


class PayoutAccountSerializer(serializers.ModelSerializer):
    class Meta:
        model = PayoutAccount
        fields = (
            "provider",
            "status",
            "payouts_enabled",
            "details_submitted",
            "disabled_reason",
            "currently_due",
            "synced_at",
        )
        read_only_fields = fields


class OnboardingLinkSerializer(serializers.Serializer):
    url = serializers.URLField(help_text="Open it in a browser; it expires within minutes.")
    expires_at = serializers.DateTimeField()


class PayoutAccountConnectSerializer(serializers.Serializer):
    account = PayoutAccountSerializer()
    onboarding = OnboardingLinkSerializer()


class PayoutAccountConnectInput(serializers.Serializer):
    return_url = serializers.CharField(
        required=False,
        max_length=2000,
        help_text="Where the onboarding sends you back when done (an app's deep link, say); "
        "its scheme and host must be allowed. Default: the site's own page.",
    )
    refresh_url = serializers.CharField(
        required=False,
        max_length=2000,
        help_text="Where an expired onboarding link sends you, to ask for a new one; "
        "allowed like return_url.",
    )

    def validate_return_url(self, value: str) -> str:
        return return_url_check(value, field="return_url")

    def validate_refresh_url(self, value: str) -> str:
        return return_url_check(value, field="refresh_url")


def _connect_urls(data: dict[str, str]) -> tuple[str, str] | None:
    if not data:
        return None
    refresh_default, return_default = connect_urls()
    return data.get("refresh_url", refresh_default), data.get("return_url", return_default)


def _connect_body(account: PayoutAccount, link: OnboardingLink) -> dict[str, Any]:
    return PayoutAccountConnectSerializer({"account": account, "onboarding": link}).data


class MePayoutAccountView(MeAPIView):
    serializer_class = PayoutAccountSerializer

    @extend_schema(
        summary="Your payout account and its status",
        responses={200: PayoutAccountSerializer, 404: ErrorSchema},
    )
    def get(self, request: Request) -> Response:
        account = selectors.payout_account_get(creator=self.creator())
        if account is None:
            raise NotFound("Connect a payout account first.", code="payout_account_missing")
        return Response(PayoutAccountSerializer(account).data)

    @extend_schema(
        summary="Connect a payout account (Stripe Express) and get its onboarding link",
        description="201 with a new account, 200 with the one you have; both with a fresh "
        "onboarding link (or, once onboarded, a link to update your details). The status "
        "follows Stripe's updates: payouts start once it is `ready`.",
        request=PayoutAccountConnectInput,
        responses={
            201: PayoutAccountConnectSerializer,
            200: PayoutAccountConnectSerializer,
            403: ErrorSchema,
            404: ErrorSchema,
            409: ErrorSchema,
            502: ErrorSchema,
            503: ErrorSchema,
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = PayoutAccountConnectInput(data=request.data)
        data.is_valid(raise_exception=True)
        account, link, created = payout_account_connect(
            creator=self.creator(), urls=_connect_urls(dict(data.validated_data))
        )
        return Response(
            _connect_body(account, link),
            status=status.HTTP_201_CREATED if created else status.HTTP_200_OK,
        )
