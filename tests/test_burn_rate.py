"""Burn-rate alerts on money: the pure rules, the ledger's minute windows, the alerts they raise
and resolve, the month's real length, the checkpoint, /metrics and the deploy rules."""

from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import core
from core.alerts.manager import AlertManager
from core.alerts.state import Alert
from core.costs import checkpoint as ledger_checkpoint
from core.costs.burn import (
    PAIRS,
    WINDOWS,
    BurnPair,
    burn_rate,
    evaluate,
    headroom,
    month_ms,
    spend_needed,
)
from core.costs.burn_alerts import TYPE
from core.costs.ledger import CostTracker
from core.costs.recent import HORIZON_MIN, MS_PER_MINUTE, RecentSpend
from core.exposition import Exposition, gauges_from
from tests.conftest import FakeClock

ROOT = Path(__file__).resolve().parent.parent
NANO = 1_000_000_000
DAY_MS = 86_400_000
#: November 2026 has 30 days (720 h): a $720 budget is a pace of exactly $1 an hour.
T0 = datetime(2026, 11, 11, 12, 0, tzinfo=UTC)
PAGE_1H, PAGE_6H, TICKET = PAIRS


# ------------------------------------------------------------------ pure rules
@pytest.mark.parametrize(
    ("when", "days"),
    [
        (datetime(2026, 2, 14, tzinfo=UTC), 28),
        (datetime(2028, 2, 29, 23, 59, tzinfo=UTC), 29),
        (datetime(2026, 4, 30, tzinfo=UTC), 30),
        (datetime(2026, 1, 1, tzinfo=UTC), 31),
        (datetime(2026, 12, 31, 23, 59, tzinfo=UTC), 31),
    ],
)
def test_the_month_is_its_real_length(when: datetime, days: int) -> None:
    assert month_ms(when) == days * DAY_MS


def test_the_same_spend_burns_faster_in_a_shorter_month() -> None:
    spend = 14 * NANO  # $14 in an hour against $744
    jan, feb28, feb29 = (
        month_ms(datetime(y, m, 2, tzinfo=UTC)) for y, m in ((2026, 1), (2026, 2), (2028, 2))
    )
    assert burn_rate(spend, 744.0, WINDOWS["1h"], jan) == pytest.approx(14.0)  # 744 h
    assert burn_rate(spend, 744.0, WINDOWS["1h"], feb28) == pytest.approx(14 * 672 / 744)
    assert burn_rate(spend, 744.0, WINDOWS["1h"], feb29) == pytest.approx(14 * 696 / 744)
    # the page's 1 h threshold in dollars: 14.4 x B x 1h / P
    assert spend_needed(14.4, 744.0, WINDOWS["1h"], jan) == 14_400_000_000
    assert spend_needed(14.4, 672.0, WINDOWS["1h"], feb28) == 14_400_000_000
    assert spend_needed(14.4, 696.0, WINDOWS["1h"], feb29) == 14_400_000_000
    assert spend_needed(14.4, 720.0, WINDOWS["1h"], month_ms(T0)) == 14_400_000_000


def test_burn_is_zero_without_a_budget_and_nothing_is_said() -> None:
    spends = dict.fromkeys(WINDOWS, 10 * NANO)
    assert burn_rate(10 * NANO, 0.0, WINDOWS["1h"], month_ms(T0)) == 0.0
    assert evaluate(spends, 0.0, month_ms(T0)) == []


def _needed(pair: BurnPair, window: str, budget: float = 720.0) -> int:
    return spend_needed(pair.threshold, budget, WINDOWS[window], month_ms(T0))


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.name)
@pytest.mark.parametrize("which", ["long", "short"])
@pytest.mark.parametrize(("delta", "fires"), [(-1, False), (0, True), (1, True)])
def test_each_pair_fires_exactly_at_its_threshold_on_each_window(
    pair: BurnPair, which: str, delta: int, fires: bool
) -> None:
    month = month_ms(T0)
    spends = dict.fromkeys(WINDOWS, 0)
    other = pair.short if which == "long" else pair.long
    spends[other] = _needed(pair, other) * 2  # well over: the window under test decides
    spends[getattr(pair, which)] = _needed(pair, getattr(pair, which)) + delta
    rule = next(v for v in evaluate(spends, 720.0, month) if v.rule == pair.rule)
    assert (rule.verdict == "raise") is fires
    if fires:
        assert rule.pair == pair
    else:  # one window at or over, the other under: neither raise nor resolve
        assert rule.verdict == "hold"


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.name)
def test_a_rule_resolves_only_when_both_windows_of_every_pair_are_below(pair: BurnPair) -> None:
    month = month_ms(T0)
    spends = {w: _needed(pair, w) - 1 for w in WINDOWS}
    spends.update({w: 0 for w in WINDOWS if w not in (pair.long, pair.short)})
    verdicts = {v.rule: v.verdict for v in evaluate(spends, 720.0, month)}
    assert verdicts[pair.rule] == "resolve"
    spends[pair.short] += 1
    verdicts = {v.rule: v.verdict for v in evaluate(spends, 720.0, month)}
    assert verdicts[pair.rule] == "hold"


