"""Videos and the products tagged in them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction

from common.errors import NotFound, ValidationFailed
from creators.models import Creator, Video, VideoProduct
from creators.pages.versions import pages_changed
from creators.selectors.access import creator_require_active, product_require_taggable

VIDEO_FIELDS = ("platform", "external_id", "url", "caption", "posted_at", "thumbnail_url")
MAX_TAGS = 30


def _duplicate() -> ValidationFailed:
    return ValidationFailed(
        "You already added this video.",
        code="video_exists",
        fields={"external_id": [{"code": "video_exists", "message": "Already added."}]},
    )


def video_get_own(*, creator: Creator, video_id: int) -> Video:
    video = Video.objects.filter(pk=video_id, creator=creator).first()
    if video is None:
        raise NotFound("No such video.", code="video_not_found")
    return video


def video_create(*, creator: Creator, **data: Any) -> Video:
    try:
        with transaction.atomic(durable=True):
            return Video.objects.create(
                creator=creator, **{k: v for k, v in data.items() if k in VIDEO_FIELDS}
            )
    except IntegrityError:
        raise _duplicate() from None


def video_update(*, creator: Creator, video_id: int, **data: Any) -> Video:
    video = video_get_own(creator=creator, video_id=video_id)
    for key in VIDEO_FIELDS:
        if key in data:
            setattr(video, key, data[key])
    try:
        with transaction.atomic(durable=True):
            video.save()
    except IntegrityError:
        raise _duplicate() from None
    return video


def video_delete(*, creator: Creator, video_id: int) -> None:
    video = video_get_own(creator=creator, video_id=video_id)
    with transaction.atomic(durable=True):
        video.delete()


def video_tags_set(
    *, creator: Creator, video_id: int, tags: Sequence[dict[str, Any]]
) -> list[VideoProduct]:
    """Replace the video's tagged products; every product is checked before anything is saved."""
    video = video_get_own(creator=creator, video_id=video_id)
    creator_require_active(creator)
    if len(tags) > MAX_TAGS:
        raise ValidationFailed(f"At most {MAX_TAGS} products per video.", code="too_many_tags")
    seen: set[int] = set()
    rows = []
    for index, tag in enumerate(tags):
        product_id = int(tag["product_id"])
        if product_id in seen:
            raise ValidationFailed(
                "A product is tagged twice.",
                code="duplicate_tag",
                fields={
                    f"tags[{index}].product_id": [{"code": "duplicate_tag", "message": "Twice."}]
                },
            )
        seen.add(product_id)
        try:
            product = product_require_taggable(creator=creator, product_id=product_id)
        except ValidationFailed as exc:
            exc.fields = {f"tags[{index}].{k}": v for k, v in exc.fields.items()}
            raise
        rows.append(
            VideoProduct(
                video=video,
                product=product,
                appears_at_seconds=int(tag.get("appears_at_seconds", 0)),
                position=int(tag.get("position", index)),
            )
        )
    with transaction.atomic(durable=True):
        VideoProduct.objects.filter(video=video).delete()
        created = VideoProduct.objects.bulk_create(rows)
        pages_changed(creator_ids=[video.creator_id])  # bulk_create sends no signal
        return created
