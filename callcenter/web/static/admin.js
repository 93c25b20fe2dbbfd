// The admin's view: the tenant's configuration, dialplan render / diff / push, users and
// their roles, API tokens (the secret shown once), and the audit log.

import {
  $, TENANT, api, attempt, el, listOf, localTime, onSubmit, say, startPage, tenantPath,
} from './api.js';

const ROLES = ['agent', 'supervisor', 'admin'];
const SECTIONS = ['queues', 'agents', 'tiers', 'ivr_menus', 'dids', 'gateways', 'outbound_routes', 'time_conditions'];

function cell(value) {
  if (value === null || value === undefined) return '';
  return typeof value === 'object' ? JSON.stringify(value) : String(value);
}

function table(rows) {
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  return el('div', { class: 'scroll' }, el('table', {},
    el('thead', {}, el('tr', {}, ...columns.map((name) => el('th', { text: name })))),
    el('tbody', {}, ...rows.map((row) => el('tr', {}, ...columns.map((name) => el('td', {
      class: row[name] !== null && typeof row[name] === 'object' ? 'json' : null, text: cell(row[name]),
    })))))));
}

// -- configuration -----------------------------------------------------------------------

async function loadConfig() {
  const view = $('config-view');
  view.replaceChildren();
  const data = await api('GET', tenantPath('/config'));
  $('config-source').textContent = `From ${data.source}`;
  const config = data.config || {};
  view.replaceChildren(...SECTIONS.filter((name) => Array.isArray(config[name])).map((name) =>
    el('div', { id: `config-${name}` },
      el('h3', { text: `${name.replace('_', ' ')} (${config[name].length})` }),
      config[name].length ? table(config[name]) : el('p', { class: 'muted', text: 'none' }))));
}

// -- dialplans ---------------------------------------------------------------------------

async function render() {
  const data = await api('GET', '/api/v1/dialplan/files');
  const files = Object.entries(data.files || {});
  $('dialplan-output').replaceChildren(el('p', { text: `${files.length} file(s) rendered` }),
    ...files.map(([path, text]) => el('details', {}, el('summary', { text: path }), el('pre', { text }))));
}

async function diff() {
  const nodes = listOf(await api('GET', '/api/v1/dialplan/diff'), 'nodes');
  $('dialplan-output').replaceChildren(
    nodes.length ? el('p', { text: `${nodes.length} node(s)` }) : el('p', { text: 'No node configuration folders are known to this server.' }),
    ...nodes.map((node) => el('details', { open: node.changed },
      el('summary', { text: `${node.node}: ${node.changed ? 'would change' : 'up to date'}` }),
      el('pre', { text: node.diff || '(no difference)' }))));
}

async function push() {
  if (!window.confirm('Write the rendered dialplans to every node and reload them?')) return;
  const nodes = listOf(await api('POST', '/api/v1/dialplan/push', { nodes: [] }), 'nodes');
  $('dialplan-output').replaceChildren(el('ul', {}, ...nodes.map((node) => el('li', {
    class: node.ok ? 'ok' : 'error',
    text: `${node.node}: ${node.ok ? 'pushed' : 'failed'} — written ${node.written.length}, removed ${node.removed.length}. ${node.message}`,
  }))));
}

// -- users -------------------------------------------------------------------------------

async function loadUsers() {
  const users = listOf(await api('GET', tenantPath('/users')), 'users');
  $('users-rows').replaceChildren(...users.map(userRow));
}

