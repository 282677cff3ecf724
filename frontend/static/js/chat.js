// A chat room made live: messages, edits and deletions arrive over the tab's socket and are
// upserted by message id; the form sends over the socket (it still posts without it);
// presence and typing hints; older history on demand. Member text is set with textContent.
import { live } from "./live.js";

const TYPING_SHOWN_MS = 3000;
const root = document.getElementById("chat-room");

function messageItem(p) {
  const li = document.createElement("li");
  li.className = "chat-message";
  li.id = `msg-${p.id}`;
  li.dataset.id = p.id;
  const time = document.createElement("time");
  time.dateTime = p.created_at;
  time.textContent = p.created_at.slice(11, 16);
  const author = document.createElement("b");
  author.className = "author";
  author.textContent = p.username;
  const body = document.createElement("span");
  body.className = "body";
  li.append(time, " ", author, " ", body);
  return li;
}

function render(li, p) {
  li.dataset.eventId = p.event_id;
  li.querySelector(".body").textContent = p.deleted ? "(deleted)" : p.body;
  li.classList.toggle("deleted", p.deleted);
  if (p.edited && !li.querySelector(".edited")) {
    const small = document.createElement("small");
    small.className = "edited";
    small.textContent = " (edited)";
    li.append(small);
  }
}

if (root && live) {
  const stream = root.dataset.stream;
  const log = root.querySelector(".chat-log");
  const form = root.querySelector(".chat-form");
  const input = form?.querySelector("input[name=body]");
  const typing = root.querySelector(".typing");
  const presence = root.querySelector(".presence-names");
  const older = root.querySelector(".load-older");
  let typingTimer = null;
  const here = new Set();
  const showPresence = () => {
    presence.textContent = [...here].sort((a, b) => a.localeCompare(b)).join(", ");
  };

  const upsert = (p, { prepend = false } = {}) => {
    root.querySelector(".chat-empty")?.remove();
    let li = document.getElementById(`msg-${p.id}`);
    if (!li) {
      if (p.deleted) return;
      li = messageItem(p);
      if (prepend) log.prepend(li);
      else log.append(li);
    }
    render(li, p);
  };

  live.subscribe(stream, (frame) => {
    const p = frame.payload;
    if (frame.event === "chat.message") {
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 20;
      upsert(p);
      if (atBottom) log.scrollTop = log.scrollHeight;
    } else if (frame.event === "chat.presence") {
      if (p.joined) here.add(p.joined);
      if (p.left) here.delete(p.left);
      showPresence();
    } else if (frame.event === "chat.typing" && p.username !== root.dataset.username) {
      typing.textContent = `${p.username} is typing…`;
      window.clearTimeout(typingTimer);
      typingTimer = window.setTimeout(() => { typing.textContent = ""; }, TYPING_SHOWN_MS);
    }
  }, {
    // The messages the server rendered are held already: a catch-up leaves them out.
    since: root.dataset.lastEventId,
    have: [...log.querySelectorAll(".chat-message[data-id][data-event-id]")]
      .map((li) => `${li.dataset.eventId}:${li.dataset.id}`),
    onSubscribed: (payload) => {
      here.clear();
      for (const name of payload.members || []) here.add(name);
      showPresence();
      if (older) older.hidden = false;
    },
  });

  form?.addEventListener("submit", (event) => {
    if (live.socket?.readyState !== WebSocket.OPEN) return; // fall back to the plain post
    event.preventDefault();
    const body = input.value;
    form.querySelector(".form-errors")?.remove();
    live.request({ type: "chat.post", stream, payload: { body } }).then(() => {
      input.value = "";
    }, (error) => {
      const box = document.createElement("div");
      box.className = "form-errors";
      box.setAttribute("role", "alert");
      box.textContent = error.message || "Not sent.";
      form.prepend(box);
    });
  });

  input?.addEventListener("input", () => live.send({ type: "chat.typing", stream }));

  older?.addEventListener("click", () => {
    const first = log.querySelector(".chat-message");
    if (!first) return;
    live.request({ type: "chat.history", stream, payload: { before: first.dataset.eventId } })
      .then((frame) => {
        const items = frame.payload.items;
        for (const p of items.reverse()) upsert(p, { prepend: true });
        if (!items.length) older.hidden = true;
      }, () => {});
  });
}
