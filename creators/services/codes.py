"""Creator codes: a brand issues a public code for one of its discounts, for a creator or none."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from common.errors import Conflict, Forbidden, NotFound, ValidationFailed
from creators.models import Collaboration, Creator, CreatorCode
from creators.pages.versions import pages_changed
from creators.selectors.codes import code_is_wellformed, code_normalise
from shop.models import Brand, Discount
from shop.services.discounts import discount_create_joined


def _wellformed(code: str) -> str:
    normalised = code_normalise(code)
    if not code_is_wellformed(normalised):
        raise ValidationFailed(
            "A code is 3 to 40 letters, digits, '-' or '_'.",
            code="code_invalid",
            fields={"code": [{"code": "invalid", "message": "3-40 of A-Z, 0-9, - and _."}]},
        )
    return normalised


def code_issue(
    *, brand: Brand, discount_id: int, code: str, creator_id: int | None = None
) -> CreatorCode:
    """Issue `code` for one of the brand's discounts, crediting `creator_id` when given."""
    normalised = _wellformed(code)
    discount = Discount.objects.filter(pk=discount_id, brand=brand).first()
    if discount is None:
        raise NotFound("No such discount.", code="discount_not_found")
    creator = None
    if creator_id is not None:
        creator = Creator.objects.filter(pk=creator_id, status=Creator.Status.ACTIVE).first()
        if creator is None:
            raise NotFound("No such creator.", code="creator_not_found")
    try:
        # It composes (a savepoint), so the admin may call it inside its own transaction.
        with transaction.atomic():
            return CreatorCode.objects.create(
                code=normalised, brand=brand, discount=discount, creator=creator
            )
    except IntegrityError as exc:
        raise Conflict("This code is taken.", code="code_taken") from exc


def code_set_active(*, code: CreatorCode, is_active: bool) -> CreatorCode:
    """Switch a code on or off (an issued code is never renamed: receipts name it)."""
    CreatorCode.objects.filter(pk=code.pk).update(is_active=is_active)
    if code.creator_id is not None:  # the storefront lists the creator's live codes
        pages_changed(creator_ids=[code.creator_id])
    code.is_active = is_active
    return code


class CodesNotAllowed(Forbidden):
    code = "codes_not_allowed"
    default_message = "This brand does not let you make your own codes."


class CodePercentAboveLimit(ValidationFailed):
    code = "code_percent_above_limit"


class CodeLimitReached(Conflict):
    code = "code_limit_reached"
    default_message = "You have made as many codes for this brand as it allows."


def code_create_own(*, creator: Creator, brand: Brand, code: str, percent: Decimal) -> CreatorCode:
    """A creator's own code for a brand, within the limits of their collaboration in force.

    The code gets a discount of its own (`percent` off the collaboration's product, or the
    whole brand) and credits the creator. The collaboration's row is locked while the
    creator's codes are counted, so two requests at once cannot pass the cap together.
    """
    normalised = _wellformed(code)
    now = timezone.now()
    with transaction.atomic(durable=True):
        in_force = list(
            Collaboration.objects.select_for_update()
            .filter(
                creator=creator,
                brand=brand,
                status=Collaboration.Status.ACCEPTED,
                valid_from__lte=now,
            )
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=now))
            .order_by("pk")
        )
        if not in_force:
            raise NotFound(
                "You have no collaboration in force with this brand.",
                code="collaboration_not_found",
            )
        allowing = [c for c in in_force if c.codes_allowed]
        if not allowing:
            raise CodesNotAllowed()
        terms = max(allowing, key=lambda c: (c.code_max_percent, c.code_max_count, -c.pk))
        if not Decimal(0) < percent <= terms.code_max_percent:
            raise CodePercentAboveLimit(
                f"Your codes for this brand give at most {terms.code_max_percent}% off.",
                fields={"percent": [{"code": "above_limit", "message": "Above the brand's cap."}]},
                details={"max_percent": str(terms.code_max_percent)},
            )
        made = CreatorCode.objects.filter(creator=creator, brand=brand, made_by_creator=True)
        if made.count() >= max(c.code_max_count for c in allowing):
            raise CodeLimitReached(details={"max_codes": terms.code_max_count})
        if CreatorCode.objects.filter(code=normalised).exists():
            raise Conflict("This code is taken.", code="code_taken")
        discount = discount_create_joined(
            brand=brand,
            product_ids=[terms.product_id] if terms.product_id else (),
            name=f"{normalised} by @{creator.handle}",
            kind=Discount.Kind.PERCENTAGE,
            value=percent,
            applies_to_all=terms.product_id is None,
        )
        try:
            with transaction.atomic():
                return CreatorCode.objects.create(
                    code=normalised,
                    brand=brand,
                    discount=discount,
                    creator=creator,
                    made_by_creator=True,
                )
        except IntegrityError as exc:  # taken by a concurrent request meanwhile
            raise Conflict("This code is taken.", code="code_taken") from exc
