// The sign-in form: POST /api/v1/session, then on to the page asked for (or the user's own).

import { $, api, onSubmit } from './api.js';

// Only a path of this site: never an address elsewhere (//evil.example, /\evil.example).
function next() {
  const wanted = new URLSearchParams(location.search).get('next') || '/';
  return /^\/(?![/\\])/.test(wanted) ? wanted : '/';
}

onSubmit($('login-form'), $('login-error'), async () => {
  await api('POST', '/api/v1/session', { login: $('login').value, password: $('password').value });
  location.assign(next());
});
