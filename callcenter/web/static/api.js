// The JSON API from the pages, and the small DOM helpers every page uses.
// Requests are same-origin fetches: the session cookie goes along, the Origin is our own.
// Data only ever reaches the page as text (textContent), never as markup.

export const TENANT = document.body.dataset.tenant || '';
export const AGENT = document.body.dataset.agent || '';

export class ApiError extends Error {
  constructor(status, body, method, path) {
    // A route the server does not have: another part of the API that is not deployed yet.
    const missing = status === 404 && body.error_id === 'not-found';
    const where = `${method} ${path.split('?')[0]}`;
    super(missing ? `not available on this server yet: ${where}`
      : body.message || `${where} failed (HTTP ${status})`);
    this.status = status;
    this.errorId = body.error_id || '';
    this.details = body.details || {};
    this.missing = missing;
  }
}

export async function api(method, path, body) {
  const init = { method, credentials: 'same-origin', headers: { Accept: 'application/json' } };
  if (body !== undefined) {
    init.headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (exc) {
    throw new ApiError(0, { message: `the server cannot be reached (${exc.message})` }, method, path);
  }
  if (response.status === 204) return null;
  const json = (response.headers.get('Content-Type') || '').includes('application/json');
  const data = json ? await response.json() : { message: (await response.text()).slice(0, 200) };
  if (response.status === 401 && !path.startsWith('/api/v1/session')) {
    location.assign('/login?next=' + encodeURIComponent(location.pathname));
  }
  if (!response.ok) throw new ApiError(response.status, data, method, path);
  return data;
}

// A path under the page's tenant: tenantPath('/agents') -> /api/v1/tenants/acme/agents
export function tenantPath(tail) {
  return `/api/v1/tenants/${encodeURIComponent(TENANT)}${tail}`;
}

export const $ = (id) => document.getElementById(id);

// el('td', {class: 'num', text: 5}, child...): an element with attributes, text and children.
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'text') node.textContent = String(value);
    else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

// A message in a <p>: shown with text, hidden without.
export function say(target, text) {
  target.textContent = text || '';
  target.hidden = !text;
}

export function sayError(target, error) {
  say(target, error instanceof Error ? error.message : String(error));
}

// Run an action from a button or form: the error shown in errorTarget, the control disabled meanwhile.
export async function attempt(errorTarget, action, control = null) {
  if (control) control.disabled = true;
  say(errorTarget, '');
  try {
    return await action();
  } catch (error) {
    sayError(errorTarget, error);
    return undefined;
  } finally {
    if (control) control.disabled = false;
  }
}

export function onSubmit(form, errorTarget, action) {
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    attempt(errorTarget, action, form.querySelector('button[type=submit]'));
  });
}

// 75 -> "1:15", 3700 -> "1:01:40"
export function duration(seconds) {
  const total = Math.max(0, Math.floor(seconds));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

export function localTime(iso) {
  if (!iso) return '';
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? String(iso) : at.toLocaleString();
}

// The list a response holds, whatever its key ({agents: [...]}, {items: [...]} or a bare list).
export function listOf(data, ...keys) {
  if (Array.isArray(data)) return data;
  for (const key of keys) if (Array.isArray(data?.[key])) return data[key];
  return [];
}

export const STATUS_LABELS = {
  logged_out: 'Logged out',
  available: 'Ready',
  on_break: 'On break',
  reserved: 'Ringing',
  on_call: 'On a call',
  wrap_up: 'Wrap-up',
};

export function statusLabel(status) {
  return STATUS_LABELS[status] || status || 'unknown';
}

// The header's sign-out button (every page but the sign-in one).
export function startPage() {
  const button = $('btn-sign-out');
  if (!button) return;
  button.addEventListener('click', async () => {
    try {
      await api('DELETE', '/api/v1/session');
    } finally {
      location.assign('/login');
    }
  });
}
