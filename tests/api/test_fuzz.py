"""Property-based: whatever the OpenAPI schema allows a client to send, the answer is never a 500
and every error is problem+json (schemathesis generates the requests)."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from api.app import create_app
from closeloop.auth import service as auth
from closeloop.db import new_session
from tests.factories import PASSWORD, case_in

PROBLEM = "application/problem+json"
# What this test asserts is the answer, not its speed (the benchmarks measure that). schemathesis
# cancels a request still running after its timeout (10 s by default): on a machine loaded by
# other work, or a virtual machine paused for a while, a request took 10-37 s in two CI runs and
# was cancelled mid-way. A generous bound still catches a request that never ends.
REQUEST_TIMEOUT = 120


ROLES = ("admin", "sup", "h_zj")


@pytest.fixture
def api_schema(engine, clock, org):
    with new_session(engine) as s:
        for state in ("reported", "rectifying", "verifying"):
            case_in(s, org, state)
        tokens = [auth.login(s, username=u, password=PASSWORD, now=clock.now())[0] for u in ROLES]
        s.commit()
    app = create_app(engine=engine, clock=clock)
    app.state.fuzz_tokens = tokens
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def no_input_causes_a_server_error(api_schema):
    """Each request the schema allows is sent as each role (an administrator, a supervisor, a
    handler): generating the requests is most of the cost, so each is generated once."""
    every_role = {
        role: {"Authorization": f"Bearer {token}"}
        for role, token in zip(ROLES, api_schema.app.state.fuzz_tokens, strict=True)
    }
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(
            max_examples=15, deadline=None, database=None, suppress_health_check=list(HealthCheck)
        )
        def check(case):
            for role, headers in every_role.items():
                response = case.call(headers=headers, timeout=REQUEST_TIMEOUT)
                said = (role, case.method, case.path, response.text)
                assert response.status_code < 500, said
                if response.status_code >= 400:
                    ctype = response.headers.get("content-type") or [""]
                    assert ctype[0].startswith(PROBLEM), said

        check()


# One class per database: the test runner hands each class to a worker of its own (--dist
# loadscope), so the two databases' fuzzing runs side by side instead of one after another.
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
class TestOnSQLite:
    def test_no_input_causes_a_server_error(self, api_schema):
        no_input_causes_a_server_error(api_schema)


@pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)
class TestOnPostgreSQL:
    def test_no_input_causes_a_server_error(self, api_schema):
        no_input_causes_a_server_error(api_schema)
