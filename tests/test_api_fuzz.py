"""Property-based requests generated from the served OpenAPI description (schemathesis): no request may cause a
server error, and invalid input must leave as an OGC exception (400), never as a framework 422."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from api.app import create_app


@pytest.fixture(scope="module")
def fuzz_app(results):
    return create_app(results.settings)


def test_no_generated_request_breaks_the_server(fuzz_app):
    schema = schemathesis.openapi.from_asgi("/api", fuzz_app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            response = case.call()
            where = f"{case.method} {case.formatted_path} {case.query}"
            assert response.status_code < 500, f"{where}: {response.text[:300]}"
            assert response.status_code != 422, f"{where}: validation errors must be OGC exceptions (400)"
            if response.status_code == 400:
                assert set(response.json()) == {"code", "description"}, where

        check()
        checked.append(operation.label)
    assert len(checked) >= 8
