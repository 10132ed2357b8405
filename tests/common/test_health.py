import pytest

from common import health

pytestmark = pytest.mark.django_db


def test_healthz_answers_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_checks_database_cache_and_broker(client):
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {
        "database": "ok",
        "cache": "ok",
        "broker": "ok",
        "click_queue": "ok",
    }


def test_readyz_names_the_failing_part_with_503(client, monkeypatch):
    def broken():
        raise ConnectionError("refused")

    monkeypatch.setitem(health.CHECKS, "cache", broken)
    response = client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready"
    assert error["details"]["failing"] == ["cache"]
    assert "cache" in error["message"]
    assert error["retryable"] is True
