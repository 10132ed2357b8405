"""Reads on a real streaming replica: which go there, read-your-writes, and the fallbacks.

A primary and its replica are started from the embedded PostgreSQL (devtools/stack) in a
temporary directory; tests/common/replica_probe.py runs the service's code against them in a
process of its own and reports what it saw.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import transaction

from common import replica
from devtools.stack.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
LAG_LIMIT = "1"


@pytest.fixture(scope="module")
def findings(tmp_path_factory):
    """Run the probe under `python -m devtools.stack exec --replica`: a primary and its
    streaming replica from the embedded PostgreSQL, started for it and stopped after."""
    data = tmp_path_factory.mktemp("replica")
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    env |= {
        "EMBEDDED_POSTGRES_PORT": str(free_port()),
        "EMBEDDED_POSTGRES_REPLICA_PORT": str(free_port()),
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "REPLICA_MAX_LAG_SECONDS": LAG_LIMIT,
        "REPLICA_LAG_CHECK_SECONDS": "0",
        "REPLICA_RETRY_SECONDS": "0",
        "CATALOG_LIST_CACHE_SECONDS": "0",
        "REPLICA_PIDFILE": str(data / "postgres-replica" / "postmaster.pid"),
    }
    result = subprocess.run(
        [
            sys.executable, "-m", "devtools.stack", "exec", "--data", str(data), "--replica",
            "--", sys.executable, "-m", "tests.common.replica_probe",
        ],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_public_read_goes_to_the_caught_up_replica_only(findings):
    seen = findings["caught_up"]
    assert seen["status"] == 200
    assert seen["titles"] == ["First"]
    assert seen["replica"] > 0
    assert seen["primary"] == 0


def test_after_a_write_the_same_unit_of_work_reads_the_primary(findings):
    seen = findings["read_after_write"]
    assert seen["before_write_on_replica"] == 1
    assert seen["after_write_on_replica"] == 0
    assert seen["after_write_on_primary"] == 1


def test_a_replica_past_the_lag_limit_is_passed_over_for_the_primary(findings):
    seen = findings["lagging"]
    assert seen["status"] == 200
    assert seen["titles"] == ["First", "Second"]  # the row the paused replica lacks
    assert seen["replica"] == 0
    assert seen["primary"] > 0
    assert findings["readyz_lagging"]["reads"] == "primary"
    assert findings["readyz_lagging"]["lag_seconds"] > float(LAG_LIMIT)


def test_a_replica_that_caught_up_again_serves_again(findings):
    seen = findings["resumed"]
    assert seen["titles"] == ["First", "Second"]
    assert seen["replica"] > 0
    assert seen["primary"] == 0


def test_a_replica_that_is_down_costs_nothing_but_the_primary(findings):
    seen = findings["replica_down"]
    assert seen["status"] == 200
    assert seen["titles"] == ["First", "Second"]
    assert seen["replica"] == 0
    assert findings["readyz_down"]["reads"] == "primary"
    assert findings["readyz_down"]["status"].startswith("degraded")


@pytest.mark.django_db
def test_without_a_replica_every_read_goes_to_the_primary():
    router = replica.ReplicaRouter()
    with replica.unit_of_work(), replica.replica_reads():
        assert router.db_for_read(object) is None


@pytest.mark.django_db
def test_only_the_primary_is_migrated():
    router = replica.ReplicaRouter()
    assert router.allow_migrate("default", "shop")
    assert not router.allow_migrate(replica.REPLICA, "shop")


@pytest.mark.django_db(transaction=True)
def test_reads_inside_a_transaction_on_the_primary_stay_there(monkeypatch):
    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    monkeypatch.setattr(replica, "replica_usable", lambda: True)
    router = replica.ReplicaRouter()
    with replica.unit_of_work(), replica.replica_reads():
        assert router.db_for_read(object) == replica.REPLICA
        with transaction.atomic():
            assert router.db_for_read(object) is None


@pytest.mark.parametrize("page", ["storefront", "product"])
def test_stored_pages_are_built_from_the_primary(monkeypatch, page):
    """A stored page lives as long as its versions: a lagging replica must not fill it."""
    from common.errors import NotFound
    from creators.pages import product, storefront

    monkeypatch.setattr(replica, "replica_configured", lambda: True)
    monkeypatch.setattr(replica, "replica_usable", lambda: True)
    router = replica.ReplicaRouter()
    decided: list[str | None] = []

    def creator_id(**kwargs):
        decided.append(router.db_for_read(object))
        return None

    module = storefront if page == "storefront" else product
    monkeypatch.setattr(module, "storefront_creator_id", creator_id)

    def build() -> object:
        if page == "storefront":
            return storefront._build("nobody")
        return product._build("nobody", 1)

    with replica.unit_of_work(), replica.replica_reads():
        with pytest.raises(NotFound):
            build()
        assert router.db_for_read(object) == replica.REPLICA
    assert decided == [None]
