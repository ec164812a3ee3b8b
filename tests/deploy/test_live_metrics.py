"""Every metric the dashboards, alert rules and HPA adapter query is really exported: checked
against a live scrape of the embedded stack (gateway in process + the bundled Triton)."""

from __future__ import annotations

import re
import urllib.request
from pathlib import Path

import pytest

from lama_serve.core.settings import Settings
from lama_serve.triton.process import TritonProcess
from tests.deploy.deploy_metrics import (
    PROMETHEUS_SYNTHETIC,
    TRITON_GPU_METRICS,
    deploy_queries,
    promql_metric_names,
)
from tests.gateway.conftest import box_mask, encode, files, gateway, noise

pytestmark = pytest.mark.anyio
_SERIES = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)", re.MULTILINE)
API_KEY = "live-metrics-test-key-0123456789"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def series_names(exposition: str) -> set[str]:
    """Sample names of a Prometheus text exposition (comment lines skipped)."""
    return {m.group(1) for m in _SERIES.finditer(exposition) if not m.group(1).startswith("#")}


async def test_deploy_queries_name_only_scraped_metrics(triton_server: TritonProcess, tmp_path: Path) -> None:
    settings = Settings(
        api_key=API_KEY,
        triton_url=triton_server.http_url,
        stats_db_path=tmp_path / "stats.sqlite3",
        model_repository=triton_server.repository,
    )
    async with gateway(settings) as client:
        image, mask = encode(noise(64, 64)), encode(box_mask(64, 64))
        good = await client.post("/api/v1/remove-watermark", files=files(image, mask), headers={"X-API-Key": API_KEY})
        assert good.status_code == 200, good.text
        await client.post(
            "/api/v1/remove-watermark", files=files(b"not an image", mask), headers={"X-API-Key": API_KEY}
        )
        scraped = series_names((await client.get("/metrics")).text)
    with urllib.request.urlopen(triton_server.metrics_url, timeout=10) as response:
        scraped |= series_names(response.read().decode())

    queries_by_file = deploy_queries()
    assert sum(map(len, queries_by_file.values())) >= 10, "no dashboard/alert queries found"
    unknown = {}
    for source, queries in queries_by_file.items():
        for expr in queries:
            missing = promql_metric_names(expr) - scraped - PROMETHEUS_SYNTHETIC - TRITON_GPU_METRICS
            if missing:
                unknown[f"{source}: {expr[:80]}"] = sorted(missing)
    assert not unknown, f"queries name metrics nobody exports: {unknown}"
