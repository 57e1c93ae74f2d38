"""``[keys]``: bindings carry ids, the config remaps them, the palette shows the key in use."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from app_support import app_for, loaded, seed, wait_for
from textual.widgets import DataTable

from core.config import load_config
from werkpilot_tui.console.palette_commands import BOUND, WerkpilotCommands, binding_ids
from werkpilot_tui.console.widgets.alert_feed import AlertFeed

SIZE = (120, 40)


def _state(feed: DataTable[Any], key: str) -> str:
    return str(feed.get_row(key)[2])


def test_every_palette_key_command_names_a_binding_id() -> None:
    from werkpilot_tui.console.app import WerkpilotApp

    ids = binding_ids(WerkpilotApp)
    assert set(BOUND) <= ids
    assert {"app.quit", "dashboard.acknowledge", "dashboard.snooze"} <= ids


def test_keys_table_is_read_from_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "werkpilot.toml"
    path.write_text('[keys]\n"dashboard.acknowledge" = "k"\n', encoding="utf-8")
    assert load_config(path, env={}).keys == {"dashboard.acknowledge": "k"}


async def test_a_remapped_key_acts_and_the_palette_shows_it(
    data_dir: Path, clock: Any, tmp_path: Path
) -> None:
    path = tmp_path / "werkpilot.toml"
    path.write_text(
        '[keys]\n"dashboard.acknowledge" = "k"\n"no.such.binding" = "z"\n', encoding="utf-8"
    )
    ids = seed(data_dir, clock)
    async with app_for(data_dir, clock, config=load_config(path, env={})).run_test(
        size=SIZE
    ) as pilot:
        app = await loaded(pilot)
        helps = {t: h for t, _, h in WerkpilotCommands(app.screen)._commands()}
        assert helps["alert: acknowledge"].endswith("(k)")
        assert helps["view: costs"].endswith("(c)") and helps["view: help"].endswith("(?)")
        assert any("no.such.binding" in n.message for n in app._notifications)
        feed = app.screen.query_one("#alerts", AlertFeed)
        feed.focus()
        feed.select_key(ids["warning"])
        await pilot.press("a")  # no longer acknowledges
        await pilot.pause(0.3)
        assert "ack" not in _state(feed, ids["warning"])
        await pilot.press("k")
        await wait_for(pilot, lambda: "ack" in _state(feed, ids["warning"]))
