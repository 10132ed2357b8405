"""Account endpoints for the mobile apps: register, JWT, logout, me, passwords."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django.contrib.auth.models import update_last_login
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import permissions, serializers, status
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import BaseThrottle
from rest_framework.views import APIView
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.serializers import TokenObtainPairSerializer, TokenObtainSerializer
from rest_framework_simplejwt.settings import api_settings as jwt_settings
from rest_framework_simplejwt.tokens import RefreshToken
from rest_framework_simplejwt.views import TokenObtainPairView, TokenRefreshView

from accounts import services
from accounts.lockout import LoginLocked
from accounts.models import User
from accounts.otp import SECOND_FACTOR_CLAIM, otp_device_match
from common.errors import ApplicationError, ValidationFailed
from common.idempotency import idempotent
from common.serializers import ErrorSchema, StrictCharField
from common.throttling import ScopedRateThrottle


class AuthThrottleMixin:
    throttle_classes: Sequence[type[BaseThrottle]] = [ScopedRateThrottle]
    throttle_scope = "auth"


class UserSerializer(serializers.ModelSerializer):
    class Meta:
        model = User
        fields = ("id", "email", "display_name", "date_joined")
        read_only_fields = ("id", "date_joined")


class RegisterInput(serializers.Serializer):
    email = serializers.EmailField()
    password = StrictCharField(write_only=True, style={"input_type": "password"})
    display_name = StrictCharField(max_length=100, required=False, default="")


class RegisterOutput(serializers.Serializer):
    user = UserSerializer()
    access = serializers.CharField()
    refresh = serializers.CharField()


def _tokens_for(user: User) -> dict[str, str]:
    refresh = RefreshToken.for_user(user)
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


class RegisterView(AuthThrottleMixin, APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=RegisterInput,
        responses={201: RegisterOutput, 400: ErrorSchema, 409: ErrorSchema},
        summary="Create an account and sign in",
    )
    @idempotent
    def post(self, request: Request) -> Response:
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_register(**data.validated_data)
        body = {"user": UserSerializer(user).data, **_tokens_for(user)}
        return Response(body, status=status.HTTP_201_CREATED)


class TwoStepTokenInput(TokenObtainPairSerializer):
    """Email and password, and the one-time code of the user's authenticator when they have
    one: staff who refund through the API must sign in with it (`shop.two_factor`)."""

    otp_token = StrictCharField(
        required=False,
        allow_blank=True,
        max_length=20,
        write_only=True,
        help_text="The code the authenticator app shows now; marks the tokens as signed in "
        "with the second factor, which refunds through the brand API require.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, str]:
        # The password first (simplejwt's check, axes' lockout): no code is tried without it.
        TokenObtainSerializer.validate(self, attrs)
        user = cast(User, self.user)  # set by the check above, which raises without one
        code = attrs.get("otp_token", "")
        if code and otp_device_match(user, code) is None:
            raise ValidationFailed(
                "That code is not right or has expired. Enter the code your app shows now.",
                code="otp_invalid",
                fields={"otp_token": [{"code": "otp_invalid", "message": "Not accepted."}]},
            )
        # What TokenObtainPairSerializer.validate does, with the claim in the pair it makes.
        refresh = RefreshToken.for_user(user)
        if code:
            refresh[SECOND_FACTOR_CLAIM] = True
        if jwt_settings.UPDATE_LAST_LOGIN:
            update_last_login(None, user)  # type: ignore[arg-type]
        return {"refresh": str(refresh), "access": str(refresh.access_token)}


class TokenView(AuthThrottleMixin, TokenObtainPairView):
    """Sign in with email and password (and the authenticator's code, for staff who refund);
    returns a short-lived access and a rotating refresh."""

    serializer_class = TwoStepTokenInput

    def post(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        try:
            return super().post(request, *args, **kwargs)
        except AuthenticationFailed:
            # axes marks the request when this attempt reached, or met, the lockout.
            if getattr(request, "axes_locked_out", False):
                raise LoginLocked() from None
            raise


class TokenRefresh(AuthThrottleMixin, TokenRefreshView):
    """Exchange a refresh token for a new pair; the old refresh token is revoked."""


class LogoutInput(serializers.Serializer):
    refresh = StrictCharField()


class LogoutView(AuthThrottleMixin, APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=LogoutInput,
        responses={204: None, 400: ErrorSchema},
        summary="Revoke a refresh token",
    )
    def post(self, request: Request) -> Response:
        data = LogoutInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            token = RefreshToken(data.validated_data["refresh"])
        except TokenError as exc:
            raise ApplicationError(str(exc), code="token_not_valid") from None
        if str(token.get("user_id")) != str(request.user.pk):
            raise ApplicationError("That token belongs to another account.", code="token_not_valid")
        token.blacklist()
        return Response(status=status.HTTP_204_NO_CONTENT)


class DeleteAccountInput(serializers.Serializer):
    password = StrictCharField(write_only=True)


class UpdateMeInput(serializers.Serializer):
    email = serializers.EmailField(required=False)
    display_name = StrictCharField(max_length=100, required=False, allow_blank=True)


class MeView(APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(responses={200: UserSerializer}, summary="The signed-in account")
    def get(self, request: Request) -> Response:
        return Response(UserSerializer(request.user).data)

    @extend_schema(
        request=UpdateMeInput,
        responses={200: UserSerializer, 400: ErrorSchema, 409: ErrorSchema},
        summary="Update the signed-in account",
    )
    def patch(self, request: Request) -> Response:
        data = UpdateMeInput(data=request.data, partial=True)
        data.is_valid(raise_exception=True)
        user = services.user_update(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(UserSerializer(user).data)

    @extend_schema(
        request=DeleteAccountInput,
        responses={204: None, 400: ErrorSchema},
        summary="Delete the signed-in account",
    )
    def delete(self, request: Request) -> Response:
        data = DeleteAccountInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_delete(user=request.user, password=data.validated_data["password"])  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordChangeInput(serializers.Serializer):
    old_password = StrictCharField(write_only=True)
    new_password = StrictCharField(write_only=True)


class PasswordChangeView(AuthThrottleMixin, APIView):
    permission_classes = [permissions.IsAuthenticated]

    @extend_schema(
        request=PasswordChangeInput,
        responses={204: None, 400: ErrorSchema},
        summary="Change the password (signs out other devices)",
    )
    def post(self, request: Request) -> Response:
        data = PasswordChangeInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.user_password_change(user=request.user, **data.validated_data)  # type: ignore[arg-type]
        return Response(status=status.HTTP_204_NO_CONTENT)


class PasswordResetInput(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetView(AuthThrottleMixin, APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=PasswordResetInput,
        responses={202: OpenApiResponse(description="Sent if the account exists")},
        summary="Email a password-reset link",
    )
    def post(self, request: Request) -> Response:
        data = PasswordResetInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_request(email=data.validated_data["email"])
        return Response(status=status.HTTP_202_ACCEPTED)


class PasswordResetConfirmInput(serializers.Serializer):
    uid = StrictCharField()
    token = StrictCharField()
    new_password = StrictCharField(write_only=True)


class PasswordResetConfirmView(AuthThrottleMixin, APIView):
    permission_classes = [permissions.AllowAny]
    authentication_classes: list = []

    @extend_schema(
        request=PasswordResetConfirmInput,
        responses={204: None, 400: ErrorSchema},
        summary="Set a new password from a reset link",
    )
    def post(self, request: Request) -> Response:
        data = PasswordResetConfirmInput(data=request.data)
        data.is_valid(raise_exception=True)
        services.password_reset_confirm(**data.validated_data)
        return Response(status=status.HTTP_204_NO_CONTENT)