def test_headroom_is_the_spend_that_makes_the_nearest_pair_fire() -> None:
    month = month_ms(T0)
    spends = dict.fromkeys(WINDOWS, 0)
    room = headroom(spends, 720.0, month)
    # new spend lands in every window: the 5 min window of the 1 h page needs the most ($1.20
    # vs $14.40 in 1 h: the long one), the 6 h page $36, the ticket $72
    assert room == _needed(PAGE_1H, "1h")
    after = {w: room for w in WINDOWS}
    assert {v.rule: v.verdict for v in evaluate(after, 720.0, month)}["page"] == "raise"
    before = {w: room - 1 for w in WINDOWS}
    assert {v.rule: v.verdict for v in evaluate(before, 720.0, month)}["page"] != "raise"


# -------------------------------------------------------- the minute windows
@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 6 * 24 * 60 * MS_PER_MINUTE), st.integers(0, 5 * NANO)),
        max_size=120,
    ),
    st.integers(0, 7 * 24 * 60 * MS_PER_MINUTE),
    st.sampled_from(sorted(WINDOWS.values())),
)
def test_windows_equal_a_brute_force_recount(
    entries: list[tuple[int, int]], now: int, width: int
) -> None:
    recent = RecentSpend()
    for ts, nanos in entries:
        recent.add("d", ts, nanos)
    got = recent.spend("d", now, width)
    if not entries:
        assert got == 0
        return
    newest = max(ts for ts, _ in entries) // MS_PER_MINUTE
    now_min, w = now // MS_PER_MINUTE, width // MS_PER_MINUTE
    want = sum(
        n
        for ts, n in entries
        if now_min - w < ts // MS_PER_MINUTE <= now_min
        and ts // MS_PER_MINUTE > newest - HORIZON_MIN
    )
    assert got == want
    # the checkpoint rows give the same answers and the same rows, in whatever order they came
    again = RecentSpend()
    for row in reversed(recent.rows()):
        again.add_row(*row)
    assert again.spend("d", now, width) == got
    assert again.rows() == recent.rows()


def test_a_long_history_keeps_only_the_horizon() -> None:
    recent = RecentSpend()
    for minute in range(0, 30 * 24 * 60, 3):  # a month of spend every 3 minutes
        recent.add("d", minute * MS_PER_MINUTE, NANO)
    series = recent.departments["d"]
    assert len(series.minutes) <= HORIZON_MIN // 3 + 1024
    now = 30 * 24 * 60 * MS_PER_MINUTE
    # minutes 38883 ... 43197 (every third) are in (43200 - 4320, 43200]
    assert recent.spend("d", now, WINDOWS["3d"]) == 1439 * NANO
    assert recent.spend("d", now, WINDOWS["1h"]) == 19 * NANO  # 43143 ... 43197


# ------------------------------------------------------------- the ledger
def make(data_dir: Path, clock: FakeClock, budget: float = 720.0) -> CostTracker:
    alerts = AlertManager(data_dir, clock=clock, channels=[])
    t = CostTracker(data_dir, clock=clock, alert_manager=alerts)
    t.set_department_budget("ops", budget)
    return t


def burn_alerts(t: CostTracker, resolved: bool | None = False) -> list[Alert]:
    am = t.alert_manager
    am.refresh()
    return [a for a in am.get_alerts(limit=500, resolved=resolved) if a.type == TYPE]


def spend(t: CostTracker, usd: float, ago: timedelta = timedelta(0)) -> None:
    """$usd for ops, recorded now, at ``ago`` before the clock (as a late entry would be)."""
    when = t.clock() - ago
    t.track_cost("a", "ops", model="sonnet", cost=usd, timestamp=when)


