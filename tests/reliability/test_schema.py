"""Property-based API testing: schemathesis generates requests from the gateway's own
`/openapi.json` (served by a live gateway with the real Triton and the tiny model) and
checks that no response is a 5xx and every response conforms to the documented schema
(status codes, content types, headers, bodies) and carries the security headers.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis.checks import (
    content_type_conformance,
    ignored_auth,
    negative_data_rejection,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from lama_serve.triton.process import TritonProcess
from tests.gateway.conftest import AUTH, isolated_settings

from .conftest import Figures, assert_security_headers, live_gateway

# Not `positive_data_acceptance`: random bytes are schema-valid `format: binary` but not an image (400).
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    ignored_auth,
    negative_data_rejection,
]


@pytest.fixture(scope="module")
def base_url(triton_server: TritonProcess, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    directory: Path = tmp_path_factory.mktemp("schema")
    # No per-address limit on failed keys: schemathesis sends many keyless requests on purpose.
    settings = isolated_settings(directory, triton_url=triton_server.http_url, auth_failures_per_minute=0)
    with live_gateway(settings) as url:
        yield url


def test_api_conforms_to_its_openapi(base_url: str, figures: Figures) -> None:
    """Hypothesis drives schemathesis's strategy for every operation; schemathesis's own
    pytest plugin (`from_fixture`) is not used: it fails on pytest 9 (`Function._nodeid`)."""
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    tally = figures.setdefault(
        "schemathesis", {"operations": len(list(schema.get_all_operations())), "cases": 0, "server_errors": 0}
    )

    # Positive: data the schema allows; negative: data it forbids (must be a 4xx, not a 5xx).
    modes = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)

    @given(case=st.one_of(*(schema.as_strategy(mode) for mode in modes)))
    @settings(
        max_examples=60,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: schemathesis.Case) -> None:
        tally["cases"] += 1
        response = case.call(headers=AUTH, timeout=30)
        tally["server_errors"] += response.status_code >= 500
        case.validate_response(response, checks=CHECKS)
        assert_security_headers(httpx.Headers([(k, v) for k, vs in response.headers.items() for v in vs]))

    run()
