// The supervisor's wallboard: queues, agents by state with time in state, live calls with
// listen / whisper / barge, and today's charts.

import {
  $, api, attempt, duration, el, listOf, say, sayError, startPage, statusLabel, tenantPath,
} from './api.js';
import { barChart, chartMessage } from './charts.js';
import { LiveFeed } from './live.js';

const ORDER = ['on_call', 'reserved', 'wrap_up', 'available', 'on_break', 'logged_out'];
const ENDED = ['ended', 'abandoned', 'hangup', 'overflowed', 'moved', 'callback_requested', 'outbound_failed'];
const agents = new Map(); // id -> agent (with startedAt, ms)
const calls = new Map(); // call id -> {call, state, queue, agent, caller_number, caller_name, startedAt}
let queues = [];

// -- queues ------------------------------------------------------------------------------

function showQueues(list) {
  queues = list;
  $('move-targets').replaceChildren(...list.map((queue) => el('option', { value: `queue:${queue.name}` })));
  $('queue-rows').replaceChildren(...list.map((queue) => {
    const today = queue.today || {};
    return el('tr', { 'data-queue': queue.name },
      el('td', { text: queue.name }),
      el('td', { class: 'num waiting', text: queue.waiting }),
      el('td', { class: 'num', text: duration(queue.longest_wait_seconds || 0) }),
      el('td', { class: 'num sl', text: `${Math.round(today.service_level ?? 100)} %` }),
      el('td', { class: 'num', text: today.answered ?? 0 }),
      el('td', { class: 'num', text: today.abandoned ?? 0 }),
      el('td', { class: 'num', text: (queue.agents || {}).available || 0 }));
  }));
  barChart($('chart-sl'), list.map((queue) => {
    const sl = Math.round(queue.today?.service_level ?? 100);
    return { label: queue.name, bars: [{ value: sl, text: `${sl}%`, cls: sl < 80 ? 'low' : '' }] };
  }), { max: [100] });
  if (!list.length) chartMessage($('chart-sl'), 'No queues.');
}

// -- agents ------------------------------------------------------------------------------

function putAgent(agent, startedAt) {
  const known = agents.get(agent.id) || {};
  // The same state as before keeps its start (the poll's figure drifts by a few ms).
  const same = known.status === agent.status && known.since_ms && known.since_ms === agent.since_ms;
  let started = same ? known.startedAt : startedAt ?? known.startedAt ?? Date.now();
  if (agent.since_ms === 0) started = null; // never changed since configured: no time to show
  agents.set(agent.id, { ...known, ...agent, startedAt: started });
}

// Rows are rebuilt only when what they show changed: a select being used stays as it is.
function putRows(tbody, items, key, signature, build) {
  const old = new Map([...tbody.children].map((row) => [row.dataset.key, row]));
  tbody.replaceChildren(...items.map((item) => {
    const sig = signature(item);
    const row = old.get(key(item));
    if (row && row.dataset.sig === sig) return row;
    const fresh = build(item);
    fresh.dataset.key = key(item);
    fresh.dataset.sig = sig;
    return fresh;
  }));
}

function showAgents() {
  const list = [...agents.values()].sort((a, b) =>
    (ORDER.indexOf(a.status) - ORDER.indexOf(b.status)) || a.id.localeCompare(b.id));
  const counts = {};
  for (const agent of list) counts[agent.status] = (counts[agent.status] || 0) + 1;
  $('agent-summary').textContent = ORDER.filter((s) => counts[s])
    .map((s) => `${statusLabel(s)} ${counts[s]}`).join(' · ');
  const signature = (a) => [a.status, a.reason, a.call, a.startedAt].join('|');
  putRows($('agent-rows'), list, (a) => a.id, signature, (agent) => {
    const choice = el('select', { 'aria-label': `New state of agent ${agent.id}` },
      el('option', { value: 'ready', text: 'Ready' }),
      el('option', { value: 'break', text: 'Break' }),
      el('option', { value: 'logout', text: 'Log out' }),
      el('option', { value: 'login', text: 'Log in' }));
    const apply = el('button', { type: 'button', text: 'Apply' });
    apply.addEventListener('click', () => attempt($('agents-error'), async () => {
      const body = { action: choice.value };
      if (choice.value === 'break') body.reason = 'supervisor';
      const path = tenantPath(`/agents/${encodeURIComponent(agent.id)}/state`);
      const changed = await api('PUT', path, body);
      putAgent(changed, Date.now() - changed.seconds_in_state * 1000);
      showAgents();
    }, apply));
    return el('tr', { 'data-agent': agent.id },
      el('td', { text: agent.id }),
      el('td', {}, el('span', { class: 'state agent-state', 'data-status': agent.status, text: statusLabel(agent.status) })),
      el('td', { text: agent.reason || '' }),
      agent.startedAt
        ? el('td', { class: 'num clock', 'data-since': agent.startedAt, text: duration((Date.now() - agent.startedAt) / 1000) })
        : el('td', { class: 'num', text: '—' }),
      el('td', { text: agent.call || '' }),
      el('td', {}, choice, ' ', apply));
  });
}

