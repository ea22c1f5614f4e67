"""``coopbench report``: the export tests' synthetic run as a page with its images, the
figures checked against the exporter's, and the page looked at in headless chromium."""

import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from sqlalchemy import update

from coopbench.errors import ConfigError
from coopbench.export.report import PAGE_NAME, write_report
from coopbench.export.report.data import JobRow, gap_matrix, load_report_data
from coopbench.export.report.plots import PLOTS
from coopbench.export.run_export import export_run
from coopbench.export.summary_table import COLUMNS, format_figure
from coopbench.job.setting import job_id
from coopbench.store import AgentRun, Job
from tests.conftest import COOPBENCH
from tests.export.synthetic_run import REPO, RUN, SPECS, TASK, WRITE_FAILED, Spec, build
from tests.support.env import clean_env

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
MESSAGES = {((1, 2), "agent1"): 3, ((1, 2), "agent2"): 2, ((1, 3), "agent1"): 4,
            ((1, 4), "agent1"): 1, ((1, 4), "agent2"): 1}  # coop pairs only
EVAL_ERROR_ORANGE = (0xEF, 0x6C, 0x00)  # the success plot's "eval error" bar


def agent_run(session, setting: str, features: tuple, agent_id: str,
              run: str = RUN):
    """An UPDATE of one agent's row of a done job, and the job."""
    job = session.get(Job, job_id(run, REPO, TASK, features, setting))
    return (update(AgentRun).where(AgentRun.attempt_id == job.agents_attempt_id,
                                   AgentRun.agent_id == agent_id), job)


@pytest.fixture
def syn(store):
    """The synthetic run, plus what it lacks: messages in coop, one agent of unknown cost."""
    build(store)
    with store.session() as session, session.begin():
        for (features, agent_id), sent in MESSAGES.items():
            statement, _ = agent_run(session, "coop", features, agent_id)
            session.execute(statement.values(messages_sent=sent))
        statement, job = agent_run(session, "coop-nocomm", (1, 3), "agent2")
        session.execute(statement.values(cost_usd=None))
        job.cost_usd = 0.25  # result.json's total_cost counts an unknown cost as 0
    return store


def read_page(out: Path) -> tuple[str, list[str]]:
    html = (out / PAGE_NAME).read_text()
    return html, re.findall(r'<img id="plot-[\w-]+" src="([^"]+)"', html)


def check_images(out: Path, html: str, images: list[str]) -> None:
    """Every image the page shows is a PNG of its stated size, and no other image is left."""
    assert sorted(images) == sorted(p.name for p in out.glob("*.png"))
    for name in images:
        width, height = map(int, re.search(
            rf'src="{re.escape(name)}" width="(\d+)" height="(\d+)"', html).groups())
        with Image.open(out / name) as image:
            assert image.format == "PNG" and image.size == (width, height)
            image.verify()
        assert 300 <= width <= 2000 and 150 <= height <= 2000, (name, width, height)
        assert (out / name).stat().st_size > 5000  # something is drawn on it
    assert not list(out.glob(".*.tmp"))


def screenshot(page: Path, shot: Path, profile: Path) -> Image.Image:
    chromium = shutil.which("chromium")
    assert chromium, "chromium is not installed (scripts/setup.sh installs it)"
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--user-data-dir={profile}", f"--screenshot={shot}", "--window-size=1280,2400",
                    page.resolve().as_uri()], capture_output=True, timeout=120, check=True)
    return Image.open(shot).convert("RGB")