function userRow(user) {
  const grant = (user.grants || []).find((g) => g.tenant === TENANT) || (user.grants || [])[0] || {};
  const role = el('select', { 'aria-label': `Role of ${user.login}` },
    ...ROLES.map((name) => el('option', { value: name, text: name, selected: name === grant.role })));
  const agent = el('input', { value: grant.agent_id || '', size: 6, maxlength: 64, 'aria-label': `Agent id of ${user.login}` });
  const save = el('button', { type: 'button', text: 'Save role' });
  save.addEventListener('click', () => attempt($('users-error'), async () => {
    await api('PUT', tenantPath(`/users/${encodeURIComponent(user.login)}/role`),
      { role: role.value, agent_id: agent.value.trim() || null });
    say($('users-result'), `${user.login} is ${role.value} now.`);
    await loadUsers();
  }, save));
  const toggle = el('button', { type: 'button', class: 'toggle-disabled', text: user.disabled ? 'Enable' : 'Disable' });
  toggle.addEventListener('click', () => attempt($('users-error'), async () => {
    await api('PUT', tenantPath(`/users/${encodeURIComponent(user.login)}/disabled`), { disabled: !user.disabled });
    say($('users-result'), `${user.login} is ${user.disabled ? 'enabled' : 'disabled'} now.`);
    await loadUsers();
  }, toggle));
  const tokens = el('button', { type: 'button', class: 'show-tokens', text: 'Tokens' });
  tokens.addEventListener('click', () => attempt($('tokens-error'), () => showTokens(user.login), tokens));
  return el('tr', { 'data-login': user.login },
    el('td', { text: user.login }),
    el('td', { class: 'user-name', text: user.name }),
    el('td', {}, role),
    el('td', {}, agent),
    el('td', { class: 'user-status', text: user.disabled ? 'disabled' : 'active' }),
    el('td', {}, save, ' ', toggle, ' ', tokens));
}

async function addUser() {
  const login = $('new-login').value.trim();
  await api('POST', tenantPath('/users'), {
    login,
    name: $('new-name').value.trim(),
    password: $('new-password').value || null,
    role: $('new-role').value,
    agent_id: $('new-agent').value.trim() || null,
  });
  $('user-form').reset();
  say($('users-result'), `${login} added.`);
  await loadUsers();
}

// -- tokens ------------------------------------------------------------------------------

let tokensOf = '';

async function showTokens(login) {
  tokensOf = login;
  $('tokens').hidden = false;
  $('tokens-for').textContent = login;
  $('token-secret-box').hidden = true;
  $('token-secret').textContent = '';
  await loadTokens();
}

async function loadTokens() {
  const base = tenantPath(`/users/${encodeURIComponent(tokensOf)}/tokens`);
  const tokens = listOf(await api('GET', base), 'tokens');
  $('token-rows').replaceChildren(...tokens.map((token) => {
    const revoke = el('button', { type: 'button', class: 'revoke', text: 'Revoke', disabled: token.revoked });
    revoke.addEventListener('click', () => attempt($('tokens-error'), async () => {
      await api('DELETE', `${base}/${token.id}`);
      await loadTokens();
    }, revoke));
    return el('tr', { 'data-token': token.id },
      el('td', { text: token.name }),
      el('td', { text: token.prefix }),
      el('td', { text: localTime(token.created_at) }),
      el('td', { text: localTime(token.last_used_at) || 'never' }),
      el('td', { class: 'token-status', text: token.revoked ? 'revoked' : 'live' }),
      el('td', {}, revoke));
  }));
}

async function newToken() {
  const made = await api('POST', tenantPath(`/users/${encodeURIComponent(tokensOf)}/tokens`),
    { name: $('token-name').value.trim() });
  $('token-form').reset();
  $('token-secret').textContent = made.token;
  $('token-secret-box').hidden = false;
  await loadTokens();
}

// -- audit log ---------------------------------------------------------------------------

async function loadAudit() {
  const entries = listOf(await api('GET', tenantPath('/audit')), 'entries');
  $('audit-rows').replaceChildren(...entries.map((entry) => el('tr', {},
    el('td', { text: localTime(entry.at) }),
    el('td', { text: entry.actor }),
    el('td', { text: entry.action }),
    el('td', { text: entry.target }),
    el('td', { class: 'num', text: entry.status }),
    el('td', { text: entry.remote || '' }))));
}

startPage();
const run = (errorId, action) => (event) => attempt($(errorId), action, event?.currentTarget);
$('btn-config-reload').addEventListener('click', run('config-error', loadConfig));
$('btn-render').addEventListener('click', run('dialplan-error', render));
$('btn-diff').addEventListener('click', run('dialplan-error', diff));
$('btn-push').addEventListener('click', run('dialplan-error', push));
$('btn-audit-refresh').addEventListener('click', run('audit-error', loadAudit));
onSubmit($('user-form'), $('users-error'), addUser);
onSubmit($('token-form'), $('tokens-error'), newToken);
attempt($('config-error'), loadConfig);
attempt($('users-error'), loadUsers);
attempt($('audit-error'), loadAudit);