// -- live calls --------------------------------------------------------------------------

// When each call's latest frame came (Date.now()): a list read from the server before it
// is older than what the frame said.
const framed = new Map();

function putCall(frame) {
  framed.set(frame.call, Date.now());
  if (ENDED.includes(frame.state)) {
    calls.delete(frame.call);
    return;
  }
  const known = calls.get(frame.call) || { startedAt: Date.now() };
  const merged = { ...known };
  for (const [key, value] of Object.entries(frame)) if (value !== '' && value !== null) merged[key] = value;
  calls.set(frame.call, merged);
}

// The calls in progress (null on a server without GET .../live-calls).
async function liveCalls() {
  try {
    return listOf(await api('GET', tenantPath('/live-calls')), 'calls');
  } catch (error) {
    if (error.missing) return null;
    throw error;
  }
}

// The calls to be seen: the server's list of live calls when there is one, else what the
// agents' and queues' live state shows (a snapshot, or the poll without that list). ``since``:
// when those lists were asked for; a call's frame that came later wins over them (a caller who
// arrived, or left, while the answer was on its way).
function callsFrom(agentList, queueList, listed = null, since = Infinity) {
  const seen = new Map();
  for (const call of listed || []) {
    const startedAt = calls.get(call.call)?.startedAt ?? Date.now() - (call.wait_seconds || 0) * 1000;
    seen.set(call.call, { ...call, startedAt });
  }
  for (const queue of queueList) {
    for (const waiting of queue.waiting_calls || []) {
      if (seen.has(waiting.call)) continue;
      const startedAt = calls.get(waiting.call)?.startedAt ?? Date.now() - waiting.wait_seconds * 1000;
      seen.set(waiting.call, { ...waiting, state: 'waiting', startedAt });
    }
  }
  for (const agent of agentList) {
    if (agent.call && !seen.has(agent.call) && (agent.status === 'reserved' || agent.status === 'on_call')) {
      const known = calls.get(agent.call) || seen.get(agent.call) || { startedAt: Date.now() };
      seen.set(agent.call, {
        ...known, call: agent.call, agent: agent.id,
        state: agent.status === 'reserved' ? 'offering' : 'answered',
      });
    }
  }
  for (const [id, at] of framed) {
    if (at < since) {
      if (Date.now() - at > 600000) framed.delete(id);
      continue;
    }
    const call = calls.get(id);
    if (call) seen.set(id, call);
    else seen.delete(id);
  }
  calls.clear();
  for (const [id, call] of seen) calls.set(id, call);
}

function showCalls() {
  const list = [...calls.values()].sort((a, b) => a.startedAt - b.startedAt);
  $('calls-empty').hidden = list.length > 0;
  const signature = (c) => [c.state, c.queue, c.caller_number, c.caller_name, c.agent, c.callback, c.startedAt].join('|');
  putRows($('call-rows'), list, (c) => c.call, signature, (call) => {
    const buttons = call.state === 'waiting' ? moveControls(call) : ['listen', 'whisper', 'barge'].map((mode) => {
      const button = el('button', { type: 'button', class: `monitor-${mode}`, text: mode });
      button.addEventListener('click', () => monitor(call.call, mode, button));
      return button;
    });
    return el('tr', { 'data-call': call.call },
      el('td', { class: 'muted', text: call.call.slice(0, 8) }),
      el('td', {}, el('span', { class: 'state', 'data-status': call.state, text: call.state })),
      el('td', { text: call.queue || '' }),
      el('td', { text: [call.caller_number, call.caller_name].filter(Boolean).join(' ') }),
      el('td', { text: call.agent || (call.agents || []).join(', ') }),
      el('td', { class: 'num clock', 'data-since': call.startedAt, text: duration((Date.now() - call.startedAt) / 1000) }),
      el('td', {}, ...buttons));
  });
}

// A waiting caller: send them to another queue (keeping the time waited), an extension, a
// number, a menu or a mailbox.
function moveControls(call) {
  const target = el('input', {
    class: 'move-target', list: 'move-targets', maxlength: '128',
    placeholder: 'queue:sales, 1001, voicemail:1001', 'aria-label': `Move call ${call.call.slice(0, 8)} to`,
  });
  const button = el('button', { type: 'button', class: 'move', text: 'Move' });
  button.addEventListener('click', () => move(call.call, target.value.trim(), button));
  return [target, ' ', button];
}

async function move(call, destination, button) {
  say($('calls-result'), '');
  await attempt($('calls-error'), async () => {
    await api('POST', tenantPath(`/live-calls/${encodeURIComponent(call)}/transfer`), { destination });
    say($('calls-result'), `Call ${call.slice(0, 8)} moved to ${destination}.`);
  }, button);
}

async function monitor(call, mode, button) {
  say($('calls-result'), '');
  await attempt($('calls-error'), async () => {
    const contact = $('monitor-contact').value.trim();
    localStorage.setItem('monitor-contact', contact);
    const body = contact ? { mode, contact } : { mode };
    await api('POST', tenantPath(`/live-calls/${encodeURIComponent(call)}/monitor`), body);
    say($('calls-result'), `${mode}: your phone rings to join call ${call.slice(0, 8)}.`);
  }, button);
}

