"""Schemathesis against the running app: 0 server errors and 0 schema violations.

The app is the WSGI handler gunicorn serves (every middleware, the exception handler, the
test PostgreSQL and Redis), called in-process. The schema is the one the app serves at
/api/schema/. Three callers fuzz against the same seeded world (tests/contract/world.py):
anonymous on every operation, a creator on every operation but the brand desk, a brand
owner on the brand desk (/api/v1/brand/); another user's objects are 404 by the tests of
each endpoint. A stateful run per signed-in user follows the links Schemathesis infers
from the schema, so object routes get ids the API has just given out.

Checks: every built-in one except
- positive_data_acceptance: it wants a 2xx for any request the schema allows, but the
  schema cannot say "a reset token we issued", "a password strong enough" or "a cart with
  stock left"; refusing those with a documented 4xx and an error code is correct.
- max_response_time: timing on a busy CI runner is noise, not a contract.
So the run fails on a 5xx, an undocumented status, content type or header, a body that
does not match its schema, schema-invalid input that is accepted, a missing required
header that is accepted, an undocumented method that is not 405, a resource that is still
there after its DELETE, and an authenticated operation that ignores its credentials.

Excluded operation: POST /api/v1/webhooks/stripe/, which answers 400 to anything not
signed with the webhook secret, so fuzzing it only ever reaches the signature check; its
signed but malformed events are covered in tests/orders/test_webhooks.py.

Budget: a fixed seed (derandomize) and a fixed number of examples per operation, so a run
sends the same requests every time and stays within a few minutes of CI time.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from hypothesis import HealthCheck, settings
from schemathesis import checks as st_checks

from tests.contract.conftest import record, rolled_back
from tests.contract.world import World

# The mark, not only the fixture, tells pytest-django to create the test database.
pytestmark = pytest.mark.django_db

schema = schemathesis.openapi.from_wsgi("/api/schema/", WSGIHandler()).exclude(
    path="/api/v1/webhooks/stripe/"
)

EXCLUDED_CHECKS = [st_checks.positive_data_acceptance, st_checks.max_response_time]

FUZZ = settings(
    max_examples=10,
    derandomize=True,
    deadline=None,
    database=None,
    # The world is seeded once per operation and every case is rolled back, so sharing
    # the function-scoped fixture between examples is intended.
    suppress_health_check=list(HealthCheck),
)


def bearer(world: World, who: str) -> dict[str, str]:
    user = world.creator.user if who == "creator" else world.brand_owner
    return {"Authorization": f"Bearer {world.token_for(user)}"}


def fuzz(run: str, case: Any, headers: dict[str, str] | None = None) -> None:
    with rolled_back():
        record(
            run,
            case.operation.label,
            case.call_and_validate,
            headers=headers,
            excluded_checks=EXCLUDED_CHECKS,
        )


@schema.parametrize()
@FUZZ
def test_anonymous(case, contract_world):
    fuzz("anonymous", case)


@schema.exclude(path_regex="^/api/v1/brand/").parametrize()
@FUZZ
def test_creator(case, contract_world):
    fuzz("creator", case, bearer(contract_world, "creator"))


@schema.include(path_regex="^/api/v1/brand/").parametrize()
@FUZZ
def test_brand_owner(case, contract_world):
    fuzz("brand owner", case, bearer(contract_world, "brand"))


@pytest.mark.parametrize("who", ["creator", "brand"])
def test_stateful_links(who, contract_world):
    headers = bearer(contract_world, who)

    class Workflow(schema.as_state_machine()):  # type: ignore[misc]
        def setup(self) -> None:
            self._scenario = rolled_back()
            self._scenario.__enter__()

        def teardown(self) -> None:
            self._scenario.__exit__(None, None, None)

        def get_call_kwargs(self, case: Any) -> dict[str, Any]:
            return {"headers": headers}

        def validate_response(self, response: Any, case: Any, **kwargs: Any) -> None:
            record(
                f"stateful {who}",
                case.operation.label,
                case.validate_response,
                response,
                headers=headers,
                excluded_checks=EXCLUDED_CHECKS,
                transport_kwargs={**kwargs, "headers": headers},
            )

    Workflow.run(
        settings=settings(
            max_examples=15,
            stateful_step_count=6,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
    )
