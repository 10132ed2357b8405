"""The transactional outbox: events between apps that a broken broker or worker cannot lose.

- models.py: `OutboxEvent` (name, payload, optional key) and `OutboxDelivery` (one per
  event and handler: status, attempts, last error, next attempt, done at).
- registry.py: `handler_register(event=, name=, fn=, atomic=)`, called by the app that
  reacts, from its AppConfig.ready(); lower apps only name the event.
- services.py: `event_record` / `events_record` (inside the writer's transaction),
  `delivery_run` (the task's body: effect and receipt in one transaction), `outbox_sweep`,
  `outbox_prune`, `deliveries_retry_now`.
- selectors.py: the age of the oldest undelivered event (/readyz).
- admin.py: undelivered deliveries with their error, and "retry now".

Work after commit inside one app that may be lost and repaired by its own sweep is queued
by task name instead (`common.tasks_queue.enqueue_on_commit`).
"""

from common.outbox.registry import handler_register
from common.outbox.services import event_record, events_record

__all__ = ["event_record", "events_record", "handler_register"]
