// The agent desktop: my state and its buttons, the incoming call's screen-pop, the wrap-up
// (disposition and comment), the phone book with click-to-call, and my recent calls.

import {
  $, AGENT, api, attempt, duration, el, listOf, localTime, onSubmit, say, sayError,
  startPage, statusLabel, tenantPath,
} from './api.js';
import { LiveFeed } from './live.js';

const agentPath = tenantPath(`/agents/${encodeURIComponent(AGENT)}`);
const ALLOWED = {
  login: ['logged_out'],
  ready: ['on_break', 'wrap_up'],
  break: ['available', 'on_break', 'wrap_up'],
  logout: ['available', 'on_break', 'wrap_up'],
};

let status = '';
let stateStarted = Date.now();
let current = null; // the call on the screen-pop: {call, state}
let wrapping = null; // the call of the open wrap-up form

// -- my state ----------------------------------------------------------------------------

function showAgent(agent, startedAt) {
  const changed = agent.status !== status;
  status = agent.status;
  if (startedAt !== undefined) stateStarted = agent.since_ms === 0 ? null : startedAt;
  const badge = $('agent-state');
  badge.textContent = statusLabel(status);
  badge.dataset.status = status;
  $('state-reason').textContent = status === 'on_break' && agent.reason ? `(${agent.reason})` : '';
  for (const [action, from] of Object.entries(ALLOWED)) {
    $(`btn-${action}`).disabled = !from.includes(status);
  }
  tick();
  if (agent.call && (status === 'reserved' || status === 'on_call')) {
    callSeen(agent.call, status === 'reserved' ? 'offering' : 'answered');
  } else if (changed && current && current.state === 'offering') {
    callMissed(current.call);
  } else if (changed && status === 'wrap_up' && current) {
    callEnded(current.call);
  }
}

function tick() {
  // null: the state has not changed since the agent was configured.
  $('state-since').textContent = stateStarted === null ? '—' : duration((Date.now() - stateStarted) / 1000);
}

async function refreshAgent() {
  const agent = await api('GET', agentPath);
  showAgent(agent, Date.now() - agent.seconds_in_state * 1000);
}

async function change(action) {
  const body = { action };
  if (action === 'break') body.reason = $('break-reason').value;
  const agent = await api('PUT', `${agentPath}/state`, body);
  showAgent(agent, Date.now() - agent.seconds_in_state * 1000);
}

// -- the call: screen-pop --------------------------------------------------------------

function callSeen(call, state, frame = {}) {
  const fresh = !current || current.call !== call;
  current = { call, state };
  const panel = $('screen-pop');
  panel.hidden = false;
  panel.dataset.call = call;
  const badge = $('call-state');
  badge.textContent = state === 'offering' ? 'ringing' : state;
  badge.dataset.status = state;
  if (frame.caller_number) $('caller-number').textContent = frame.caller_number;
  if (frame.queue) $('call-queue').textContent = frame.queue;
  if (frame.caller_name && $('caller-name').textContent === 'Incoming call') {
    $('caller-name').textContent = frame.caller_name;
  }
  if (fresh) {
    if (!frame.caller_number) $('caller-number').textContent = '';
    $('caller-name').textContent = frame.caller_name || 'Incoming call';
    for (const id of ['caller-company', 'caller-email', 'caller-notes', 'call-did']) {
      $(id).textContent = '';
    }
    $('crm-link').hidden = true;
    screenPop(call);
  }
}

