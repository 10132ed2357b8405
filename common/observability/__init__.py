"""What the service tells its operators: logs, metrics, errors.

- `context`  the request id, user, task and order a log line belongs to (context variables)
- `logs`     the JSON log formatter and the filter that stamps that context on every record
- `metrics`  Prometheus counters and the scrape-time gauges apps register (`gauge_register`)
- `views`    `/metrics`, behind a bearer token, aggregated across gunicorn worker processes
- `celery`   Celery signal handlers binding a task's id, name and order id to its log lines
- `sentry`   sentry-sdk set-up, active only when `SENTRY_DSN` is set
"""
