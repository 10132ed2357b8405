"""Creator codes: a brand issues a public code for one of its discounts, for a creator or none."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from common.errors import Conflict, NotFound, ValidationFailed
from creators.models import Creator, CreatorCode
from creators.selectors.codes import code_is_wellformed, code_normalise
from shop.models import Brand, Discount


def code_issue(
    *, brand: Brand, discount_id: int, code: str, creator_id: int | None = None
) -> CreatorCode:
    """Issue `code` for one of the brand's discounts, crediting `creator_id` when given."""
    normalised = code_normalise(code)
    if not code_is_wellformed(normalised):
        raise ValidationFailed(
            "A code is 3 to 40 letters, digits, '-' or '_'.",
            code="code_invalid",
            fields={"code": [{"code": "invalid", "message": "3-40 of A-Z, 0-9, - and _."}]},
        )
    discount = Discount.objects.filter(pk=discount_id, brand=brand).first()
    if discount is None:
        raise NotFound("No such discount.", code="discount_not_found")
    creator = None
    if creator_id is not None:
        creator = Creator.objects.filter(pk=creator_id, status=Creator.Status.ACTIVE).first()
        if creator is None:
            raise NotFound("No such creator.", code="creator_not_found")
    try:
        with transaction.atomic(durable=True):
            return CreatorCode.objects.create(
                code=normalised, brand=brand, discount=discount, creator=creator
            )
    except IntegrityError as exc:
        raise Conflict("This code is taken.", code="code_taken") from exc


def code_set_active(*, code: CreatorCode, is_active: bool) -> CreatorCode:
    """Switch a code on or off (an issued code is never renamed: receipts name it)."""
    CreatorCode.objects.filter(pk=code.pk).update(is_active=is_active)
    code.is_active = is_active
    return code
