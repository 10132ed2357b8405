"""Models moved between apps keep their rows, table, content type and permissions."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

# The leaf migrations of the apps involved before the moves.
OLD_LEAVES = [("orders", "0006_order_checkout_fingerprint"), ("payments", None)]


def _old_state_nodes(executor: MigrationExecutor) -> list[tuple[str, str]]:
    moved = {app for app, _ in OLD_LEAVES}
    return [node for node in executor.loader.graph.leaf_nodes() if node[0] not in moved] + [
        (app, name) for app, name in OLD_LEAVES if name is not None
    ]


def _migrate(targets: list[tuple[str, str | None]]) -> MigrationExecutor:
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    return MigrationExecutor(connection)  # a fresh loader that sees what was just applied


@pytest.mark.django_db(transaction=True)
def test_stripe_events_move_to_payments_with_their_rows_content_type_and_permissions() -> None:
    # Given today's schema, with a stored Stripe event and its content type's permissions
    executor = _migrate(OLD_LEAVES)
    old_apps = executor.loader.project_state(_old_state_nodes(executor)).apps
    old_event = old_apps.get_model("orders", "StripeEvent")
    event = old_event.objects.create(
        event_id="evt_before_move", type="payment_intent.succeeded", payload={"id": "evt"}
    )
    old_content_type = old_apps.get_model("contenttypes", "ContentType").objects.get(
        app_label="orders", model="stripeevent"
    )
    permission_ids = set(
        old_apps.get_model("auth", "Permission")
        .objects.filter(content_type_id=old_content_type.pk)
        .values_list("pk", flat=True)
    )
    assert permission_ids

    # When the project migrates to the current leaves
    executor = _migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()

    # Then the row is the payments model's, under the same content type and permissions
    new_apps = executor.loader.project_state(executor.loader.graph.leaf_nodes()).apps
    new_event = new_apps.get_model("payments", "StripeEvent")
    assert new_event._meta.db_table == "orders_stripeevent"
    moved = new_event.objects.get(pk=event.pk)
    assert (moved.event_id, moved.type, moved.payload) == (
        "evt_before_move",
        "payment_intent.succeeded",
        {"id": "evt"},
    )
    content_type = ContentType.objects.get(pk=old_content_type.pk)
    assert (content_type.app_label, content_type.model) == ("payments", "stripeevent")
    assert not ContentType.objects.filter(app_label="orders", model="stripeevent").exists()
    assert set(content_type.permission_set.values_list("pk", flat=True)) == permission_ids


@pytest.mark.django_db(transaction=True)
def test_moving_back_restores_the_old_app_label() -> None:
    executor = _migrate(OLD_LEAVES)
    ContentType.objects.clear_cache()

    assert ContentType.objects.filter(app_label="orders", model="stripeevent").exists()
    assert not ContentType.objects.filter(app_label="payments", model="stripeevent").exists()

    _migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()
    assert ContentType.objects.filter(app_label="payments", model="stripeevent").exists()
