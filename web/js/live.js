// Live updates: GET /v1/stream (server-sent events, cookie auth) pushes `usage` (one per line
// at once, then on every change) and `event` messages. When the stream cannot be opened (or
// drops for good) the feed polls instead every POLL_MS and tries the stream again later, so a
// page always stays current; `onStatus` says which: 'connecting', 'live', 'reconnecting',
// 'polling'.

const POLL_MS = 30_000;
const STREAM_RETRY_MS = 60_000;

export class LiveFeed {
  /**
   * @param {object} o
   * @param {string[]|null} o.lines  line ids for ?line= (null: all of the subscriber's lines)
   * @param {(line: string, usage: object) => void} o.onUsage
   * @param {(event: object) => void} [o.onEvent]
   * @param {(status: string) => void} [o.onStatus]
   * @param {() => Promise<void>} o.poll  refreshes every line (used while the stream is down)
   */
  constructor({ lines, onUsage, onEvent, onStatus, poll }) {
    this.lines = lines;
    this.onUsage = onUsage;
    this.onEvent = onEvent ?? (() => {});
    this.onStatus = onStatus ?? (() => {});
    this.poll = poll;
    this.source = null;
    this.pollTimer = null;
    this.retryTimer = null;
    this.stopped = false;
    this.status = null;
  }

  start() {
    this.stopped = false;
    if (typeof EventSource === 'undefined') {
      this.startPolling();
      return;
    }
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.source?.close();
    this.source = null;
    clearInterval(this.pollTimer);
    clearTimeout(this.retryTimer);
    this.pollTimer = null;
    this.retryTimer = null;
  }

  setStatus(s) {
    if (s === this.status) return;
    this.status = s;
    this.onStatus(s);
  }

  url() {
    const q = new URLSearchParams();
    for (const id of this.lines ?? []) q.append('line', id);
    const s = q.toString();
    return s ? `/v1/stream?${s}` : '/v1/stream';
  }

  connect() {
    if (this.stopped) return;
    this.setStatus(this.pollTimer ? 'polling' : 'connecting');
    const source = new EventSource(this.url());
    this.source = source;
    source.addEventListener('open', () => {
      this.stopPolling();
      this.setStatus('live');
    });
    source.addEventListener('usage', (e) => {
      let d;
      try {
        d = JSON.parse(e.data);
      } catch {
        return;
      }
      if (d && typeof d.line === 'string' && d.usage) this.onUsage(d.line, d.usage);
    });
    source.addEventListener('event', (e) => {
      try {
        this.onEvent(JSON.parse(e.data));
      } catch {
        // A malformed message is dropped; the next usage message carries the state anyway.
      }
    });
    source.addEventListener('error', () => {
      if (this.stopped) return;
      if (source.readyState === EventSource.CLOSED) {
        // Refused (not 200 text/event-stream): poll, and try the stream again later.
        source.close();
        this.source = null;
        this.startPolling();
        this.retryTimer = setTimeout(() => this.connect(), STREAM_RETRY_MS);
      } else if (!this.pollTimer) {
        // The browser reconnects by itself after the server's `retry:` delay.
        this.setStatus('reconnecting');
      }
    });
  }

  startPolling() {
    this.setStatus('polling');
    if (this.pollTimer) return;
    this.poll().catch(() => {});
    this.pollTimer = setInterval(() => this.poll().catch(() => {}), POLL_MS);
  }

  stopPolling() {
    clearInterval(this.pollTimer);
    this.pollTimer = null;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
  }
}
