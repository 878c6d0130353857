"""Property-based requests generated from the served OpenAPI description (schemathesis): no request may cause a
server error, every response must match its declared schema, status code and media type, and invalid input must
leave as an OGC exception (400), never as a framework 422."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from api.app import create_app


@pytest.fixture(scope="module")
def fuzz_app(results):
    return create_app(results.settings)


def test_no_generated_request_breaks_the_server(fuzz_app):
    schema = schemathesis.openapi.from_asgi("/api", fuzz_app)
    checked = []
    for result in schema.get_all_operations():
        operation = result.ok()
        # the per-collection paths repeat the generic one with their own property parameters, and every map or
        # file is built anew for each generated query: fewer cases for those
        path = operation.path
        repeated = path.startswith(("/maps/", "/downloads/")) or (
            path.startswith("/collections/") and "{collection_id}" not in path
        )
        examples = 5 if repeated else 20

        @given(case=operation.as_strategy())
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def check(case: schemathesis.Case) -> None:
            response = case.call()
            where = f"{case.method} {case.formatted_path} {case.query}"
            assert response.status_code < 500, f"{where}: {response.text[:300]}"
            assert response.status_code != 422, f"{where}: validation errors must be OGC exceptions (400)"
            media = response.headers.get("content-type") or [""]  # schemathesis keeps every value of a header
            if response.status_code == 400 and media[0].startswith("text/html"):
                assert "Errore" in response.text, where  # f=html: the exception as a page
            elif response.status_code == 400:
                assert set(response.json()) == {"code", "description"}, where
            case.validate_response(
                response,
                checks=[
                    checks.not_a_server_error,
                    checks.status_code_conformance,
                    checks.content_type_conformance,
                    checks.response_schema_conformance,
                ],
            )

        check()
        checked.append(operation.label)
    assert len(checked) >= 8
