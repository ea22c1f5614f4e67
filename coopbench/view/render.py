"""The run page and the job pages as HTML (``templates``), with the style and script inlined."""

from functools import cache

from jinja2 import Environment, Template
from markupsafe import Markup

from coopbench.export.report.tables import cost_text  # the report's rule: unknown is never $0
from coopbench.view import templates
from coopbench.view.assets import JOB_SCRIPT, RUN_SCRIPT, STYLE
from coopbench.view.job_data import JobPage
from coopbench.view.run_rows import RunListing


@cache
def _template(source: str) -> Template:
    """Compiled once: a run's thousands of job pages share it."""
    env = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
    env.globals.update(cost=cost_text, money=money, tokens=tokens, style=Markup(STYLE))
    return env.from_string(source)


def render_run_page(listing: RunListing) -> str:
    return _template(templates.RUN_PAGE).render(
        run=listing.run, rows=listing.rows, repeats=listing.repeats, choices=listing.choices,
        script=Markup(RUN_SCRIPT))


def render_job_page(page: JobPage) -> str:
    sent, received = {}, {}
    for link in page.links:
        sent.setdefault((link.sender, link.sender_step), []).append(link)
        if link.delivered:
            received.setdefault((link.receiver, link.receiver_step), []).append(link)
    return _template(templates.JOB_PAGE).render(
        page=page, row=page.row, sent=sent, received=received, script=Markup(JOB_SCRIPT))


def money(usd: float | None) -> str:
    return "unknown" if usd is None else f"{usd:.4f}"


def tokens(count: int) -> str:
    return f"{count / 1000:.1f}k" if count >= 1000 else str(count)
