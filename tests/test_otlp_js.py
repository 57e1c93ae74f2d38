"""The OpenTelemetry JavaScript SDK (npm packages in tests/js, run with the machine's Node)
sends GenAI spans to a real ``serve``: core shows exactly what the client recorded."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import core
from core.config import Config
from tests.test_otlp_ingest import ROOT, serving

JS = ROOT / "tests" / "js"
pytestmark = pytest.mark.skipif(
    shutil.which("node") is None or not (JS / "node_modules" / "@opentelemetry").is_dir(),
    reason="needs node and `npm install --prefix tests/js` (.ci/run does both)",
)


def test_javascript_sdk_spans_become_executions_tokens_and_cost(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with serving(data_dir, WERKPILOT_API_TOKEN="js-token") as served:
        base = f"http://127.0.0.1:{served.port}"
        for _ in range(2):  # the same run exported twice (new span ids): counted twice
            out = subprocess.run(
                ["node", str(JS / "agent.js"), base, "js-token"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert out.returncode == 0 and "exported" in out.stdout, out.stderr
    components = core.open(data_dir, Config())
    try:
        executions = components.monitor.get_recent_executions("scorer", limit=100)
        assert len(executions) == 6
        assert {e.department for e in executions} == {"sales"}
        assert {e.host for e in executions} == {"node-host"}
        assert sum(e.tokens_used for e in executions) == 2 * (1500 + 900)
        agent = components.tracker.get_agent_cost("scorer")
        assert agent is not None and agent.executions == 4
        per_run = (1000 * 3 + 300 * 15 + 200 * 0.3 + 800 * 1 + 100 * 5) / 1e6
        assert agent.total_cost == pytest.approx(2 * per_run, abs=1e-9)
    finally:
        components.close()
