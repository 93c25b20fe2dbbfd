// The reports page: filters, any report's table and charts (inline SVG), exports, and the
// calls behind an agent's figures (with their recordings).
import { $, api, attempt, duration, el, localTime, say, startPage, tenantPath } from './api.js';
import { barChart, chartMessage } from './charts.js';

const SVG = 'http://www.w3.org/2000/svg';
let current = null; // the report shown

function svg(tag, attrs = {}, text = null) {
  const item = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attrs)) item.setAttribute(key, String(value));
  if (text !== null) item.textContent = String(text);
  return item;
}

function show(value, kind) {
  if (value === null || value === undefined || value === '') return '';
  const n = Number(value);
  switch (kind) {
    case 'int': return Number.isFinite(n) ? Math.round(n).toLocaleString() : String(value);
    case 'float': case 'money': return Number.isFinite(n) ? n.toFixed(2) : String(value);
    case 'percent': return Number.isFinite(n) ? `${n.toFixed(1)}%` : String(value);
    case 'seconds': return Number.isFinite(n) ? duration(n) : String(value);
    case 'datetime': return localTime(value);
    default: return String(value);
  }
}

function params(format) {
  const query = new URLSearchParams();
  query.set('from', $('report-from').value);
  query.set('to', $('report-to').value);
  query.set('tz', $('report-tz').value.trim() || 'UTC');
  query.set('granularity', $('report-granularity').value);
  for (const name of ['queue', 'agent', 'did', 'gateway']) {
    const value = $(`report-${name}`).value.trim();
    if (value) query.set(name, value);
  }
  query.set('format', format);
  return query.toString();
}

function reportPath(format) {
  return tenantPath(`/reports/${encodeURIComponent($('report-name').value)}?${params(format)}`);
}

function lineChart(container, chart) {
  const points = chart.x_labels.length;
  const slot = Math.max(24, Math.min(60, 900 / Math.max(1, points)));
  const width = Math.max(240, points * slot + 10);
  const height = 160;
  const plot = height - 30;
  const top = Math.max(1, ...chart.series.flatMap((s) => s.values.filter((v) => v !== null)));
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, role: 'img', class: 'line-chart' });
  root.append(svg('line', { x1: 0, y1: plot + 0.5, x2: width, y2: plot + 0.5, stroke: '#cbd2d9' }));
  chart.series.forEach((series, n) => {
    let path = '';
    series.values.forEach((value, i) => {
      if (value === null || value === undefined) return;
      const x = 5 + i * slot + slot / 2;
      const y = plot - (Math.max(0, value) / top) * (plot - 14);
      path += `${path ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)} `;
      const dot = svg('circle', { cx: x, cy: y, r: 3, class: n ? 'dot second' : 'dot',
        'data-label': chart.x_labels[i], 'data-value': value });
      dot.append(svg('title', {}, `${series.label} ${chart.x_labels[i]}: ${value}`));
      root.append(dot);
    });
    root.prepend(svg('path', { d: path.trim(), fill: 'none', class: n ? 'line second' : 'line',
      stroke: n ? '#ea580c' : '#2563eb', 'stroke-width': 2 }));
  });
  const every = Math.max(1, Math.ceil(60 / slot));
  chart.x_labels.forEach((label, i) => {
    if (i % every) return;
    root.append(svg('text', { x: 5 + i * slot + slot / 2, y: plot + 14, 'text-anchor': 'middle' }, label));
  });
  container.replaceChildren(root);
}

function drawCharts(report) {
  const holder = $('report-charts');
  holder.replaceChildren();
  report.charts.forEach((chart, n) => {
    const box = el('div', { class: 'chart', id: `report-chart-${n}`, 'data-kind': chart.kind });
    holder.append(el('h3', { text: chart.title + (chart.unit ? ` (${chart.unit})` : '') }), box);
    if (!chart.x_labels.length) {
      chartMessage(box, 'No data to chart.');
    } else if (chart.kind === 'line') {
      lineChart(box, chart);
    } else {
      const groups = chart.x_labels.map((label, i) => ({
        label,
        bars: chart.series.map((series, s) => ({ value: series.values[i] ?? 0, cls: s ? 'second' : '' })),
      }));
      const slot = Math.max(24, Math.min(60, 900 / Math.max(1, groups.length)));
      barChart(box, groups, { legend: chart.series.map((s) => s.label), slot,
        labelEvery: Math.max(1, Math.ceil(60 / slot)) });
    }
  });
}

