"""Creator profiles, storefronts and collections."""

from __future__ import annotations

import re
from typing import Any

from django.db import IntegrityError, transaction

from accounts.models import User
from common.errors import Conflict, NotFound, ValidationFailed
from creators.models import Collection, CollectionItem, Creator, Storefront
from creators.selectors.access import creator_require_active, product_require_taggable

HANDLE_RE = re.compile(r"^[a-z0-9_.]{3,30}$")
# Paths and words a handle must never take: they are routes, or they would mislead.
RESERVED_HANDLES = frozenset(
    {
        "admin", "api", "r", "checkout", "static", "media", "healthz", "readyz", "well-known",
        "about", "help", "support", "login", "logout", "signup", "register", "settings",
        "tribe", "official", "staff", "root", "null", "undefined", "me", "shop", "store",
        "brand", "brands", "creator", "creators", "orders", "cart", "www", "mail",
    }
)  # fmt: skip
PROFILE_FIELDS = ("display_name", "bio", "avatar_url", "social_accounts")


def handle_validate(handle: str) -> str:
    """Lower-case, 3 to 30 of a-z 0-9 _ ., not reserved, no leading or trailing dot."""
    value = (handle or "").strip().lower().lstrip("@")
    problem = None
    if not HANDLE_RE.match(value):
        problem = ("invalid_handle", "Use 3 to 30 letters, digits, '_' or '.'.")
    elif value.startswith(".") or value.endswith(".") or ".." in value:
        problem = ("invalid_handle", "A handle cannot start or end with a dot, or repeat one.")
    elif value in RESERVED_HANDLES:
        problem = ("reserved_handle", "That handle is reserved.")
    if problem:
        raise ValidationFailed(
            problem[1],
            code=problem[0],
            fields={"handle": [{"code": problem[0], "message": problem[1]}]},
        )
    return value


def _handle_taken() -> ValidationFailed:
    return ValidationFailed(
        "That handle is taken.",
        code="handle_taken",
        fields={"handle": [{"code": "handle_taken", "message": "That handle is taken."}]},
    )


def creator_become(*, user: User, handle: str, display_name: str, **profile: Any) -> Creator:
    """Turn an account into a creator with an empty storefront."""
    value = handle_validate(handle)
    if Creator.objects.filter(user=user).exists():
        raise Conflict("This account is already a creator.", code="already_creator")
    try:
        with transaction.atomic(durable=True):
            creator = Creator.objects.create(
                user=user,
                handle=value,
                display_name=display_name,
                **{k: v for k, v in profile.items() if k in PROFILE_FIELDS},
            )
            Storefront.objects.create(creator=creator, title=display_name)
    except IntegrityError:
        if Creator.objects.filter(user=user).exists():
            raise Conflict("This account is already a creator.", code="already_creator") from None
        raise _handle_taken() from None
    return creator


def creator_update(*, creator: Creator, **data: Any) -> Creator:
    fields = [k for k in data if k in (*PROFILE_FIELDS, "handle")]
    if "handle" in data:
        data["handle"] = handle_validate(data["handle"])
    for key in fields:
        setattr(creator, key, data[key])
    try:
        with transaction.atomic(durable=True):
            creator.save(update_fields=[*fields, "updated_at"])
    except IntegrityError:
        raise _handle_taken() from None
    return creator


def storefront_update(*, creator: Creator, **data: Any) -> Storefront:
    storefront = creator.storefront
    for key in ("title", "theme_color"):
        if key in data:
            setattr(storefront, key, data[key])
    if not re.match(r"^#[0-9A-Fa-f]{6}$", storefront.theme_color):
        raise ValidationFailed(
            "Theme colour must look like #1A2B3C.",
            fields={"theme_color": [{"code": "invalid", "message": "Use #RRGGBB."}]},
        )
    with transaction.atomic(durable=True):
        storefront.save()
    return storefront


def _own_collection(creator: Creator, collection_id: int) -> Collection:
    collection = Collection.objects.filter(pk=collection_id, storefront__creator=creator).first()
    if collection is None:
        raise NotFound("No such collection.", code="collection_not_found")
    return collection


def collection_create(*, creator: Creator, title: str, position: int = 0) -> Collection:
    with transaction.atomic(durable=True):
        return Collection.objects.create(
            storefront=creator.storefront, title=title, position=position
        )


def collection_update(*, creator: Creator, collection_id: int, **data: Any) -> Collection:
    collection = _own_collection(creator, collection_id)
    for key in ("title", "position"):
        if key in data:
            setattr(collection, key, data[key])
    with transaction.atomic(durable=True):
        collection.save()
    return collection


def collection_delete(*, creator: Creator, collection_id: int) -> None:
    collection = _own_collection(creator, collection_id)
    with transaction.atomic(durable=True):
        collection.delete()


def collection_item_set(
    *, creator: Creator, collection_id: int, product_id: int, position: int = 0
) -> CollectionItem:
    """Add a product to a collection (or move it); only products the creator may promote."""
    collection = _own_collection(creator, collection_id)
    creator_require_active(creator)
    product = product_require_taggable(creator=creator, product_id=product_id)
    with transaction.atomic(durable=True):
        item, _ = CollectionItem.objects.update_or_create(
            collection=collection, product=product, defaults={"position": position}
        )
    return item


def collection_item_remove(*, creator: Creator, collection_id: int, product_id: int) -> None:
    collection = _own_collection(creator, collection_id)
    with transaction.atomic(durable=True):
        deleted, _ = CollectionItem.objects.filter(
            collection=collection, product_id=product_id
        ).delete()
    if not deleted:
        raise NotFound("That product is not in the collection.", code="item_not_found")
