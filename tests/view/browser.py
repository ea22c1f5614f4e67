"""Debian's chromium, headless, on a page (``scripts/setup-browser.sh`` installs it): a
screenshot, and the DOM after the page's own script ran; the DOM's elements read back with
the standard library's parser."""

import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
         "--virtual-time-budget=3000"]  # the page's script runs before the dump or the shot


def chromium() -> str:
    found = shutil.which("chromium")
    assert found, "chromium is not installed (scripts/setup.sh runs scripts/setup-browser.sh)"
    return found


def screenshot(url: str, shot: Path, profile: Path, size: tuple[int, int] = (1400, 1800)) -> Path:
    shot.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
                    f"--window-size={size[0]},{size[1]}", url],
                   capture_output=True, timeout=120, check=True)
    assert shot.stat().st_size > 10_000, "an empty screenshot"
    return shot


def dump_dom(url: str, profile: Path, size: tuple[int, int] = (1400, 1800)) -> str:
    done = subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                           f"--window-size={size[0]},{size[1]}", url],
                          capture_output=True, text=True, timeout=120, check=True)
    return done.stdout


class _Elements(HTMLParser):
    def __init__(self):
        super().__init__()
        self.found: list[tuple[str, dict]] = []

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, {k: v or "" for k, v in attrs}))


def elements(dom: str, tag: str, css_class: str | None = None) -> list[dict]:
    """The attributes of every ``tag`` (with ``css_class`` among its classes) in the DOM."""
    parser = _Elements()
    parser.feed(dom)
    return [attrs for name, attrs in parser.found if name == tag
            and (css_class is None or css_class in attrs.get("class", "").split())]


def check_job_dom(dom: str, agents: list[str], links: list[tuple], undelivered: list[int]) -> None:
    """The elements that matter on a job page: one column per agent, one line per delivered
    message from its sender's step to its receiver's, each undelivered one marked, the merge
    and tests, a highlighted conflicting hunk. ``links``: (number, sender, step, receiver, step)."""
    assert [c["data-agent"] for c in elements(dom, "div", "col-head")] == agents
    lines = {int(p["data-msg"]): p for p in elements(dom, "path", "link")}
    for number, sender, sent, receiver, got in links:
        line = lines[number]
        assert (line["data-from"], line["data-from-step"], line["data-to"], line["data-to-step"]) == (
            sender, str(sent), receiver, str(got)), number
        assert "undelivered" not in line["class"]
    for number in undelivered:
        assert "undelivered" in lines[number]["class"].split()
        assert [m["data-msg"] for m in elements(dom, "text", "undelivered-mark")].count(str(number)) == 1
    assert len(lines) == len(links) + len(undelivered)
    steps = {(s["data-agent"], s["data-step"]) for s in elements(dom, "details", "step")}
    for _, sender, sent, receiver, got in links:
        assert (sender, str(sent)) in steps and (receiver, str(got)) in steps
    assert all("open" not in s for s in elements(dom, "details", "step"))  # collapsed by default