// -- feed and poll -----------------------------------------------------------------------

function onFrame(frame) {
  if (frame.type === 'snapshot') {
    agents.clear();
    for (const agent of listOf(frame, 'agents')) putAgent(agent, Date.now() - (agent.seconds_in_state || 0) * 1000);
    const queueList = listOf(frame, 'queues');
    callsFrom(listOf(frame, 'agents'), queueList);
    showQueues(queueList);
    showAgents();
    showCalls();
    // The snapshot has no calls of its own: the server's list, where it has one.
    const since = Date.now();
    liveCalls().then((listed) => {
      if (listed) {
        callsFrom([...agents.values()], [], listed, since);
        showCalls();
      }
    }).catch((error) => sayError($('calls-error'), error));
  } else if (frame.type === 'agent') {
    const busy = frame.status === 'reserved' || frame.status === 'on_call';
    const call = frame.call || (busy ? agents.get(frame.id)?.call : '') || '';
    putAgent({ id: frame.id, status: frame.status, reason: frame.reason || '', call }, Date.now());
    showAgents();
  } else if (frame.type === 'call') {
    putCall(frame);
    const agent = agents.get(frame.agent);
    if (agent && ['answered', 'bridged'].includes(frame.state) && agent.call !== frame.call) {
      agent.call = frame.call;
      showAgents();
    }
    showCalls();
  } else if (frame.type === 'queues') {
    showQueues(listOf(frame, 'queues'));
  }
}

async function poll() {
  const since = Date.now();
  try {
    const [agentData, queueData] = await Promise.all([
      api('GET', tenantPath('/agents')), api('GET', tenantPath('/queues'))]);
    const queueList = listOf(queueData, 'queues');
    const busy = queueList.filter((queue) => queue.waiting > 0);
    const detailed = await Promise.all(busy.map((queue) =>
      api('GET', tenantPath(`/queues/${encodeURIComponent(queue.name)}`))));
    const agentList = listOf(agentData, 'agents');
    for (const agent of agentList) putAgent(agent, Date.now() - agent.seconds_in_state * 1000);
    for (const id of agents.keys()) if (!agentList.some((agent) => agent.id === id)) agents.delete(id);
    callsFrom(agentList, detailed, await liveCalls(), since);
    showQueues(queueList);
    showAgents();
    showCalls();
    say($('wallboard-error'), '');
  } catch (error) {
    sayError($('wallboard-error'), error);
  }
}

function tick() {
  for (const cell of document.querySelectorAll('td.clock[data-since]')) {
    cell.textContent = duration((Date.now() - Number(cell.dataset.since)) / 1000);
  }
}

// -- today's charts ----------------------------------------------------------------------
// From the reports (the roll-ups the workers keep), for today in this browser's time zone:
// the day the people in the room live in, not the UTC one.

function today() {
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const parts = new Intl.DateTimeFormat('en-CA', { timeZone: tz, year: 'numeric', month: '2-digit', day: '2-digit' })
    .formatToParts(new Date());
  const part = (type) => parts.find((p) => p.type === type).value;
  const day = `${part('year')}-${part('month')}-${part('day')}`;
  return { tz, query: `from=${day}&to=${day}&tz=${encodeURIComponent(tz)}` };
}

async function charts() {
  const { tz, query } = today();
  $('hourly-zone').textContent = tz;
  try {
    const report = await api('GET', tenantPath(`/reports/queues?${query}&granularity=hour`));
    // A row per hour and queue; the period reads "YYYY-MM-DD HH:00+hhmm".
    const perHour = new Map();
    for (const row of report.rows || []) {
      const hour = Number(String(row.period).slice(11, 13));
      perHour.set(hour, (perHour.get(hour) || 0) + (row.offered || 0));
    }
    const groups = [];
    for (let hour = 0; hour < 24; hour += 1) {
      groups.push({ label: String(hour), bars: [{ value: perHour.get(hour) || 0 }] });
    }
    barChart($('chart-hourly'), groups, { slot: 14, labelEvery: 3 });
  } catch (error) {
    chartMessage($('chart-hourly'), error.message);
  }
  try {
    const report = await api('GET', tenantPath(`/reports/agents?${query}`));
    const list = (report.rows || []).filter((row) => row.answered > 0);
    if (!list.length) chartMessage($('chart-agents'), 'No calls handled today yet.');
    else {
      barChart($('chart-agents'), list.map((row) => ({
        label: row.agent,
        bars: [
          { value: row.answered },
          { value: (row.talk_s || 0) / 60, text: `${Math.round((row.talk_s || 0) / 60)}m`, cls: 'second' },
        ],
      })), { legend: ['handled (calls)', 'talk (minutes)'] });
    }
  } catch (error) {
    chartMessage($('chart-agents'), error.message);
  }
}

startPage();
$('monitor-contact').value = localStorage.getItem('monitor-contact') || '';
setInterval(tick, 1000);
poll();
charts();
setInterval(charts, 60000);
new LiveFeed({ onFrame, onPoll: poll, status: $('live-status') }).start();