function drawTable(report) {
  const table = $('report-table');
  const agentKey = report.columns.find((c) => c.key === 'agent' || c.key === 'agent_id')?.key;
  const head = el('tr', {}, ...report.columns.map((c) => el('th', { class: c.kind === 'text' ? '' : 'num', text: c.label })));
  table.tHead.replaceChildren(head);
  const body = report.rows.map((row) => el('tr', {}, ...report.columns.map((c) => {
    const text = show(row[c.key], c.kind);
    if (c.key === agentKey && row[c.key]) {
      const button = el('button', { type: 'button', class: 'link drill', 'data-agent': row[c.key], text,
        title: 'the calls behind these figures', onclick: () => drill(String(row[c.key])) });
      return el('td', {}, button);
    }
    return el('td', { class: c.kind === 'text' ? '' : 'num', text });
  })));
  table.tBodies[0].replaceChildren(...body);
  if (!report.rows.length) {
    table.tBodies[0].replaceChildren(el('tr', {}, el('td', { colspan: report.columns.length, class: 'muted', text: 'No calls in this period.' })));
  }
  const foot = report.totals
    ? [el('tr', { class: 'totals' }, ...report.columns.map((c) => el('th', { class: c.kind === 'text' ? '' : 'num', text: show(report.totals[c.key], c.kind) })))]
    : [];
  table.tFoot.replaceChildren(...foot);
}

async function run() {
  const report = await api('GET', reportPath('json'));
  current = report;
  $('report-result').hidden = false;
  $('drill').hidden = true;
  $('report-title').textContent = report.title;
  const tz = report.request.tz;
  $('report-period').textContent = `${report.request.start} – ${report.request.end} (end excluded; days in ${tz})`;
  drawTable(report);
  drawCharts(report);
  $('report-notes').replaceChildren(...report.notes.map((note) => el('li', { text: note })));
  for (const format of ['csv', 'xlsx', 'pdf']) $(`export-${format}`).href = reportPath(format);
  $('report-exports').hidden = false;
}

async function drill(agent) {
  if (!current) return;
  const section = $('drill');
  section.hidden = false;
  $('drill-title').textContent = `Calls of agent ${agent}`;
  $('drill-audio').hidden = true;
  await attempt($('drill-error'), async () => {
    const query = new URLSearchParams({ agent, since: current.request.start, until: current.request.end, limit: '200' });
    const page = await api('GET', tenantPath(`/calls?${query}`));
    const rows = page.calls.map((call) => el('tr', { 'data-call': call.call_uuid },
      el('td', { text: localTime(call.started_at) }),
      el('td', { text: [call.caller_number, call.caller_name].filter(Boolean).join(' ') }),
      el('td', { text: call.queue || '' }),
      el('td', { text: call.outcome || '' }),
      el('td', { class: 'num', text: call.wait_ms === null ? '' : duration(call.wait_ms / 1000) }),
      el('td', { class: 'num', text: call.talk_ms === null ? '' : duration(call.talk_ms / 1000) }),
      el('td', {}, call.has_recording
        ? el('button', { type: 'button', class: 'link play', text: 'Play', onclick: () => play(call.call_uuid) })
        : el('span', { class: 'muted', text: '—' }))));
    $('drill-rows').replaceChildren(...rows);
    $('drill-empty').hidden = rows.length > 0;
    $('drill-title').textContent = `Calls of agent ${agent} (${page.total})`;
  });
}

async function play(callUuid) {
  await attempt($('drill-error'), async () => {
    const recording = await api('GET', tenantPath(`/calls/${encodeURIComponent(callUuid)}/recording`));
    const audio = $('drill-audio');
    audio.src = recording.audio_url;
    audio.dataset.call = callUuid;
    audio.hidden = false;
  });
}

async function start() {
  startPage();
  const today = new Date().toISOString().slice(0, 10);
  $('report-from').value = today;
  $('report-to').value = today;
  try {
    $('report-tz').value = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch { /* keep UTC */ }
  await attempt($('report-error'), async () => {
    const data = await api('GET', tenantPath('/reports'));
    $('report-name').replaceChildren(...data.reports.map((r) => el('option', { value: r.name, text: r.title, title: r.description })));
    if (!data.reports.length) say($('report-error'), 'No reports on this server yet.');
  });
  $('report-form').addEventListener('submit', (event) => {
    event.preventDefault();
    attempt($('report-error'), run, $('report-run'));
  });
}

start();
