// The tab's one live socket: connects to /ws/, reconnects with capped exponential backoff
// and jitter, keeps the notification badge current and re-dispatches every event as a DOM
// event ("live:event") so other modules can listen without opening sockets of their own.
// Page modules follow streams with `live.subscribe(stream, onEvent, {since, have})`: after
// every (re)connect the socket resubscribes with the last event id it saw on that stream
// (`since`) and the events it holds from the replay window before it (`have`, each
// "<event id>:<item id>"; a page passes those it rendered itself). Event ids are stamped
// before commit, so a change can appear after one stamped later: the server replays from
// `since` minus the window (hello's `replay_window_ms`) and leaves out what `have` names.
// An event whose key this tab already holds is dropped before any handler sees it (a live
// event can race the replay that repeats it), so nothing reaches the page twice. A stream
// with no event yet starts from the position in its "subscribed" reply.
// The server may end a stream itself ({"type": "unsubscribed", "stream", "id": null,
// "payload": {"reason", "code", "message"}}) when the member may no longer follow it (a
// class change, a topic moved to a staff forum): the tab forgets the stream (no
// resubscribe on reconnect), calls the subscriber's `onUnsubscribed(payload)` and, as for
// every frame, dispatches "live:unsubscribed".
// `live.request(frame)` sends an action and resolves with its "ok" reply (rejects with the
// error frame's payload). Pages work without it: everything it shows is also reachable by
// reloading, and every form posts without it.

const BACKOFF_BASE_MS = 1000;
const BACKOFF_CAP_MS = 30000;
const HEARTBEAT_EVERY_MS = 25000;
const HEARTBEAT_GRACE_MS = 10000;
// The server closes with 4401 when the session is not (or no longer) valid: retrying
// cannot help until the member logs in again.
const CLOSE_UNAUTHORIZED = 4401;
// The member has too many sockets open (other tabs): try again, slowly, as they close.
const CLOSE_TOO_MANY_SOCKETS = 4429;
// The server refuses a longer `have` list (consumers/live.py MAX_HAVE).
const MAX_HAVE = 500;
const HAVE_KEY = /^\d{17}:[0-9A-Za-z-]{1,64}$/;
// Until the server's hello says otherwise (LIVE_CATCH_UP_SETTLE_SECONDS).
const DEFAULT_REPLAY_WINDOW_MS = 10000;

const root = document.getElementById("live-notifications");