#: (pair, spend in its long window only, spend in both; dollars at the threshold) with a
#: budget of $720 in November: 1 h page: $14.40 in 1 h and $1.20 in 5 min; 6 h page: $36 in
#: 6 h and $3 in 30 min; ticket: $72 in 3 d and $6 in 6 h.
CASES = [
    (PAGE_1H, timedelta(minutes=30), 13.10, 1.30),  # long at threshold: 14.40
    (PAGE_6H, timedelta(hours=3), 32.50, 3.50),  # long: 36.00
    (TICKET, timedelta(days=2), 65.00, 7.00),  # long: 72.00
]


@pytest.mark.parametrize(
    ("pair", "ago", "older", "recent"), CASES, ids=lambda c: getattr(c, "name", "")
)
@pytest.mark.parametrize(("delta", "fires"), [(-1e-9, False), (0.0, True), (1e-9, True)])
def test_the_ledger_raises_each_pair_at_its_long_window_threshold(
    data_dir: Path,
    pair: BurnPair,
    ago: timedelta,
    older: float,
    recent: float,
    delta: float,
    fires: bool,
) -> None:
    clock = FakeClock(T0)
    t = make(data_dir, clock)
    spend(t, older + delta, ago)
    assert burn_alerts(t) == []
    spend(t, recent)
    raised = burn_alerts(t)
    if not fires:
        assert raised == []
        return
    (alert,) = raised
    assert (alert.level, alert.data["rule"], alert.data["window"]) == (
        pair.level,
        pair.rule,
        pair.name,
    )
    assert alert.data["department"] == "ops"
    assert alert.data["burn_long"] == pytest.approx(pair.threshold)
    assert alert.data["burn_short"] >= pair.threshold
    assert alert.fingerprint == f"{TYPE}|{pair.level}|department=ops"


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.name)
@pytest.mark.parametrize(("delta", "fires"), [(-1e-9, False), (0.0, True), (1e-9, True)])
def test_the_ledger_raises_each_pair_at_its_short_window_threshold(
    data_dir: Path, pair: BurnPair, delta: float, fires: bool
) -> None:
    clock = FakeClock(T0)
    t = make(data_dir, clock)
    short_usd = _needed(pair, pair.short) / NANO
    long_usd = _needed(pair, pair.long) / NANO
    # the long window well over, from spend just before the short window began
    spend(t, long_usd * 2, timedelta(milliseconds=WINDOWS[pair.short]))
    assert [a for a in burn_alerts(t) if a.data["rule"] == pair.rule] == []
    # early in the short window: the 6 h page is not raised by the 1 h page's 5 min window
    spend(t, short_usd + delta, timedelta(milliseconds=WINDOWS[pair.short]) - timedelta(minutes=1))
    raised = [a for a in burn_alerts(t) if a.data["rule"] == pair.rule]
    assert [a.data["window"] for a in raised] == ([pair.name] if fires else [])


def test_a_page_holds_while_one_window_burns_and_resolves_when_both_stop(data_dir: Path) -> None:
    clock = FakeClock(T0)
    t = make(data_dir, clock)
    spend(t, 13.10, timedelta(minutes=30))
    spend(t, 1.30)
    (page,) = burn_alerts(t)
    clock.advance(minutes=5)  # the 5 min window is empty, the 1 h one still at 14.4x: holds
    t.check_budgets()
    assert [a.id for a in burn_alerts(t)] == [page.id]
    clock.advance(minutes=56)  # both windows of the pair below (and the 6 h page never fired)
    t.check_budgets()
    assert burn_alerts(t) == []
    (gone,) = burn_alerts(t, resolved=True)
    assert gone.id == page.id and gone.data["rule"] == "page"


def test_the_page_resolves_without_touching_an_open_ticket(data_dir: Path) -> None:
    clock = FakeClock(T0)
    t = make(data_dir, clock)
    spend(t, 80.0, timedelta(hours=7))  # the ticket's 3 d window, not its 6 h one
    spend(t, 15.0)  # 1 h page and the ticket's 6 h window
    assert sorted(a.data["rule"] for a in burn_alerts(t)) == ["page", "ticket"]
    clock.advance(minutes=61)
    t.check_budgets()
    assert [a.data["rule"] for a in burn_alerts(t)] == ["ticket"]
    assert [a.data["rule"] for a in burn_alerts(t, resolved=True)] == ["page"]


