"""The CLI's per-setting table."""

from rich.console import Console

from coopbench.export.summary_table import settings_table


def render(manifest: dict) -> list[str]:
    console = Console(width=200, record=True)
    console.print(settings_table(manifest))
    return [line.rstrip() for line in console.export_text().splitlines()]


def test_the_table_shows_the_success_rate(exported):
    manifest, _ = exported
    lines = render(manifest)
    header = next(line for line in lines if "setting" in line)
    assert header.split("┃")[1:-1][6:8] == ["  rate ", " success "]
    coop = next(line for line in lines if "│ coop " in line).split("│")[1:-1]
    assert [cell.strip() for cell in coop] == [
        "coop", "6", "4", "8", "3", "2", "0.667", "0.4", "1", "2.5", "900"]


def test_the_table_fits_110_columns_for_a_full_size_run(exported):
    manifest, _ = exported
    big = {"pairs": 652, "done": 652, "patches": 1304, "evaluated": 650, "both_passed": 185,
           "pass_rate": 0.2846, "success_rate": 0.2837, "infra_errors": 10,
           "total_cost": 1234.567891, "wall_time_seconds": 51234.123}
    manifest = {**manifest, "settings": {"coop-nocomm": {**manifest["settings"]["coop"], **big}}}
    assert max(len(line) for line in render(manifest)) <= 110
