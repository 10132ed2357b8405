"""Migration operations for moving a model from one app to another without touching its rows."""

from __future__ import annotations

from typing import Any

from django.db import migrations


def _move(apps: Any, old_label: str, new_label: str, models: tuple[str, ...]) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for model in models:
        old = content_type.objects.filter(app_label=old_label, model=model).first()
        if old is None:
            continue  # a fresh database: post_migrate creates the new one
        # A type created for the new label meanwhile has no history; the old one carries the
        # permissions, their grants and the admin log, so it is the one kept.
        content_type.objects.filter(app_label=new_label, model=model).delete()
        old.app_label = new_label
        old.save(update_fields=["app_label"])
    content_type.objects.clear_cache()


def content_types_move(old_label: str, new_label: str, *models: str) -> migrations.RunPython:
    """Relabel the content types of `models` (lower-case names), keeping their ids."""

    def forward(apps: Any, schema_editor: Any) -> None:
        _move(apps, old_label, new_label, models)

    def backward(apps: Any, schema_editor: Any) -> None:
        _move(apps, new_label, old_label, models)

    return migrations.RunPython(forward, backward, elidable=False)