@SQLITE_ONLY
def test_the_report_command_writes_a_page_a_browser_shows(syn, database_url, tmp_path):
    out = tmp_path / "report"
    done = subprocess.run([COOPBENCH, "--database-url", database_url, "report", "--run", RUN,
                           "--out", str(out)], env=clean_env(), capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
    assert f"wrote {out / PAGE_NAME}" in done.stdout.replace("\n", "")

    html, images = read_page(out)
    assert sorted(images) == sorted(f"report-{name}.png" for name in PLOTS)
    check_images(out, html, images)
    assert "<script" not in html and "http://" not in html and "https://" not in html  # offline
    # The per-setting table holds the CLI table's figures, row by row.
    manifest = export_run(syn, RUN, tmp_path / "export")
    for setting, figures in manifest["settings"].items():
        cells = [setting] + [format_figure(figures[key], d) for key, _, d in COLUMNS]
        row = "".join(rf"<td[^>]*>{re.escape(c)}</td>" for c in cells)
        assert re.search(row, html), setting
    assert 'class="n">+0.25</td>' in html  # the coop setting's coordination gap
    assert 'class="n">+0.3333</td>' in html  # coop-nocomm's: 2/3 solo, 1/3 coop-nocomm
    # 0.0.29's merge outcomes, per setting (solo, coop, coop-nocomm): coop's 1,3 passed on
    # the lead's patch alone, coop-nocomm's 1,4 had identical patches; no union any more.
    for title, cells in (("naive merge conflicted", (0, 1, 1)),
                         ("lead's patch alone passed", (0, 1, 0)),
                         ("identical patches", (0, 0, 1))):
        escaped = re.escape(title).replace("'", "(?:'|&#39;|&#x27;)")  # the page escapes it
        row = rf"<tr><td>{escaped}</td>" + "".join(
            rf'<td class="n">{n}</td>' for n in cells) + "</tr>"
        assert re.search(row, html), title
    assert "union" not in html
    assert "unknown" in html and "1 agent(s) ran a model" in html
    assert html.count("<tr><td>demo_task/7 f") == 6 + 16  # the pair grid and the job table

    shot = screenshot(out / PAGE_NAME, tmp_path / "screenshot.png", tmp_path / "chromium")
    assert shot.size == (1280, 2400)
    colours = shot.getcolors(maxcolors=1 << 20)
    assert len(colours) > 200  # text, tables and plots, not a blank or an error page
    assert sum(n for n, c in colours if c != (255, 255, 255)) > 0.05 * 1280 * 2400
    # The success plot was loaded and drawn: its eval-error bar is a solid block of orange.
    assert sum(n for n, c in colours if c == EVAL_ERROR_ORANGE) > 1000


def test_the_figures_are_the_exporters(syn, tmp_path):
    data = load_report_data(syn, RUN)
    manifest = export_run(syn, RUN, tmp_path / "export")
    assert data.settings == manifest["settings"]
    assert data.gap == manifest["coordination_gap"]
    for setting, gap in data.gap.items():  # the 2x2 counts are the gap's pairs
        counts = gap_matrix(data, setting)
        assert sum(counts.values()) == gap["pairs"]
        lost, gained = counts[(True, False)], counts[(False, True)]
        assert round((lost - gained) / gap["pairs"], 4) == gap["gap"]
    assert gap_matrix(data, "coop") == {(True, True): 1, (True, False): 2, (False, True): 1,
                                        (False, False): 0}
    # 1,2 both pass; 1,4 solo only (identical patches failed feature 4); 1,3 neither
    assert gap_matrix(data, "coop-nocomm") == {(True, True): 1, (True, False): 1,
                                               (False, True): 0, (False, False): 1}

    rows: dict[tuple, JobRow] = {(j.setting, j.key[2]): j for j in data.jobs}
    assert len(rows) == len(manifest["jobs"]) == len(SPECS)
    assert rows[("coop", (1, 3))].duration_s == 11 * 60  # its lost first attempt took no time
    assert rows[("coop", (1, 3))].attempts == 2
    assert rows[("solo", (3, 4))].duration_s == 30 and rows[("solo", (3, 4))].outcome == "config error"
    assert rows[("coop", (3, 4))].duration_s is None and rows[("coop-nocomm", (2, 3))].duration_s is None
    assert rows[("coop", (2, 3))].outcome == "eval error"
    assert rows[("coop", (2, 3))].error == WRITE_FAILED  # upstream's evaluation error
    assert rows[("coop", (2, 3))].merge_status == "error"
    assert rows[("coop-nocomm", (1, 4))].merge_status == "identical"
    assert rows[("coop-nocomm", (1, 4))].outcome == "failed"
    assert rows[("coop", (1, 2))].messages == 5
    unknown = rows[("coop-nocomm", (1, 3))]
    assert (unknown.cost_usd, unknown.cost_unknown_agents) == (0.25, 1)
    assert sum(1 for a in data.agents if a.cost_usd is None) == 1


@SQLITE_ONLY
@pytest.mark.parametrize("specs, settings, notes", [
    ([], ("solo", "coop"), 5),
    ([Spec("solo", (1, 2), state="queued")], ("solo",), 4),
    ([s for s in SPECS if s.setting == "coop"], ("coop",), 2),
], ids=["no-jobs", "only-queued-solo", "only-coop"])
def test_a_run_with_little_data_still_gets_a_page(store, tmp_path, specs, settings, notes):
    build(store, specs, name="little", settings=settings)
    out = tmp_path / "report"
    out.mkdir()
    (out / "report-gap.png").write_bytes(b"an image of an earlier report")
    write_report(store, "little", out)
    html, images = read_page(out)
    assert html.count('<p class="nodata" id="plot-') == notes
    assert len(images) == len(PLOTS) - notes
    check_images(out, html, images)
    if not specs:
        assert "No data: the run has no jobs." in html
    if settings == ("coop",):
        assert "No data: the run has no solo jobs to compare with." in html
        assert "No data: no coop pair sent a message." in html


@SQLITE_ONLY
def test_an_unknown_run_is_an_error_naming_the_runs(syn, database_url, tmp_path):
    out = tmp_path / "report"
    done = subprocess.run([COOPBENCH, "--database-url", database_url, "report", "--run", "nope",
                           "--out", str(out)], capture_output=True, text=True, timeout=300,
                          env=clean_env())
    assert done.returncode == 2
    assert "run 'nope' is not in the store" in done.stderr and "runs there: syn" in done.stderr
    assert not out.exists()  # nothing written

    build(syn, [], name="gold-abc", settings=("gold",))
    with pytest.raises(ConfigError, match="gold check"):
        write_report(syn, "gold-abc", out)
    assert not out.exists()


@SQLITE_ONLY
def test_a_large_run_draws_histograms_and_hours(store, tmp_path):
    """Past 40 pairs messages are a histogram; a multi-hour tail switches durations to hours."""
    rng = random.Random(7)
    pairs = [(a, b) for a in range(1, 13) for b in range(a + 1, 13)][:60]
    specs = []
    for index, features in enumerate(pairs):
        for setting in ("solo", "coop"):
            minutes = rng.lognormvariate(3, 1)  # a long tail: a few jobs take hours
            specs.append(Spec(setting, features, workers=("w1:1",), start=index, end=index + minutes,
                              merge=None if setting == "solo" else "clean", strategy="naive",
                              both=rng.random() < 0.5, costs=(0.5, 0.5)))
    build(store, specs, name="large", settings=("solo", "coop"))
    with store.session() as session, session.begin():
        for features in pairs:
            statement, _ = agent_run(session, "coop", features, "agent1", run="large")
            session.execute(statement.values(messages_sent=rng.randint(0, 12)))
    out = tmp_path / "report"
    write_report(store, "large", out)
    html, images = read_page(out)
    assert len(images) == len(PLOTS)
    check_images(out, html, images)
    assert re.search(r"<b>max</b> [\d.]+h over 120 jobs", html)
    assert html.count("<tr><td>demo_task/7 f") == 60 + 120
