"""The pages' style and script, inlined in every page so that a written page works offline
and alone (no file beside it, no network)."""

STYLE = """
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
       color: #222; margin: 20px; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 18px; margin-top: 28px;
     border-bottom: 1px solid #ddd; padding-bottom: 4px; }
.meta { color: #555; } .meta b { color: #222; font-weight: 600; }
.wide { overflow-x: auto; }
table { border-collapse: collapse; margin: 10px 0; font-size: 13px; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ddd; padding: 3px 6px; white-space: nowrap; vertical-align: top; }
th { background: #f3f3f3; } td.n, th.n { text-align: right; }
tbody tr:nth-child(even) { background: #fafafa; }
td.text { white-space: pre-wrap; min-width: 240px; max-width: 640px; overflow-wrap: anywhere; }
.passed { color: #2e7d32; font-weight: 600; } .failed { color: #c62828; }
.eval-error { color: #ef6c00; } .infra-error { color: #6a1b9a; } .config-error { color: #795548; }
.cancelled, .queued, .not-run { color: #888; } .running { color: #1e88e5; }
form#filters { display: flex; flex-wrap: wrap; gap: 6px 14px; align-items: end; margin: 12px 0;
               padding: 8px 10px; background: #f6f6f6; border: 1px solid #e3e3e3; }
form#filters label { display: flex; flex-direction: column; font-size: 12px; color: #555; }
form#filters input { width: 6em; }
#shown { font-size: 13px; color: #333; margin-left: auto; }
tr[hidden] { display: none; }
.timeline { position: relative; display: grid; gap: 6px 56px; align-items: start; margin: 12px 0; }
.col-head { background: #eef3f8; border: 1px solid #cfdbe6; border-radius: 4px; padding: 6px 8px; }
.col-head .who { font-weight: 600; font-size: 15px; }
.step { border: 1px solid #ddd; border-radius: 4px; background: #fff; min-width: 0; }
.step > summary { cursor: pointer; padding: 3px 6px; display: flex; gap: 6px; align-items: baseline;
                  white-space: nowrap; overflow: hidden; font-size: 13px; }
.step > summary .cmd { overflow: hidden; text-overflow: ellipsis; flex: 1; color: #333; }
.step > summary .acc { color: #666; font-size: 12px; }
.step .no { font-weight: 600; color: #1e5a8a; }
.step .badge { font-size: 11px; padding: 0 4px; border-radius: 3px; background: #e8f0fe; color: #1a4d8f; }
.step .badge.undelivered { background: #fde7e7; color: #b71c1c; }
.step.sends { border-left: 3px solid #1e88e5; } .step.receives { border-right: 3px solid #43a047; }
.step .body { padding: 4px 8px 8px; border-top: 1px solid #eee; }
.step h4 { margin: 6px 0 2px; font-size: 12px; color: #666; text-transform: uppercase; }
pre { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0; font-size: 12px;
      background: #f8f8f8; padding: 4px 6px; max-height: 360px; overflow-y: auto; }
svg.links { position: absolute; left: 0; top: 0; pointer-events: none; overflow: visible; }
svg.links path { fill: none; stroke: #1e88e5; stroke-width: 2; opacity: 0.8; }
svg.links path.undelivered { stroke: #c62828; stroke-dasharray: 6 4; }
svg.links text { font-size: 12px; fill: #c62828; font-weight: 600; }
tr.undelivered td.state { color: #c62828; font-weight: 600; }
.diff { font: 12px/1.35 ui-monospace, "DejaVu Sans Mono", monospace; margin: 6px 0 14px; }
.diff .file { font-weight: 600; background: #eef3f8; padding: 2px 6px; border: 1px solid #cfdbe6; }
.hunk { border: 1px solid #e3e3e3; border-top: none; }
.hunk.conflict { border: 2px solid #c62828; background: #fff5f5; }
.hunk .head { color: #6a1b9a; background: #f6f0fa; padding: 1px 6px; }
.hunk.conflict .head { background: #fde7e7; color: #b71c1c; font-weight: 600; }
.hunk .l { white-space: pre-wrap; padding: 0 6px; overflow-wrap: anywhere; }
.hunk .add { background: #e6ffec; } .hunk .del { background: #ffebe9; }
.nodata { color: #666; background: #f6f6f6; border-left: 4px solid #bbb; padding: 8px 12px; }
"""

