"""The run page and the job pages from a store: what they read, the files written, the
pages served, and the errors of ``coopbench view``."""

import socket
import subprocess
import threading
import urllib.error
import urllib.request
from dataclasses import replace

import pytest
from sqlalchemy import update

from coopbench.errors import ConfigError
from coopbench.store import Job
from coopbench.view.job_data import load_job_page
from coopbench.view.pages import write_pages
from coopbench.view.render import render_job_page, render_run_page
from coopbench.view.run_rows import load_run_listing
from coopbench.view.server import PortInUse, make_server
from tests.conftest import COOPBENCH
from tests.export.synthetic_run import RUN, add_run, build
from tests.support.env import clean_env
from tests.view import synthetic_job


@pytest.fixture
def coop_job(store) -> str:
    return synthetic_job.build_run(store)


def test_the_run_page_lists_every_job_with_its_filters(store, coop_job):
    listing = load_run_listing(store, RUN)
    assert len(listing.rows) == 16 and not listing.repeats
    assert listing.choices["setting"] == ["solo", "coop", "coop-nocomm"]
    assert set(listing.choices["outcome"]) == {"passed", "failed", "eval error", "infra error", "config error",
                                               "running", "queued"}
    assert listing.choices["repo"] == ["demo_task"]
    pages = {r.job_id for r in listing.rows if r.has_page}
    assert coop_job in pages and len(pages) == 12  # the done jobs
    html = render_run_page(listing)
    assert f'href="jobs/{coop_job}.html"' in html and html.count('href="jobs/') == 12
    assert "<th class=\"n\">repeat</th>" not in html


def test_a_run_with_repeats_shows_them(store, coop_job):
    with store.session() as session, session.begin():
        session.execute(update(Job).where(Job.id == coop_job).values(repeat=2))
    listing = load_run_listing(store, RUN)
    assert listing.repeats
    assert "<th class=\"n\">repeat</th>" in render_run_page(listing)


def test_a_coop_jobs_page(store, coop_job):
    page = load_job_page(store, RUN, coop_job)
    assert [a.agent_id for a in page.agents] == ["agent1", "agent2"]
    assert [(m.sender, m.sender_step, m.receiver, m.receiver_step) for m in page.links] == [
        ("agent1", 1, "agent2", 2), ("agent2", 2, "agent1", 3), ("agent2", 3, "agent1", None)]
    assert (page.merge.status, page.merge.strategy, page.merge.naive_conflict) == ("conflicts", "solo-agent1", True)
    assert [(f.feature_id, f.passed) for f in page.features] == [(1, True), (2, False)]
    assert page.conflicting_hunks == 4


def test_a_solo_jobs_page_has_one_column_and_no_merge(store, coop_job):
    solo = next(r for r in load_run_listing(store, RUN).rows if r.report.setting == "solo" and r.has_page)
    page = load_job_page(store, RUN, solo.job_id)
    assert [a.agent_id for a in page.agents] == ["solo"]
    assert page.links == [] and page.merge.status is None and page.conflicting_hunks == 0


def test_a_job_of_another_run_is_not_found(store, coop_job):
    with pytest.raises(ConfigError, match="has no job"):
        load_job_page(store, RUN, "00000000-0000-0000-0000-000000000000")


def test_written_pages_link_to_each_other_and_stand_alone(store, coop_job, tmp_path):
    index, written = write_pages(store, RUN, tmp_path / "view")
    assert index == tmp_path / "view" / "index.html" and written == 12
    job_html = (tmp_path / "view" / "jobs" / f"{coop_job}.html").read_text()
    assert 'href="../index.html"' in job_html
    for page in [index, *(tmp_path / "view" / "jobs").iterdir()]:
        text = page.read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "") and "https://" not in text
    assert not list((tmp_path / "view").rglob(".*.tmp"))


def test_the_pages_served(store, coop_job):
    server = make_server(store, RUN, "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        assert coop_job in urllib.request.urlopen(f"{base}/").read().decode()
        job = urllib.request.urlopen(f"{base}/jobs/{coop_job}.html").read().decode()
        assert 'id="timeline"' in job and 'data-delivered="no"' in job
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(f"{base}/jobs/00000000-0000-0000-0000-000000000000.html")
        assert missing.value.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_a_port_in_use_is_refused(store, coop_job):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        with pytest.raises(PortInUse, match=f"port {taken.getsockname()[1]} on 127.0.0.1 is in use"):
            make_server(store, RUN, "127.0.0.1", taken.getsockname()[1])


def view(database_url: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([COOPBENCH, "--database-url", database_url, "view", *args], env=clean_env(),
                          capture_output=True, text=True, timeout=120)


def test_the_command_writes_pages_and_refuses_bad_input(store, database_url, coop_job, tmp_path):
    done = view(database_url, "--run", RUN, "--out", str(tmp_path / "v"))
    assert done.returncode == 0, done.stderr
    assert f"wrote {tmp_path / 'v' / 'index.html'} and 12 job pages" in done.stdout.replace("\n", "")

    unknown = view(database_url, "--run", "nope", "--out", str(tmp_path / "x"))
    assert unknown.returncode == 2 and "run 'nope' is not in the store" in unknown.stderr
    with store.session() as session, session.begin():
        add_run(session, "empty")
    empty = view(database_url, "--run", "empty")
    assert empty.returncode == 2 and "run 'empty' has no jobs" in empty.stderr
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = view(database_url, "--run", RUN, "--port", str(port))
    assert busy.returncode == 2 and f"port {port} on 127.0.0.1 is in use" in busy.stderr
    assert not (tmp_path / "x").exists()


def test_a_gold_check_run_has_no_pages(store):
    build(store, [], name="gold", settings=("gold",))
    with pytest.raises(ConfigError, match="gold check"):
        load_run_listing(store, "gold")


def test_a_page_takes_any_number_of_agents(store, coop_job):
    page = load_job_page(store, RUN, coop_job)
    third = replace(page.agents[1], agent_id="agent3", feature_ids=[3])
    html = render_job_page(replace(page, agents=[*page.agents, third],
                                   rows={**page.rows, **{("agent3", n): r for (a, n), r in page.rows.items()
                                                         if a == "agent2"}}))
    assert html.count('class="col-head"') == 3 and "repeat(3, minmax(" in html
    assert 'id="step-agent3-4"' in html
