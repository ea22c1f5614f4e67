"""The two pages' Jinja templates. Every value is HTML-escaped (commands, outputs and
messages come from models); the style and the script come from ``assets``."""

RUN_PAGE = """\
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>coopbench view: {{ run.name }}</title>
<style>{{ style }}</style></head><body>
<h1>coopbench view: run {{ run.name }}</h1>
<p class="meta"><b>agent</b> {{ run.agent }} &middot; <b>model</b> {{ run.model or "none" }}
&middot; <b>settings</b> {{ run.settings | join(", ") }} &middot; <b>step limit</b> {{ run.step_limit }}
&middot; <b>cost limit</b> ${{ run.cost_limit_usd }} &middot; <b>created</b> {{ run.created_at }} UTC</p>
<form id="filters" autocomplete="off">
{% for name, values in choices.items() %}
<label>{{ name }}<select name="{{ name }}" id="filter-{{ name }}"><option value="">all</option>
{% for v in values %}<option value="{{ v }}">{{ v }}</option>{% endfor %}</select></label>
{% endfor %}
<label>cost $ from<input type="number" step="any" min="0" name="cost_min" id="filter-cost-min"></label>
<label>cost $ to<input type="number" step="any" min="0" name="cost_max" id="filter-cost-max"></label>
<label>duration (min) from<input type="number" step="any" min="0" name="duration_min" id="filter-duration-min"></label>
<label>duration (min) to<input type="number" step="any" min="0" name="duration_max" id="filter-duration-max"></label>
<button type="reset">clear</button>
<span id="shown">{{ rows | length }} jobs</span>
</form>
<div class="wide"><table id="jobs">
<thead><tr><th>pair</th><th>setting</th>{% if repeats %}<th class="n">repeat</th>{% endif %}<th>repo</th>
<th>state</th><th>outcome</th><th>merge</th><th class="n">cost $</th><th class="n">duration</th>
<th class="n">messages</th><th>error</th></tr></thead>
<tbody>
{% for r in rows %}
<tr data-job="{{ r.job_id }}" data-setting="{{ r.report.setting }}" data-outcome="{{ r.report.outcome }}"
 data-repo="{{ r.repo }}" data-cost="{{ '' if r.report.cost_usd is none else r.report.cost_usd }}"
 data-duration="{{ '' if r.report.duration_s is none else r.report.duration_s }}">
<td>{% if r.has_page %}<a href="jobs/{{ r.job_id }}.html">{{ r.report.pair }}</a>{% else %}{{ r.report.pair }}{% endif %}</td>
<td>{{ r.report.setting }}</td>{% if repeats %}<td class="n">{{ r.repeat }}</td>{% endif %}<td>{{ r.repo }}</td>
<td>{{ r.report.state }}</td><td class="{{ r.report.outcome | replace(' ', '-') }}">{{ r.report.outcome }}</td>
<td>{{ r.report.merge_status or "" }}</td><td class="n">{{ cost(r.report) }}</td><td class="n">{{ r.duration }}</td>
<td class="n">{{ r.report.messages }}</td><td class="text" title="{{ r.report.error or '' }}">{{ (r.report.error or '')[:160] }}</td></tr>
{% endfor %}
</tbody></table></div>
<script>{{ script }}</script>
</body></html>
"""  # noqa: E501 - a template: an element per line reads better than one cut to fit

