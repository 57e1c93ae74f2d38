"""Every checkpoint kind is a cache of its journal: damage never changes an answer.

For the monitor, ledger, alert and exposition checkpoints: random byte flips and random digit
edits (a seeded loop, 200 per kind), an older file without a checksum, and payloads that
verify but are structurally invalid all give exactly what a rebuild from the journal alone
gives, and no constructor raises; edits sealed again (what a checksum cannot see) never make a
constructor or a query raise.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.alerts import checkpoint as alert_checkpoint
from core.alerts.manager import AlertManager
from core.costs import checkpoint as ledger_checkpoint
from core.costs.ledger import CostTracker
from core.exposition import CHECKPOINT as EXPOSITION_PATH
from core.exposition import CHECKPOINT_VERSION as EXPOSITION_VERSION
from core.exposition import Exposition
from core.journal import sealed
from core.journal.store import Journal
from core.monitor import checkpoint
from core.monitor.performance import PerformanceMonitor
from core.records import CostEntry, Execution
from tests.conftest import FakeClock

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MUTATIONS = 100  # per kind and per sort (byte flips, digit edits): 200 per kind


class QuietAlerts:
    """The monitor's and ledger's alert sink, kept out of the figures compared."""

    def add_alert(self, *args: Any, **kwargs: Any) -> None:
        pass

    def resolve(self, *args: Any, **kwargs: Any) -> int:
        return 0


def _ms(t: datetime) -> int:
    return int(t.timestamp() * 1000)


def _seed_records(data_dir: Path, rnd: random.Random, n: int) -> None:
    journal = Journal(data_dir)
    for i in range(n):
        ts = _ms(NOW - timedelta(minutes=rnd.randint(0, 3 * 24 * 60)))
        journal.append(
            "executions",
            Execution(
                timestamp=ts,
                agent=rnd.choice(["lead-scorer", "mailer", "crm"]),
                status=rnd.choice(["completed"] * 5 + ["error", "failed"]),
                duration=round(rnd.uniform(0, 9000), 3),
                tokens_used=rnd.randint(0, 5000),
                model=rnd.choice([None, "haiku", "sonnet"]),
                department=rnd.choice([None, "sales", "support"]),
                cost=round(rnd.uniform(0, 0.05), 6),
                error="boom" if i % 9 == 0 else None,
            ),
        )
        journal.append(
            "ledger",
            CostEntry(
                timestamp=ts,
                agent=rnd.choice(["lead-scorer", "mailer"]),
                department=rnd.choice(["sales", "marketing"]),
                model=rnd.choice(["haiku", "sonnet"]),
                input_tokens=rnd.randint(0, 9000),
                output_tokens=rnd.randint(0, 900),
                cost=round(rnd.uniform(0, 2), 6),
            ),
        )
    with journal.path_for("executions", NOW.date()).open("ab") as fh:
        fh.write(b"not a record\n")  # a known problem the checkpoint carries
    journal.close()


def _monitor(data_dir: Path) -> PerformanceMonitor:
    return PerformanceMonitor(data_dir, clock=FakeClock(NOW), alert_manager=QuietAlerts())  # type: ignore[arg-type]


def _monitor_results(data_dir: Path) -> Any:
    m = _monitor(data_dir)
    try:
        agents = m.list_agents()
        return (
            m.get_system_metrics().model_dump(exclude={"system_health"}),  # the host's, live
            [a.model_dump() for a in m.get_all_agent_metrics()],
            {a: [e.model_dump() for e in m.get_recent_executions(a)] for a in agents},
            {a: m.get_agent_series(a, "7d", 7).model_dump() for a in agents},
            m.get_agent_departments(),
            m.journal.problem_count,
        )
    finally:
        m.close()


def _monitor_save(data_dir: Path) -> None:
    m = _monitor(data_dir)
    m.save_checkpoint()
    m.close()


def _ledger(data_dir: Path) -> CostTracker:
    return CostTracker(
        data_dir,
        clock=FakeClock(NOW),
        alert_manager=QuietAlerts(),  # type: ignore[arg-type]
        checkpoint_every=10**9,
    )


def _ledger_results(data_dir: Path) -> Any:
    t = _ledger(data_dir)
    try:
        return (
            t.get_all_costs().model_dump(),
            [
                t.get_daily_cost_report(NOW.date() - timedelta(days=d)).model_dump()
                for d in range(4)
            ],
            t.get_weekly_cost_report(NOW.date()).model_dump(),
            t.get_monthly_cost_report(NOW.date()).model_dump(),
            [f.model_dump() for f in t.get_budget_forecast()],
            [b.model_dump() for b in t.get_burn_rates()],  # the recent minutes, per window
            t.entries,
        )
    finally:
        t.close()


def _ledger_save(data_dir: Path) -> None:
    t = _ledger(data_dir)
    t.refresh()
    t.save_checkpoint()
    t.close()


def _alerts(data_dir: Path) -> AlertManager:
    return AlertManager(data_dir, clock=FakeClock(NOW), channels=[])


def _seed_alerts(data_dir: Path) -> None:
    clock = FakeClock(NOW - timedelta(days=2))
    a = AlertManager(data_dir, clock=clock, channels=[])
    for i in range(40):
        clock.advance(minutes=37)
        alert = a.add_alert(
            level=["info", "warning", "critical"][i % 3],
            type="custom" if i % 2 else "budget",
            message=f"condition {i % 7}",
            data={"agent": f"agent-{i % 5}", "n": i},
        )
        if i % 4 == 0 and alert is not None:
            a.acknowledge_alert(alert.id)
        if i % 11 == 0:
            a.resolve("budget", agent=f"agent-{i % 5}")
    a.close()


def _alert_results(data_dir: Path) -> Any:
    a = _alerts(data_dir)
    try:
        return (
            [x.model_dump() for x in a.get_alerts(limit=1000)],
            a.get_alert_stats("7d").model_dump(),
            [d.model_dump() for d in a.get_deliveries()],
        )
    finally:
        a.close()


def _alert_save(data_dir: Path) -> None:
    a = _alerts(data_dir)
    a.save_checkpoint()
    a.close()


def _exposition_results(data_dir: Path) -> Any:
    journal = Journal(data_dir)
    try:
        expo = Exposition(journal)
        expo.collect()
        return expo.render()
    finally:
        journal.close()


def _exposition_save(data_dir: Path) -> None:
    journal = Journal(data_dir)
    expo = Exposition(journal)
    expo.collect()
    assert expo.save_checkpoint()
    journal.close()


@dataclass(frozen=True)
class Kind:
    name: str  # the sealed kind
    path: str
    version: int
    save: Callable[[Path], None]
    results: Callable[[Path], Any]


KINDS = [
    Kind("monitor", checkpoint.PATH, checkpoint.VERSION, _monitor_save, _monitor_results),
    Kind(
        "ledger",
        ledger_checkpoint.PATH,
        ledger_checkpoint.VERSION,
        _ledger_save,
        _ledger_results,
    ),
    Kind("alerts", alert_checkpoint.PATH, alert_checkpoint.VERSION, _alert_save, _alert_results),
    Kind(
        "exposition",
        EXPOSITION_PATH,
        EXPOSITION_VERSION,
        _exposition_save,
        _exposition_results,
    ),
]


@dataclass
class Setup:
    data_dir: Path
    kind: Kind
    blob: bytes  # the checkpoint as saved
    expected: Any  # the answers of a rebuild from the journal alone

    @property
    def cp(self) -> Path:
        return self.data_dir / self.kind.path

    def answers_with(self, content: bytes) -> Any:
        self.cp.write_bytes(content)
        return self.kind.results(self.data_dir)


def _setup(tmp_path: Path, kind: Kind) -> Setup:
    data_dir = tmp_path / "data"
    rnd = random.Random(7)
    _seed_records(data_dir, rnd, 120)
    _seed_alerts(data_dir)
    kind.save(data_dir)
    cp = data_dir / kind.path
    blob = cp.read_bytes()
    # More history after the checkpoint: a restored process tails it.
    _seed_records(data_dir, rnd, 15)
    cp.unlink()
    expected = kind.results(data_dir)
    cp.unlink(missing_ok=True)  # a rebuild may have saved its own
    setup = Setup(data_dir, kind, blob, expected)
    assert setup.answers_with(blob) == expected  # the intact checkpoint is used and agrees
    return setup


@pytest.fixture(params=KINDS, ids=[k.name for k in KINDS])
def setup(request: pytest.FixtureRequest, tmp_path: Path) -> Setup:
    return _setup(tmp_path, request.param)


def _flip(rnd: random.Random, blob: bytes) -> bytes:
    pos = rnd.randrange(len(blob))
    out = bytearray(blob)
    out[pos] ^= 1 << rnd.randrange(8)
    return bytes(out)


def _digit_edit(rnd: random.Random, blob: bytes) -> bytes:
    digits = [i for i, b in enumerate(blob) if 0x30 <= b <= 0x39]
    pos = rnd.choice(digits)
    out = bytearray(blob)
    out[pos] = rnd.choice([d for d in b"0123456789" if d != out[pos]])
    return bytes(out)


@pytest.mark.parametrize("mutate", [_flip, _digit_edit], ids=["byte-flip", "digit-edit"])
def test_a_damaged_checkpoint_gives_exactly_what_a_rebuild_gives(
    setup: Setup, mutate: Callable[[random.Random, bytes], bytes]
) -> None:
    rnd = random.Random(f"{setup.kind.name}-{mutate.__name__}")
    for i in range(MUTATIONS):
        damaged = mutate(rnd, setup.blob)
        assert setup.answers_with(damaged) == setup.expected, f"mutation {i}"


def test_an_old_checkpoint_without_a_checksum_is_discarded_and_rebuilt(
    setup: Setup, caplog: pytest.LogCaptureFixture
) -> None:
    payload = bytes(sealed.unseal(setup.blob, setup.kind.name, setup.kind.version))
    if setup.kind.name == "monitor":
        old = b"werkpilot-monitor-checkpoint\n" + payload.replace(b'"version":2', b'"version":1')
    else:
        old = payload.replace(b'"version":2', b'"version":1')
    with caplog.at_level(logging.WARNING, logger="core.checkpoint"):
        assert setup.answers_with(old) == setup.expected
    discards = [r for r in caplog.records if "discarding" in r.getMessage()]
    assert len(discards) == 1
    assert "older format without a checksum" in discards[0].getMessage()
    # Discarded (or already replaced by the rebuild's own sealed checkpoint), never kept.
    assert not setup.cp.exists() or setup.cp.read_bytes().startswith(sealed.PREFIX)
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="core.checkpoint"):
        assert setup.kind.results(setup.data_dir) == setup.expected
    assert not [r for r in caplog.records if "discarding" in r.getMessage()]  # logged once


def _json_breakages(payload: bytes) -> list[bytes]:
    """Payloads that verify once sealed again but are not a usable document."""
    doc = json.loads(payload)
    out = [b"", b"{}", b"[]", b"null", payload[: len(payload) // 2], payload + b"x"]
    for key in doc:
        out.append(json.dumps({k: v for k, v in doc.items() if k != key}).encode())
        for bad in (None, "x", -1, [[]], {"x": 1}):
            out.append(json.dumps({**doc, key: bad}).encode())
    for key, value in doc.items():  # the first element of each list, broken
        if isinstance(value, list) and value:
            first = value[0]
            variants: list[Any] = [None, "x", [], {}]
            if isinstance(first, dict):
                variants += [{k: v for k, v in first.items() if k != drop} for drop in first]
                variants += [{**first, k: [1]} for k in first]
            elif isinstance(first, list):
                variants += [first[:-1], [*first, 1], [None] * len(first)]
            for v in variants:
                out.append(json.dumps({**doc, key: [v, *value[1:]]}).encode())
    return out


def _monitor_breakages(payload: bytes) -> list[bytes]:
    size = int.from_bytes(payload[:8], "little")
    header, arrays = json.loads(payload[8 : 8 + size]), payload[8 + size :]

    def with_header(h: Any, rest: bytes = arrays) -> bytes:
        raw = json.dumps(h).encode()
        return len(raw).to_bytes(8, "little") + raw + rest

    out = [b"", payload[:5], payload[:-8], payload + b"\0" * 8, (10**9).to_bytes(8, "little")]
    out += [with_header(h) for h in _json_docs(header)]
    agent = header["agents"][0]
    for change in (
        {"recent": [{"agent": "x"}]},  # no timestamp: KeyError in the constructor before
        {"recent": [{"timestamp": "soon"}]},
        {"length": -1},
        {"length": agent["length"] + 1},
        {"totals": {**agent["totals"], "executions": "many"}},
        {"totals": {k: v for k, v in agent["totals"].items() if k != "errors"}},
    ):
        out.append(with_header({**header, "agents": [{**agent, **change}, *header["agents"][1:]]}))
    out.append(with_header({**header, "agents": [agent, *header["agents"]]}))  # a duplicate
    return out


def _json_docs(doc: dict[str, Any]) -> list[Any]:
    return [json.loads(b) for b in _json_breakages(json.dumps(doc).encode()) if _loads_dict(b)]


def _loads_dict(raw: bytes) -> bool:
    try:
        return isinstance(json.loads(raw), dict) and raw != b"{}"
    except ValueError:
        return False


def test_a_verified_but_structurally_invalid_checkpoint_is_rebuilt(setup: Setup) -> None:
    kind = setup.kind
    payload = bytes(sealed.unseal(setup.blob, kind.name, kind.version))
    breakages = (_monitor_breakages if kind.name == "monitor" else _json_breakages)(payload)
    assert len(breakages) > 20
    for i, broken in enumerate(breakages):
        if broken == payload:
            continue
        resealed = sealed.seal(kind.name, kind.version, broken)
        assert setup.answers_with(resealed) == setup.expected, f"breakage {i}: {broken[:300]!r}"


def test_edits_that_verify_never_make_a_constructor_or_a_query_raise(setup: Setup) -> None:
    """What a checksum cannot catch (edits sealed again) may change answers, never crash them."""
    kind = setup.kind
    payload = bytes(sealed.unseal(setup.blob, kind.name, kind.version))
    rnd = random.Random(f"{kind.name}-resealed")
    for i in range(60):
        edited = (_flip if i % 2 else _digit_edit)(rnd, payload)
        setup.answers_with(sealed.seal(kind.name, kind.version, edited))


def test_another_kind_or_version_is_not_used(setup: Setup) -> None:
    payload = bytes(sealed.unseal(setup.blob, setup.kind.name, setup.kind.version))
    other = "ledger" if setup.kind.name != "ledger" else "alerts"
    for blob in (
        sealed.seal(other, setup.kind.version, payload),
        sealed.seal(setup.kind.name, setup.kind.version + 1, payload),
    ):
        assert setup.answers_with(blob) == setup.expected


def test_a_checkpoint_that_cannot_be_written_is_logged_once_and_never_raised(
    data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    _seed_records(data_dir, random.Random(3), 20)
    for kind in KINDS:
        (data_dir / kind.path).mkdir(parents=True)  # a directory where the file should be
    clock = FakeClock(NOW)
    with caplog.at_level(logging.WARNING, logger="core.checkpoint"):
        tracker = CostTracker(
            data_dir, clock=clock, alert_manager=QuietAlerts(), checkpoint_every=1
        )  # type: ignore[arg-type]
        for _ in range(3):  # each one saves a checkpoint (and used to raise IsADirectoryError)
            tracker.track_cost("a", "sales", model="haiku", cost=1.0)
        tracker.close()
        monitor = _monitor(data_dir)
        monitor.save_checkpoint()
        monitor.save_checkpoint(wait=False)
        monitor.close()
        alerts = _alerts(data_dir)
        alerts.save_checkpoint()
        alerts.save_checkpoint()
        alerts.close()
        journal = Journal(data_dir)
        expo = Exposition(journal)
        expo.collect()
        assert not expo.save_checkpoint()
        assert not expo.save_checkpoint()
        journal.close()
    for kind in KINDS:
        failures = [r for r in caplog.records if str(data_dir / kind.path) in r.getMessage()]
        assert len(failures) == 1, (kind.name, [r.getMessage() for r in failures])
        assert "cannot write checkpoint" in failures[0].getMessage()