function socketUrl(path) {
  const scheme = window.location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${window.location.host}${path}`;
}

function isEventId(value) {
  return typeof value === "string" && /^\d{17}$/.test(value);
}

function backoffDelay(attempt) {
  // "Equal jitter": at least half the exponential delay, so a server restart does not get
  // every tab back in the same instant, and never an immediate retry loop.
  const exp = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return exp / 2 + Math.random() * (exp / 2);
}

class LiveSocket {
  constructor(element) {
    this.element = element;
    this.badge = element.querySelector(".badge");
    this.url = socketUrl(element.dataset.socketPath || "/ws/");
    this.socket = null;
    this.attempt = 0;
    this.reconnectTimer = null;
    this.heartbeatTimer = null;
    this.pongTimer = null;
    this.nextId = 1;
    this.stopped = false;
    this.replayWindowMs = DEFAULT_REPLAY_WINDOW_MS;
    // stream -> {handlers: Set, lastId: string, held: Map key -> event id, onSubscribed}
    this.streams = new Map();
    this.pending = new Map(); // request id -> {resolve, reject}
    this.subscribe("notifications", () => {}, {
      onSubscribed: (payload) => this.setUnread(payload.unread ?? 0),
    });

    window.addEventListener("online", () => this.reconnectNow());
  }

  setState(state) {
    this.element.dataset.state = state;
  }

  setUnread(count) {
    if (!this.badge) return;
    const value = Math.max(0, Math.floor(count));
    this.badge.dataset.unread = String(value);
    this.badge.textContent = value > 99 ? "99+" : String(value);
    this.badge.hidden = value === 0;
  }

  unread() {
    return Number(this.badge?.dataset.unread || 0);
  }

  connect() {
    if (this.stopped) return;
    this.setState("connecting");
    const socket = new WebSocket(this.url);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.attempt = 0;
      this.setState("online");
      this.startHeartbeat();
      for (const stream of this.streams.keys()) this.sendSubscribe(stream);
    });
    socket.addEventListener("message", (message) => this.onMessage(message));
    socket.addEventListener("close", (event) => {
      if (this.socket !== socket) return; // a socket we already gave up on
      this.onClose(event.code);
    });
  }

  onMessage(message) {
    let frame;
    try {
      frame = JSON.parse(message.data);
    } catch {
      return;
    }
    if (!frame || typeof frame !== "object") return;
    let fresh = true;
    switch (frame.type) {
      case "pong":
        window.clearTimeout(this.pongTimer);
        this.pongTimer = null;
        break;
      case "event":
        if (frame.stream) fresh = this.onStreamEvent(frame);
        // A named bare event (access.changed) is for the listeners of "live:event", not
        // a notification for the badge.
        else if (!frame.event) this.onEvent(frame.payload ?? {});
        break;
      case "unsubscribed":
        if (!this.settle(frame, true)) this.onUnsubscribed(frame);
        break;
      case "notification":
        if (typeof frame.payload?.unread === "number") this.setUnread(frame.payload.unread);
        fresh = this.onStreamEvent({ ...frame, event: "notification.new" });
        break;
      case "hello":
        if (typeof frame.payload?.replay_window_ms === "number") {
          this.replayWindowMs = Math.max(DEFAULT_REPLAY_WINDOW_MS, frame.payload.replay_window_ms);
        }
        break;
      case "subscribed": {
        const entry = this.streams.get(frame.stream);
        // No event seen yet: what follows the snapshot is what a reconnect must catch up.
        if (entry && !entry.lastId && isEventId(frame.event_id)) entry.lastId = frame.event_id;
        entry?.onSubscribed?.(frame.payload ?? {});
        this.settle(frame, true);
        break;
      }
      case "ok":
      case "history":
        this.settle(frame, true);
        break;
      case "error":
        if (!this.settle(frame, false)) console.warn("live socket error", frame.payload);
        break;
      default:
        break;
    }
    if (fresh) document.dispatchEvent(new CustomEvent(`live:${frame.type}`, { detail: frame }));
  }

  // Streams ------------------------------------------------------------------------

  subscribe(stream, handler, { since = "", have = [], onSubscribed = null,
                               onUnsubscribed = null, watch = false } = {}) {
    let entry = this.streams.get(stream);
    if (!entry) {
      entry = { handlers: new Set(), lastId: isEventId(since) ? since : "", held: new Map(),
                onSubscribed, onUnsubscribed, watch };
      for (const key of have) {
        const eventId = String(key).split(":", 1)[0];
        if (isEventId(eventId)) entry.held.set(String(key), eventId);
      }
      this.forgetOld(entry);
      this.streams.set(stream, entry);
      this.sendSubscribe(stream);
    }
    entry.handlers.add(handler);
    if (onSubscribed) entry.onSubscribed = onSubscribed;
    if (onUnsubscribed) entry.onUnsubscribed = onUnsubscribed;
    return () => entry.handlers.delete(handler);
  }

  // The server ended a stream this member may no longer follow: forget it, so a reconnect
  // does not ask for it again, and tell its page.
  onUnsubscribed(frame) {
    const entry = this.streams.get(frame.stream);
    if (!entry) return;
    this.streams.delete(frame.stream);
    entry.onUnsubscribed?.(frame.payload ?? {});
  }

  sendSubscribe(stream) {
    const entry = this.streams.get(stream);
    if (!entry) return;
    const frame = { type: "subscribe", stream, id: this.nextId++ };
    if (entry.lastId) {
      // The newest MAX_HAVE held keys the server can read.
      const have = [...entry.held.entries()].filter(([key]) => HAVE_KEY.test(key))
        .sort((a, b) => (a[1] < b[1] ? 1 : -1)).slice(0, MAX_HAVE).map(([key]) => key);
      frame.payload = { since: entry.lastId, have };
    }
    // A page that only shows a room (the home page's chat preview) does not enter it.
    if (entry.watch) frame.payload = { ...(frame.payload ?? {}), watch: true };
    this.send(frame);
  }

  // Keys older than the replay window before the last id cannot come again: drop them.
  forgetOld(entry) {
    if (!entry.lastId) return;
    const floor = Number(entry.lastId) - this.replayWindowMs * 1000;
    for (const [key, eventId] of entry.held) {
      if (Number(eventId) < floor) entry.held.delete(key);
    }
  }

  // Hands a stream's event to its handlers; false when it was one this tab already had.
  onStreamEvent(frame) {
    const entry = this.streams.get(frame.stream);
    if (!entry) return true;
    const itemId = frame.payload?.id;
    if (isEventId(frame.event_id) && (typeof itemId === "string" || typeof itemId === "number")) {
      const key = `${frame.event_id}:${itemId}`;
      if (entry.held.has(key)) return false; // a replay repeating a live event, or so
      entry.held.set(key, frame.event_id);
    }
    // Ids are fixed-width digit strings: string order is time order.
    if (isEventId(frame.event_id) && frame.event_id > entry.lastId) {
      entry.lastId = frame.event_id;
      this.forgetOld(entry);
    }
    if (frame.event === "notification.read" && typeof frame.payload?.unread === "number") {
      this.setUnread(frame.payload.unread);
    }
    for (const handler of entry.handlers) handler(frame);
    return true;
  }

  request(frame) {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      if (!this.send({ ...frame, id })) {
        reject({ code: "offline", message: "Not connected; try again in a moment." });
        return;
      }
      this.pending.set(id, { resolve, reject });
    });
  }

  settle(frame, ok) {
    const waiter = this.pending.get(frame.id);
    if (!waiter) return false;
    this.pending.delete(frame.id);
    if (ok) waiter.resolve(frame);
    else waiter.reject(frame.payload ?? {});
    return true;
  }

  onEvent(payload) {
    if (typeof payload.unread === "number") {
      this.setUnread(payload.unread);
    } else {
      this.setUnread(this.unread() + 1);
    }
  }

  onClose(code) {
    this.stopHeartbeat();
    for (const waiter of this.pending.values()) {
      waiter.reject({ code: "offline", message: "Connection lost; try again." });
    }
    this.pending.clear();
    this.socket = null;
    this.setState("offline");
    if (code === CLOSE_UNAUTHORIZED) {
      this.stopped = true;
      return;
    }
    if (code === CLOSE_TOO_MANY_SOCKETS) {
      this.setState("too-many-tabs");
      this.attempt = Math.max(this.attempt, 6); // about the backoff cap
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (this.stopped || this.reconnectTimer !== null) return;
    const delay = backoffDelay(this.attempt);
    this.attempt += 1;
    this.reconnectTimer = window.setTimeout(() => {
      this.reconnectTimer = null;
      this.connect();
    }, delay);
  }

  reconnectNow() {
    if (this.stopped || this.socket !== null) return;
    window.clearTimeout(this.reconnectTimer);
    this.reconnectTimer = null;
    this.connect();
  }

  send(frame) {
    if (this.socket?.readyState !== WebSocket.OPEN) return false;
    this.socket.send(JSON.stringify(frame));
    return true;
  }

  startHeartbeat() {
    this.stopHeartbeat();
    this.heartbeatTimer = window.setInterval(() => {
      if (this.pongTimer !== null) return;
      this.send({ type: "ping", id: this.nextId++ });
      this.pongTimer = window.setTimeout(() => this.abandon(), HEARTBEAT_GRACE_MS);
    }, HEARTBEAT_EVERY_MS);
  }

  stopHeartbeat() {
    window.clearInterval(this.heartbeatTimer);
    window.clearTimeout(this.pongTimer);
    this.heartbeatTimer = null;
    this.pongTimer = null;
  }

  // A half-open connection may take minutes to report its close: stop waiting for it.
  abandon() {
    const socket = this.socket;
    this.onClose(1006);
    socket?.close();
  }
}

export const live = root && "WebSocket" in window ? new LiveSocket(root) : null;
live?.connect();