async function screenPop(call) {
  const error = $('screen-pop-error');
  say(error, '');
  try {
    const pop = await api('GET', tenantPath(`/screen-pop?call=${encodeURIComponent(call)}`));
    if (!current || current.call !== call) return;
    const card = pop.card || {};
    $('caller-name').textContent = card.name || pop.caller_name || 'Unknown caller';
    $('caller-number').textContent = pop.caller_number || '';
    $('caller-company').textContent = card.company || '';
    $('caller-email').textContent = card.email || '';
    $('caller-notes').textContent = card.notes || '';
    $('call-queue').textContent = pop.queue || '';
    // The number the caller dialed, with its label: which advert brought them.
    $('call-did').textContent = [pop.did, pop.campaign && `(${pop.campaign})`]
      .filter(Boolean).join(' ');
    const link = $('crm-link');
    // Only a web address: never a javascript: or data: URL from a CRM setting.
    link.hidden = !(pop.crm_url && /^https?:\/\//i.test(pop.crm_url));
    if (!link.hidden) link.href = pop.crm_url;
  } catch (exc) {
    sayError(error, exc);
  }
}

function callMissed(call) {
  const badge = $('call-state');
  badge.textContent = 'missed';
  badge.dataset.status = 'ended';
  current = { call, state: 'missed' };
}

function callEnded(call) {
  const badge = $('call-state');
  badge.textContent = 'ended';
  badge.dataset.status = 'ended';
  if (current && current.call === call && current.state !== 'offering') openWrapUp(call);
  current = current && current.call === call ? { call, state: 'ended' } : current;
}

// -- wrap-up ---------------------------------------------------------------------------

async function openWrapUp(call) {
  if (wrapping === call) return;
  wrapping = call;
  $('wrap-up').hidden = false;
  $('disposition-form').hidden = false;
  $('wrap-up-call').textContent = call;
  $('disposition-code').value = '';
  $('comment-text').value = '';
  say($('wrap-up-result'), '');
  say($('wrap-up-error'), '');
  // The queue's codes (from the center file); a free code when it lists none.
  const queue = $('call-queue').textContent;
  if (!queue) return;
  try {
    const answer = await api('GET', tenantPath(`/queues/${encodeURIComponent(queue)}/dispositions`));
    const codes = listOf(answer, 'codes');
    $('disposition-codes').replaceChildren(...codes.map((code) => el('option', { value: code })));
  } catch {
    // No codes listed for the queue: the code is typed.
  }
}

async function saveWrapUp() {
  const call = wrapping;
  const code = $('disposition-code').value.trim();
  const text = $('comment-text').value.trim();
  if (!code && !text) throw new Error('choose a disposition or write a comment');
  const base = tenantPath(`/calls/${encodeURIComponent(call)}`);
  const saved = [];
  if (code) {
    await api('PUT', `${base}/disposition`, { code });
    saved.push(`disposition ${code}`);
  }
  if (text) {
    await api('POST', `${base}/comments`, { text });
    saved.push('comment');
  }
  say($('wrap-up-result'), `Saved: ${saved.join(' and ')}.`);
  $('disposition-form').hidden = true;
  loadHistory();
}

// -- live frames -------------------------------------------------------------------------

function onFrame(frame) {
  if (frame.type === 'snapshot') {
    const me = listOf(frame, 'agents').find((agent) => agent.id === AGENT);
    if (me) showAgent(me, Date.now() - (me.seconds_in_state || 0) * 1000);
  } else if (frame.type === 'agent' && frame.id === AGENT) {
    showAgent(frame, Date.now());
  } else if (frame.type === 'call') {
    const mine = frame.agent === AGENT || (frame.agents || []).includes(AGENT);
    if (!mine && !(current && current.call === frame.call)) return;
    if (frame.state === 'outbound_failed') {
      say($('dial-result'), dialFailure(frame.number, frame.cause)); // nothing to wrap up
    } else if (['ended', 'abandoned', 'hangup'].includes(frame.state)) callEnded(frame.call);
    else callSeen(frame.call, frame.state, frame);
  }
}

// -- phone book and click-to-call ------------------------------------------------------

// Why a click-to-call did not connect, from the last attempt's hangup cause.
const DIAL_FAILURES = {
  NORMAL_CIRCUIT_CONGESTION: 'all lines are busy, try again in a moment',
  SWITCH_CONGESTION: 'all lines are busy, try again in a moment',
  USER_BUSY: 'the number is busy',
  NO_ANSWER: 'no answer',
  NO_USER_RESPONSE: 'no answer',
  CALL_REJECTED: 'the call was refused',
  UNALLOCATED_NUMBER: 'the number does not exist',
  INVALID_NUMBER_FORMAT: 'the number is not valid',
};

function dialFailure(number, cause) {
  const why = DIAL_FAILURES[cause] || `the call failed (${cause || 'unknown cause'})`;
  return `${number}: ${why}.`;
}

async function searchPhoneBook() {
  const q = $('phonebook-q').value.trim();
  const results = $('phonebook-results');
  say($('dial-result'), '');
  results.replaceChildren();
  const items = [];
  if (/^\+?[0-9]{3,20}$/.test(q)) items.push(dialItem(q, `Call ${q}`, ''));
  try {
    const data = await api('GET', tenantPath(`/contacts?q=${encodeURIComponent(q)}`));
    for (const card of listOf(data, 'items', 'contacts')) {
      items.push(dialItem(card.phone, card.name, [card.company, card.phone].filter(Boolean).join(' · ')));
    }
    if (!items.length) items.push(el('li', { class: 'muted', text: 'Nobody found.' }));
  } finally {
    results.replaceChildren(...items);
  }
}

function dialItem(number, title, subtitle) {
  const button = el('button', { type: 'button', class: 'call', text: 'Call' });
  button.addEventListener('click', () => attempt($('phonebook-error'), async () => {
    await api('POST', tenantPath('/click-to-call'), { number });
    say($('dial-result'), `Calling ${number}: your phone rings first.`);
  }, button));
  return el('li', {},
    el('span', { class: 'grow' }, el('strong', { text: title }), ' ', el('span', { class: 'muted', text: subtitle })),
    button);
}

// -- my recent calls -------------------------------------------------------------------

async function loadHistory() {
  await attempt($('history-error'), async () => {
    const page = await api('GET', tenantPath(`/calls?agent=${encodeURIComponent(AGENT)}&limit=10`));
    $('history-rows').replaceChildren(...listOf(page, 'calls', 'items').map((call) => el('tr', { 'data-call': call.call_uuid },
      el('td', { text: localTime(call.started_at) }),
      el('td', { text: [call.caller_number, call.caller_name].filter(Boolean).join(' ') }),
      el('td', { text: call.queue || '' }),
      el('td', { text: call.outcome || '' }),
      el('td', { class: 'num', text: talkText(call) }),
      el('td', { text: call.disposition || '' }))));
  });
}

function talkText(call) {
  if (call.talk_s !== undefined && call.talk_s !== null) return duration(call.talk_s);
  if (call.talk_ms !== undefined && call.talk_ms !== null) return duration(call.talk_ms / 1000);
  return '';
}

// -- start -------------------------------------------------------------------------------

startPage();
for (const action of Object.keys(ALLOWED)) {
  const button = $(`btn-${action}`);
  // No disabling here: the answer's state decides which buttons are on.
  button.addEventListener('click', () => attempt($('state-error'), () => change(action)));
}
onSubmit($('disposition-form'), $('wrap-up-error'), saveWrapUp);
onSubmit($('phonebook-form'), $('phonebook-error'), searchPhoneBook);
$('btn-history-refresh').addEventListener('click', loadHistory);
setInterval(tick, 1000);
attempt($('state-error'), refreshAgent);
loadHistory();
new LiveFeed({ onFrame, onPoll: refreshAgent, status: $('live-status') }).start();