# Draws a line per message from the sending step to the receiving step (or, undelivered, to
# the end of the receiver's column, marked), after layout and again whenever a step is
# opened or closed or the window changes size.
JOB_SCRIPT = """
(function () {
  const grid = document.getElementById('timeline');
  if (!grid) return;
  const NS = 'http://www.w3.org/2000/svg';
  function box(el) {
    const g = grid.getBoundingClientRect(), r = el.getBoundingClientRect();
    return {left: r.left - g.left, right: r.right - g.left, top: r.top - g.top, bottom: r.bottom - g.top};
  }
  function add(svg, name, attrs, text) {
    const el = document.createElementNS(NS, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    if (text) el.textContent = text;
    svg.appendChild(el);
    return el;
  }
  function lastStep(agent) {
    const steps = grid.querySelectorAll('.step[data-agent="' + agent + '"]');
    return steps.length ? steps[steps.length - 1] : grid.querySelector('.col-head[data-agent="' + agent + '"]');
  }
  function draw() {
    let svg = grid.querySelector('svg.links');
    if (svg) svg.remove();
    svg = document.createElementNS(NS, 'svg');
    svg.setAttribute('class', 'links');
    svg.setAttribute('width', grid.scrollWidth);
    svg.setAttribute('height', grid.scrollHeight);
    grid.appendChild(svg);
    for (const m of document.querySelectorAll('#messages tr.msg')) {
      const d = m.dataset;
      const from = document.getElementById('step-' + d.from + '-' + d.fromStep);
      if (!from) continue;
      const delivered = d.delivered === 'yes';
      const to = delivered ? document.getElementById('step-' + d.to + '-' + d.toStep) : lastStep(d.to);
      if (!to) continue;
      const a = box(from), b = box(to);
      const right = b.left > a.left;
      const x1 = right ? a.right : a.left, y1 = a.top + 12;
      const x2 = right ? b.left : b.right, y2 = delivered ? b.top + 12 : b.bottom + 18;
      const bend = (x2 - x1) / 2;
      const path = add(svg, 'path', {
        d: 'M' + x1 + ',' + y1 + ' C' + (x1 + bend) + ',' + y1 + ' ' + (x2 - bend) + ',' + y2 + ' ' + x2 + ',' + y2,
        'class': 'link' + (delivered ? '' : ' undelivered'), 'data-msg': d.msg,
        'data-from': d.from, 'data-from-step': d.fromStep, 'data-to': d.to,
        'data-to-step': delivered ? d.toStep : '', 'marker-end': delivered ? 'url(#arrow)' : ''});
      add(path, 'title', {}, '#' + d.msg + ' ' + d.from + ' -> ' + d.to);
      if (!delivered) {
        add(svg, 'text', {x: x2 + (right ? 4 : -4), y: y2 + 4, 'class': 'undelivered-mark',
                          'data-msg': d.msg, 'text-anchor': right ? 'start' : 'end'},
            '\\u2715 #' + d.msg + ' undelivered');
      }
    }
    const defs = add(svg, 'defs', {});
    const marker = add(defs, 'marker', {id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5,
                                        markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse'});
    add(marker, 'path', {d: 'M0,0 L10,5 L0,10 z', style: 'fill:#1e88e5;stroke:none'});
  }
  grid.addEventListener('toggle', draw, true);
  window.addEventListener('resize', draw);
  draw();
})();
"""

# Shows only the rows every filter lets through; the filters may also come in the page's
# address (index.html?setting=coop&outcome=passed&cost_max=1), so a view can be linked.
RUN_SCRIPT = """
(function () {
  const form = document.getElementById('filters');
  const rows = document.querySelectorAll('#jobs tbody tr');
  const params = new URLSearchParams(location.search);
  for (const el of form.elements) if (el.name && params.has(el.name)) el.value = params.get(el.name);
  function number(name) { const v = form.elements[name].value; return v === '' ? null : Number(v); }
  function apply() {
    const pick = {setting: form.elements.setting.value, outcome: form.elements.outcome.value,
                  repo: form.elements.repo.value};
    const bounds = [['cost', number('cost_min'), number('cost_max'), 1],
                    ['duration', number('duration_min'), number('duration_max'), 60]];
    let shown = 0;
    for (const row of rows) {
      let ok = Object.entries(pick).every(([k, v]) => !v || row.dataset[k] === v);
      for (const [k, low, high, scale] of bounds) {
        if (low === null && high === null) continue;
        const v = row.dataset[k] === '' ? null : Number(row.dataset[k]);
        if (v === null || (low !== null && v < low * scale) || (high !== null && v > high * scale)) ok = false;
      }
      row.hidden = !ok;
      if (ok) shown++;
    }
    document.getElementById('shown').textContent = shown + ' of ' + rows.length + ' jobs shown';
  }
  form.addEventListener('input', apply);
  form.addEventListener('reset', () => setTimeout(apply));
  apply();
})();
"""