def test_the_same_hour_pages_in_february_but_not_in_january(tmp_path: Path) -> None:
    # $14.40 in the last hour against $744: 14.4x in a 31-day January, 13.0x in February
    for when, fires in (
        (datetime(2026, 1, 20, tzinfo=UTC), True),
        (datetime(2026, 2, 20, tzinfo=UTC), False),
    ):
        clock = FakeClock(when)
        t = make(tmp_path / when.strftime("%b"), clock, budget=744.0)
        spend(t, 14.40)
        assert bool(burn_alerts(t)) is fires
        (rates,) = [b for b in t.get_burn_rates() if b.department == "ops"]
        assert rates.shown == pytest.approx(14.4 if fires else 14.4 * 672 / 744)


def test_the_3d_window_reaches_into_the_previous_month(data_dir: Path) -> None:
    # the budget is November's; the spend in the window is the ledger's, whatever month
    clock = FakeClock(datetime(2026, 10, 30, 12, 0, tzinfo=UTC))
    t = make(data_dir, clock)
    spend(t, 65.0)  # October's ticket needs $69.68 (a $720 budget over 31 days)
    t.close()
    clock.now = datetime(2026, 11, 1, 1, 30, tzinfo=UTC)
    # only track_cost: it reads November's files and the 3 days before
    fresh = CostTracker(
        data_dir, clock=clock, alert_manager=AlertManager(data_dir, clock=clock, channels=[])
    )
    spend(fresh, 8.0)
    (ticket,) = [a for a in burn_alerts(fresh) if a.data["rule"] == "ticket"]
    assert (ticket.level, ticket.data["window"]) == ("warning", "3d/6h")
    assert ticket.data["burn_long"] == pytest.approx(73.0 / 72.0)


def test_burn_rates_survive_the_checkpoint(data_dir: Path) -> None:
    clock = FakeClock(T0)
    t = make(data_dir, clock)
    for minutes in (4000, 300, 45, 2):
        spend(t, 1.25, timedelta(minutes=minutes))
    t.save_checkpoint()
    t.close()
    from_checkpoint = make(data_dir, clock)
    assert from_checkpoint.get_burn_rates() and from_checkpoint._agg.recent.rows()
    (data_dir / ledger_checkpoint.PATH).unlink()
    rebuilt = make(data_dir, clock)
    assert from_checkpoint.get_burn_rates() == rebuilt.get_burn_rates()
    assert from_checkpoint._agg.recent.rows() == rebuilt._agg.recent.rows()
    (ops,) = [b for b in rebuilt.get_burn_rates() if b.department == "ops"]
    assert ops.rates["5m"] == pytest.approx(1.25 * 12)  # $1.25 in 5 min against $1/h
    assert ops.rates["3d"] == pytest.approx(5.0 / 72)


def test_metrics_export_the_burn_rate_per_department_and_window(
    data_dir: Path, clock: FakeClock
) -> None:
    c = core.open(data_dir, clock=clock)  # type: ignore[arg-type]
    c.tracker.set_department_budget("ops", 720.0)
    c.tracker.track_cost("a", "ops", model="sonnet", cost=2.10)
    expo = Exposition(c.journal)
    expo.collect()
    text = expo.render(gauges_from(c.tracker, []))
    c.close()
    assert "# TYPE werkpilot_department_burn_rate gauge" in text
    assert 'werkpilot_department_burn_rate{department="ops",window="1h"} 2.1' in text
    assert 'werkpilot_department_burn_rate{department="ops",window="3d"} 0.029166' in text
    assert 'werkpilot_department_burn_rate{department="sales",window="5m"} 0' in text


# ------------------------------------------------------------ deploy rules
def test_the_fleet_rules_check_with_promtool(tmp_path: Path) -> None:
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (apt-get install prometheus)")
    rules = ROOT / "deploy" / "werkpilot-rules.yml"
    out = subprocess.run([promtool, "check", "rules", str(rules)], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    text = rules.read_text()
    for window in WINDOWS:
        assert f"werkpilot:department_burn_rate:{window}" in text
    assert "werkpilot_department_burn_rate_page" in text
    assert "werkpilot_department_burn_rate_ticket" in text
    # summed across hosts: two hosts at 8x page together (deploy/werkpilot-rules.test.yml)
    tests = rules.with_name("werkpilot-rules.test.yml")
    out = subprocess.run(
        [promtool, "test", "rules", tests.name], capture_output=True, text=True, cwd=tests.parent
    )
    assert out.returncode == 0, out.stdout + out.stderr
