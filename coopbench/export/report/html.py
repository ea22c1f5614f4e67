"""The report page: one Jinja template, no JavaScript, no external resource.

Every value is HTML-escaped (errors and pair names come from agents and datasets). Images
are referenced by file name: they sit next to the page. ``<details>`` folds long lists
without a script.
"""

from jinja2 import Environment

from coopbench.export.report import tables
from coopbench.export.report.data import ReportData, human_duration, percentile

OPEN_GRID_PAIRS = 40  # a longer pair grid starts folded

TEMPLATE = """\
{% macro table(t) %}
<div class="wide"><table>
<thead><tr>{% for c in t.head %}<th{% if c.css %} class="{{ c.css }}"{% endif %}>{{ c.text }}</th>{% endfor %}</tr></thead>
<tbody>
{% for row in t.rows %}
<tr>{% for c in row %}<td{% if c.css %} class="{{ c.css }}"{% endif %}{% if c.title %} title="{{ c.title }}"{% endif %}>{{ c.text }}</td>{% endfor %}</tr>
{% endfor %}
</tbody></table></div>
{% endmacro %}
{% macro image(name) %}
{% set v = images[name] %}
{% if v is string %}
<p class="nodata" id="plot-{{ name }}">No data: {{ v }}.</p>
{% else %}
<img id="plot-{{ name }}" src="{{ v[0] }}" width="{{ v[1] }}" height="{{ v[2] }}" alt="{{ name }} plot">
{% endif %}
{% endmacro %}
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>coopbench report: {{ run.name }}</title>
<style>
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #222; max-width: 1180px; margin: 24px auto; padding: 0 16px; }
h1 { font-size: 24px; margin-bottom: 4px; }
h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; } .meta b { color: #222; font-weight: 600; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; margin: 10px 0; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 3px 6px; white-space: nowrap; }
th { background: #f3f3f3; } th.n { white-space: normal; }
td.n, th.n { text-align: right; } tbody tr:nth-child(even) { background: #fafafa; }
td.err { white-space: normal; min-width: 200px; max-width: 320px; overflow-wrap: anywhere;
         color: #555; font-size: 12px; }
img { max-width: 100%; height: auto; display: block; margin: 10px 0; }
summary { cursor: pointer; color: #333; margin: 8px 0; }
.nodata { color: #666; background: #f6f6f6; border-left: 4px solid #bbb; padding: 8px 12px; }
.note { color: #555; font-size: 13px; }
.passed { color: #2e7d32; font-weight: 600; } .failed { color: #c62828; }
.eval-error { color: #ef6c00; } .infra-error { color: #6a1b9a; } .config-error { color: #795548; }
.cancelled, .queued, .missing { color: #888; } .running { color: #1e88e5; }
</style></head><body>
<h1>coopbench report: run {{ run.name }}</h1>
<p class="meta"><b>agent</b> {{ run.agent }} &middot; <b>model</b> {{ run.model or "none" }}
&middot; <b>settings</b> {{ run.settings | join(", ") }} &middot; <b>step limit</b>
{{ run.step_limit }} &middot; <b>cost limit</b> ${{ run.cost_limit_usd }}<br>
<b>dataset</b> {{ run.dataset }} &middot; <b>created</b> {{ run.created_at }} UTC &middot;
<b>report</b> {{ generated_at }} UTC</p>

<h2>Per setting</h2>
{% if settings.rows %}
{{ table(settings) }}
<p class="note">The figures of <code>coopbench export</code>. <b>rate</b> is upstream's pass rate
(evaluation errors left out of the denominator); <b>success</b> is the paper's success rate
(every finished pair counts, errors as failures); cost $ leaves out agents whose cost is
unknown.</p>
{{ table(more) }}
{% if certainty.rows %}
{{ table(certainty) }}
<p class="note">How sure the success rate is. Each pair is one unit of evidence: with one run
per pair, Wilson's score interval; with repeats (<code>enqueue --repeats</code>), a percentile
bootstrap that resamples pairs with all their runs (10,000 resamples, seeded). pass@k is the
unbiased estimator of Chen et al. (2021), averaged over pairs, for k up to the fewest runs a
pair has.</p>
{% endif %}
{% else %}
<p class="nodata">No data: the run has no jobs.</p>
{% endif %}

<h2>Success per setting</h2>
{{ image("success") }}

<h2>Coordination gap</h2>
{% if gap.rows %}
{{ table(gap) }}
<p class="note">Solo success minus coop success over the pairs done in both (the manifest's
<code>coordination_gap</code>); an evaluation error counts as a failure. With repeats, a pair's
success is the share of its runs that passed. The interval is a percentile bootstrap of the
paired differences, resampling pairs. The last two columns count runs matched by repeat.</p>
{% endif %}
{{ image("gap") }}
{% if grid.rows %}
<details{% if grid.rows | length <= open_grid_pairs %} open{% endif %}>
<summary>Outcome of each of the {{ grid.rows | length }} pairs in every setting</summary>
{{ table(grid) }}
</details>
{% endif %}

{% if differences.rows %}
<h2>Paired differences</h2>
{{ table(differences) }}
<p class="note">Every two settings of the run over the pairs done in both: the first's success
minus the second's (the manifest's <code>paired_differences</code>), with the 95 % interval of
a percentile bootstrap that resamples pairs. An interval that holds 0 does not tell the two
settings apart.</p>
{% endif %}

<h2>Cost and steps per setting</h2>
{{ image("cost-steps") }}
{% if unknown_cost %}
<p class="note">{{ unknown_cost }} agent(s) ran a model litellm could not price: their cost is
unknown, shown as such, and not counted as $0.</p>
{% endif %}

<h2>Job durations</h2>
{% if marks %}
<p>Worker time per finished job (its attempts added up): <b>p50</b> {{ marks.p50 }},
<b>p90</b> {{ marks.p90 }}, <b>max</b> {{ marks.max }} over {{ marks.jobs }} jobs.</p>
{% endif %}
{{ image("durations") }}

<h2>Messages per coop pair</h2>
{{ image("messages") }}

<h2>Jobs</h2>
{% if jobs.rows %}
{{ table(jobs) }}
{% else %}
<p class="nodata">No data: the run has no jobs.</p>
{% endif %}
</body></html>
"""


def render_page(data: ReportData, images: dict[str, tuple[str, int, int] | str]) -> str:
    """``images``: plot name -> (file name, width, height), or why there is no such plot."""
    template = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True).from_string(TEMPLATE)
    seconds = [j.duration_s for j in data.jobs if j.duration_s is not None]
    marks = seconds and {"p50": human_duration(percentile(seconds, 50)),
                         "p90": human_duration(percentile(seconds, 90)),
                         "max": human_duration(max(seconds)), "jobs": len(seconds)}
    return template.render(
        run=data.run, generated_at=data.generated_at.isoformat(timespec="seconds"), images=images,
        settings=tables.settings_table(data), more=tables.more_figures_table(data),
        certainty=tables.certainty_table(data), gap=tables.gap_table(data),
        differences=tables.differences_table(data),
        grid=tables.pair_grid(data), jobs=tables.jobs_table(data),
        open_grid_pairs=OPEN_GRID_PAIRS, marks=marks,
        unknown_cost=sum(1 for a in data.agents if a.cost_usd is None),
    )