JOB_PAGE = """\
{% macro diff(files) %}
{% for f in files %}
<div class="diff"><div class="file">{{ f.path }}</div>
{% for h in f.hunks %}
<div class="hunk{% if h.conflicts_with %} conflict{% endif %}"{% if h.conflicts_with %} data-conflicts-with="{{ h.conflicts_with | sort | join(' ') }}"{% endif %}>
<div class="head">{{ h.header }}{% if h.conflicts_with %} &middot; conflicts with {{ h.conflicts_with | sort | join(", ") }}{% endif %}</div>
{% for line in h.lines %}<div class="l{% if line[:1] == '+' %} add{% elif line[:1] == '-' %} del{% endif %}">{{ line }}</div>{% endfor %}
</div>
{% endfor %}
</div>
{% else %}
<p class="nodata">Empty patch.</p>
{% endfor %}
{% endmacro %}
<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>coopbench view: {{ row.report.pair }} {{ row.report.setting }}</title>
<style>{{ style }}</style></head><body>
<p><a href="../index.html">&larr; run {{ page.run }}</a></p>
<h1>{{ row.report.pair }} &middot; {{ row.report.setting }}{% if row.repeat > 1 %} &middot; repeat {{ row.repeat }}{% endif %}</h1>
<p class="meta"><b>job</b> {{ row.job_id }} &middot; <b>state</b> {{ row.report.state }} &middot;
<b>outcome</b> <span id="outcome" class="{{ row.report.outcome | replace(' ', '-') }}">{{ row.report.outcome }}</span>
&middot; <b>cost</b> ${{ cost(row.report) }} &middot; <b>duration</b> {{ row.duration or "-" }}
&middot; <b>messages</b> {{ page.links | length }}</p>

<h2>Agents</h2>
<div class="wide">
<div class="timeline" id="timeline" style="grid-template-columns: repeat({{ page.agents | length }}, minmax(320px, 560px));">
{% for a in page.agents %}
<div class="col-head" data-agent="{{ a.agent_id }}" style="grid-column: {{ loop.index }}; grid-row: 1;">
<div class="who">{{ a.agent_id }}</div>
<div>feature{{ "s" if a.feature_ids | length > 1 }} {{ a.feature_ids | join(", ") }} &middot;
<span class="{{ 'passed' if a.status == 'Submitted' else 'failed' }}">{{ a.status }}</span> &middot;
{{ a.timeline.steps | length }} steps &middot; ${{ money(a.cost_usd) }} &middot;
{{ tokens(a.tokens) }} tokens</div>
{% if a.error %}<pre>{{ a.error }}</pre>{% endif %}
{% if a.timeline.prompt %}<details><summary>task</summary><pre>{{ a.timeline.prompt | join("\\n\\n") }}</pre></details>{% endif %}
</div>
{% endfor %}
{% for a in page.agents %}{% set col = loop.index %}
{% for s in a.timeline.steps %}
{% set out = sent.get((a.agent_id, s.number), []) %}{% set into = received.get((a.agent_id, s.number), []) %}
<details class="step{% if out %} sends{% endif %}{% if into %} receives{% endif %}" id="step-{{ a.agent_id }}-{{ s.number }}"
 data-agent="{{ a.agent_id }}" data-step="{{ s.number }}" style="grid-column: {{ col }}; grid-row: {{ page.rows[(a.agent_id, s.number)] + 1 }};">
<summary><span class="no">{{ s.number }}</span><span class="cmd">{{ (s.commands[0] if s.commands else s.thought)[:200] }}</span>
{% for m in into %}<span class="badge" title="{{ m.text }}">&larr; {{ m.sender }} #{{ m.number }}</span>{% endfor %}
{% for m in out %}<span class="badge{% if not m.delivered %} undelivered{% endif %}" title="{{ m.text }}">&rarr; {{ m.receiver }} #{{ m.number }}{% if not m.delivered %} &#x2715;{% endif %}</span>{% endfor %}
<span class="acc" title="this step: ${{ money(s.cost_usd) }}, {{ s.tokens }} tokens">${{ money(s.total_cost_usd) }} &middot; {{ tokens(s.total_tokens) }} tok</span></summary>
<div class="body">
{% if s.received %}<h4>shown before the call</h4><pre>{{ s.received | join("\\n\\n") }}</pre>{% endif %}
{% if s.thought %}<h4>thought</h4><pre>{{ s.thought }}</pre>{% endif %}
{% for c in s.commands %}<h4>command</h4><pre>{{ c }}</pre>{% endfor %}
{% if s.observation %}<h4>observation</h4><pre>{{ s.observation }}</pre>{% endif %}
</div></details>
{% endfor %}
{% endfor %}
</div></div>
{% for a in page.agents if a.timeline.trailing %}
<details><summary>{{ a.agent_id }}: after its last step</summary><pre>{{ a.timeline.trailing | join("\\n\\n") }}</pre></details>
{% endfor %}

<h2>Messages</h2>
{% if page.links %}
<div class="wide"><table id="messages">
<thead><tr><th class="n">#</th><th>from</th><th class="n">step</th><th>to</th><th class="n">step</th><th>delivery</th><th>sent at (UTC)</th><th>text</th></tr></thead>
<tbody>
{% for m in page.links %}
<tr class="msg{% if not m.delivered %} undelivered{% endif %}" data-msg="{{ m.number }}" data-from="{{ m.sender }}"
 data-from-step="{{ m.sender_step or '' }}" data-to="{{ m.receiver }}" data-to-step="{{ m.receiver_step or '' }}"
 data-delivered="{{ 'yes' if m.delivered else 'no' }}">
<td class="n">{{ m.number }}</td><td>{{ m.sender }}</td><td class="n">{{ m.sender_step or "?" }}</td>
<td>{{ m.receiver }}</td><td class="n">{{ m.receiver_step or "-" }}</td>
<td class="state">{{ "delivered (" ~ m.via ~ ")" if m.delivered else "undelivered: " ~ m.via }}</td>
<td>{{ m.sent_at or "" }}</td><td class="text">{{ m.text }}</td></tr>
{% endfor %}
</tbody></table></div>
{% else %}
<p class="nodata">No messages{% if page.agents | length < 2 %} (one agent){% endif %}.</p>
{% endif %}

<h2>Merge and tests</h2>
{% if page.merge %}
<p id="merge">{% if page.merge.status %}<b>merge</b> <span class="{{ 'passed' if page.merge.status in ('clean', 'identical') else 'failed' }}">{{ page.merge.status }}</span>
{% if page.merge.strategy %}&middot; <b>strategy</b> {{ page.merge.strategy }} {% endif %}
&middot; <b>naive merge</b> {{ "conflicted" if page.merge.naive_conflict else "did not conflict" }}
{% for agent, status in page.merge.apply_status.items() %}&middot; {{ agent }}'s patch {{ status }} {% endfor %}
&middot; {{ page.conflicting_hunks }} conflicting hunk{{ "s" if page.conflicting_hunks != 1 }}
{% else %}<b>no merge</b> (one agent){% endif %}</p>
{% if page.eval_error %}<p class="failed">evaluation error: {{ page.eval_error }}</p>{% endif %}
<table id="features"><thead><tr><th>feature</th><th>tests</th><th class="n">passed</th><th class="n">failed</th><th>output</th></tr></thead><tbody>
{% for f in page.features %}
{% set ran = f.output or f.tests_passed or f.tests_failed %}
<tr data-feature="{{ f.feature_id }}" data-passed="{{ 'yes' if f.passed else 'no' }}"><td>{{ f.feature_id }}</td>
<td class="{{ 'passed' if f.passed else ('failed' if ran else 'not-run') }}">{{ "passed" if f.passed else ("failed" if ran else "not run") }}</td>
<td class="n">{{ f.tests_passed if f.tests_passed is not none else "" }}</td><td class="n">{{ f.tests_failed if f.tests_failed is not none else "" }}</td>
<td>{% if f.output %}<details><summary>output</summary><pre>{{ f.output }}</pre></details>{% endif %}</td></tr>
{% endfor %}
{% for fid in page.not_scored %}<tr data-feature="{{ fid }}"><td>{{ fid }}</td><td class="not-run">not scored (upstream scores the first two)</td><td></td><td></td><td></td></tr>{% endfor %}
</tbody></table>
{% else %}
<p class="nodata">Not evaluated.</p>
{% endif %}

<h2>Patches</h2>
{% for a in page.agents %}
<h3 id="patch-{{ a.agent_id }}">{{ a.agent_id }}</h3>
{{ diff(a.patch) }}
{% endfor %}
<script>{{ script }}</script>
</body></html>
"""  # noqa: E501 - a template: an element per line reads better than one cut to fit
