"""The pages in headless chromium, on the synthetic coop job (messages both ways, one never
read, conflicting patches): the DOM after the page's own script ran, and screenshots
written to ``<tmp_path>/screenshots/`` (synthetic-job.png, synthetic-run.png)."""

import pytest
from PIL import Image

from coopbench.view.pages import write_pages
from tests.export.synthetic_run import RUN
from tests.view import synthetic_job
from tests.view.browser import check_job_dom, dump_dom, elements, screenshot

SQLITE_ONLY = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def pages(store, tmp_path):
    job = synthetic_job.build_run(store)
    write_pages(store, RUN, tmp_path / "view")
    return tmp_path / "view", job


@SQLITE_ONLY
def test_a_coop_job_page_in_the_browser(pages, tmp_path):
    out, job = pages
    url = (out / "jobs" / f"{job}.html").as_uri()
    dom = dump_dom(url, tmp_path / "profile")
    check_job_dom(dom, ["agent1", "agent2"], [(1, "agent1", 1, "agent2", 2), (2, "agent2", 2, "agent1", 3)], [3])
    assert 'id="merge"' in dom and "conflicts" in dom and "naive merge</b> conflicted" in dom
    assert [(f["data-feature"], f["data-passed"]) for f in elements(dom, "tr") if "data-feature" in f] == [
        ("1", "yes"), ("2", "no")]
    assert len(elements(dom, "div", "conflict")) == 4

    shot = screenshot(url, tmp_path / "screenshots" / "synthetic-job.png", tmp_path / "profile")
    with Image.open(shot) as image:
        colours = image.convert("RGB").getcolors(maxcolors=1 << 20)
    assert sum(n for n, c in colours if c == (0xC6, 0x28, 0x28)) > 500  # conflict borders, undelivered


@SQLITE_ONLY
@pytest.mark.parametrize("query,shown", [
    ("", 16), ("?setting=coop", 6), ("?setting=coop&outcome=failed", 2), ("?outcome=passed&repo=demo_task", 6),
    # costs $: 0.5 x3, 0.75 x2, 1, 0.625 from 0.5 up; 0.05, 0.125 x2 up to 0.2; unknown never shown
    ("?cost_min=0.5", 7), ("?cost_max=0.2", 3),
    # worker minutes: 10, 11, 12, 11 from 10 up; seven jobs of 5 minutes or less up to 5.5
    ("?duration_min=10", 4), ("?duration_max=5.5", 7),
])
def test_the_run_pages_filters_in_the_browser(pages, tmp_path, query, shown):
    out, job = pages
    url = (out / "index.html").as_uri() + query
    dom = dump_dom(url, tmp_path / "profile")
    rows = [r for r in elements(dom, "tr") if "data-job" in r]
    assert len(rows) == 16
    assert len([r for r in rows if "hidden" not in r]) == shown, query
    assert f"{shown} of 16 jobs shown" in dom
    for name in ("setting", "outcome", "repo"):
        assert elements(dom, "select", None) and f'id="filter-{name}"' in dom
    for name in ("cost-min", "cost-max", "duration-min", "duration-max"):
        assert f'id="filter-{name}"' in dom
    if not query:
        assert f'href="jobs/{job}.html"' in dom
        screenshot(url, tmp_path / "screenshots" / "synthetic-run.png", tmp_path / "profile", (1400, 900))
