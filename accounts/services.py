"""Account writes: register, update, delete, change and reset passwords."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import password_validation
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from accounts.models import User
from common.errors import ApplicationError, Conflict, ValidationFailed


def _validate_password(password: str, user: User | None = None) -> None:
    try:
        password_validation.validate_password(password, user)
    except DjangoValidationError as exc:
        raise ValidationFailed(
            "The password is too weak.",
            code="weak_password",
            fields={"password": [{"message": m, "code": "weak_password"} for m in exc.messages]},
        ) from exc


def user_register(*, email: str, password: str, display_name: str = "") -> User:
    """Create a shopper account."""
    email = User.objects.normalize_email(email).lower()
    candidate = User(email=email, display_name=display_name)
    _validate_password(password, candidate)
    try:
        with transaction.atomic(durable=True):
            return User.objects.create_user(
                email=email, password=password, display_name=display_name
            )
    except IntegrityError:
        raise Conflict(
            "An account with this email already exists.",
            code="email_taken",
            fields={"email": [{"message": "Already registered.", "code": "email_taken"}]},
        ) from None


def user_update(*, user: User, display_name: str | None = None, email: str | None = None) -> User:
    """Update the profile fields a user may change themselves."""
    if display_name is not None:
        user.display_name = display_name
    if email is not None:
        user.email = User.objects.normalize_email(email).lower()
    try:
        with transaction.atomic(durable=True):
            user.save(update_fields=["display_name", "email"])
    except IntegrityError:
        raise Conflict(
            "An account with this email already exists.",
            code="email_taken",
            fields={"email": [{"message": "Already registered.", "code": "email_taken"}]},
        ) from None
    return user


def user_tokens_revoke_all(*, user: User) -> int:
    """Blacklist every refresh token the user holds; returns how many were live."""
    count = 0
    for token in OutstandingToken.objects.filter(user=user):
        _, created = BlacklistedToken.objects.get_or_create(token=token)
        count += int(created)
    return count


def user_delete(*, user: User, password: str) -> None:
    """Delete the account (app stores require it) after re-checking the password."""
    if not user.check_password(password):
        raise ApplicationError(
            "The password is not correct.", code="wrong_password", status_code=400
        )
    with transaction.atomic(durable=True):
        user_tokens_revoke_all(user=user)
        try:
            with transaction.atomic():
                user.delete()
        except ProtectedError:
            # Financial records (a creator's commission ledger, payouts) must outlive the
            # account: erase what identifies the person and close the account instead.
            _user_erase(user)


def _user_erase(user: User) -> None:
    user.email = f"deleted-{user.pk}@deleted.invalid"
    user.display_name = ""
    user.first_name = ""
    user.last_name = ""
    user.is_active = False
    user.is_staff = False
    user.set_unusable_password()
    user.save()


def user_password_change(*, user: User, old_password: str, new_password: str) -> None:
    """Change the password and sign out every other device."""
    if not user.check_password(old_password):
        raise ApplicationError(
            "The current password is not correct.", code="wrong_password", status_code=400
        )
    _validate_password(new_password, user)
    with transaction.atomic(durable=True):
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_tokens_revoke_all(user=user)


def password_reset_request(*, email: str) -> None:
    """Email a reset link if the account exists; says nothing either way."""
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    link = settings.PASSWORD_RESET_URL.format(uid=uid, token=token)
    transaction.on_commit(
        lambda: send_mail(
            subject="Reset your Tribe password",
            message=(
                "Someone asked to reset the password of your Tribe account.\n\n"
                f"Reset it here: {link}\n\nuid: {uid}\ntoken: {token}\n\n"
                "If it was not you, ignore this email."
            ),
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=[user.email],
        )
    )


def password_reset_confirm(*, uid: str, token: str, new_password: str) -> User:
    """Set a new password from a reset link; the link works once."""
    try:
        pk = int(force_str(urlsafe_base64_decode(uid)))
        user = User.objects.get(pk=pk, is_active=True)
    except (ValueError, TypeError, OverflowError, User.DoesNotExist):
        user = None
    if user is None or not default_token_generator.check_token(user, token):
        raise ApplicationError(
            "The reset link is invalid or has expired.", code="invalid_reset_token"
        )
    _validate_password(new_password, user)
    with transaction.atomic(durable=True):
        user.set_password(new_password)
        user.save(update_fields=["password"])
        user_tokens_revoke_all(user=user)
    return user
