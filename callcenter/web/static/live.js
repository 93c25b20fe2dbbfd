// The tenant's live feed: JSON frames from the WebSocket /api/v1/tenants/{tenant}/live
// (hello, snapshot, agent, call, queues). While it is not there (a server without it, or the
// connection lost), the page's own poll of the JSON API runs every 2 s instead, and the status
// line says so.

import { TENANT, say } from './api.js';

const POLL_MS = 2000;

export class LiveFeed {
  constructor({ onFrame, onPoll, status }) {
    this.onFrame = onFrame;
    this.onPoll = onPoll;
    this.status = status;
    this.failures = 0;
    this.timer = null;
    this.path = `/api/v1/tenants/${encodeURIComponent(TENANT)}/live`;
  }

  start() {
    this.connect();
  }

  connect() {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    let opened = false;
    const socket = new WebSocket(`${scheme}://${location.host}${this.path}`);
    socket.addEventListener('open', () => {
      opened = true;
      this.failures = 0;
      this.mode('live');
    });
    socket.addEventListener('message', (event) => {
      let frame;
      try {
        frame = JSON.parse(event.data);
      } catch {
        return;
      }
      this.onFrame(frame);
    });
    socket.addEventListener('close', () => {
      this.failures += 1;
      this.mode(opened ? 'lost' : 'unavailable');
      setTimeout(() => this.connect(), Math.min(30000, POLL_MS * this.failures));
    });
  }

  mode(mode) {
    this.status.classList.toggle('live', mode === 'live');
    if (mode === 'live') {
      say(this.status, 'Live');
      clearInterval(this.timer);
      this.timer = null;
      return;
    }
    say(this.status, mode === 'lost'
      ? 'Live feed lost: reconnecting; refreshing every 2 s meanwhile.'
      : `Live feed not available on this server (GET ${this.path}): refreshing every 2 s.`);
    if (this.timer === null) {
      this.poll();
      this.timer = setInterval(() => this.poll(), POLL_MS);
    }
  }

  async poll() {
    try {
      await this.onPoll();
    } catch (error) {
      console.warn('poll failed', error);
    }
  }
}
