// A chat room made live: messages, edits and deletions arrive over the tab's socket and are
// upserted by message id; the form sends over the socket (it still posts without it);
// presence and typing hints; the viewer's @name marked; older history as the top of the
// log scrolls into view. Member text is set with textContent.
// Each message carries the actions the member may take on it, sent over the socket: edit
// (own), delete (own, or a room moderator's), mute the author (moderators, others'
// messages). The buttons only spare a useless click: the server checks every action.
import { live } from "./live.js";

const TYPING_SHOWN_MS = 3000;
// The server drops hints closer together than this (TYPING_EVERY_SECONDS): send no more.
const TYPING_EVERY_MS = 2000;
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
  if (p.username && p.username !== "[deleted]") {
    // As the server renders names (member_tags.member_link): linked to the profile.
    const link = document.createElement("a");
    link.className = "member";
    link.href = `/users/${encodeURIComponent(p.username)}/`;
    link.textContent = p.username;
    author.append(link);
  } else {
    author.textContent = p.username;
  }
  const body = document.createElement("span");
  body.className = "body";
  li.append(time, " ", author, " ", body);
  return li;
}

const MUTE_MINUTES = 10;

function actionButton(action, label) {
  const button = document.createElement("button");
  button.type = "button";
  button.className = `link-button chat-${action}`;
  button.dataset.action = action;
  button.textContent = label;
  return button;
}

// The buttons one message gets: a server-rendered delete form stays as the no-JS way.
function addActions(li, { own, canModerate, deleted }) {
  let box = li.querySelector(".chat-actions");
  if (deleted) {
    box?.remove();
    li.querySelector("form.inline-form")?.remove();
    li.querySelector(".chat-report")?.remove();
    return;
  }
  if (!own && !li.querySelector(".chat-report")) {
    // Reporting is a page of its own (reason and text), like on the server-rendered list.
    const report = document.createElement("a");
    report.className = "chat-report";
    report.href = `/report/chat_message/${encodeURIComponent(li.dataset.id)}/`;
    report.textContent = "report";
    li.append(" ", report);
  }
  if (box) return;
  box = document.createElement("span");
  box.className = "chat-actions";
  if (own) box.append(actionButton("edit", "edit"));
  if (own || canModerate) box.append(actionButton("delete", "delete"));
  if (canModerate && !own) box.append(actionButton("mute", "mute"));
  if (!box.childElementCount) return;
  li.querySelector("form.inline-form")?.remove();
  li.append(" ", box);
}

function showError(li, message) {
  li.querySelector(".chat-error")?.remove();
  const box = document.createElement("span");
  box.className = "chat-error form-errors";
  box.setAttribute("role", "alert");
  box.textContent = message || "Not done.";
  li.append(" ", box);
}

// The viewer's own @name, as the service finds mentions (not inside a word).
const escapeRe = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
const MENTION = root?.dataset.username
  ? new RegExp(`(?<![\\w@])@${escapeRe(root.dataset.username)}(?![A-Za-z0-9_.-])`, "gi")
  : null;

// Member text as text nodes, the viewer's mentions inside <mark> (never parsed as HTML).
function setBody(el, text) {
  el.textContent = "";
  let last = 0;
  for (const match of MENTION ? text.matchAll(MENTION) : []) {
    el.append(text.slice(last, match.index));
    const mark = document.createElement("mark");
    mark.className = "mention";
    mark.textContent = match[0];
    el.append(mark);
    last = match.index + match[0].length;
  }
  el.append(text.slice(last));
}

function render(li, p) {
  li.dataset.eventId = p.event_id;
  if (p.username) li.dataset.username = p.username;
  if (p.deleted) li.querySelector(".body").textContent = "(deleted)";
  else setBody(li.querySelector(".body"), p.body);
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
  const top = root.querySelector(".history-top");
  const typers = new Map(); // name -> when their hint goes stale
  let typingTimer = null;
  let lastTyping = 0;
  let historyDone = false;
  let historyBusy = false;
  const here = new Set();
  const showPresence = () => {
    presence.textContent = [...here].sort((a, b) => a.localeCompare(b)).join(", ");
  };

  const me = root.dataset.username;
  const canModerate = root.dataset.canModerate === "1";
  const actionsFor = (li, deleted) => addActions(li, {
    own: li.dataset.username === me, canModerate, deleted });

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
    actionsFor(li, p.deleted);
  };

  // Messages the server rendered: their author's name is in the markup.
  for (const li of log.querySelectorAll(".chat-message[data-id]")) {
    li.dataset.username = li.querySelector(".author")?.textContent ?? "";
    actionsFor(li, li.classList.contains("deleted"));
  }

  const act = (li, frame) => live.request(frame).then(
    () => li.querySelector(".chat-error")?.remove(),
    (error) => { showError(li, error.message); throw error; });

  const startEdit = (li) => {
    if (li.querySelector(".chat-edit-form")) return;
    const edit = document.createElement("form");
    edit.className = "chat-edit-form inline-form";
    const field = document.createElement("input");
    field.name = "body";
    field.value = li.querySelector(".body").textContent;
    field.setAttribute("aria-label", "Edit message");
    const save = document.createElement("button");
    save.type = "submit";
    save.textContent = "save";
    const cancel = actionButton("cancel-edit", "cancel");
    edit.append(field, " ", save, " ", cancel);
    li.append(edit);
    field.focus();
    cancel.addEventListener("click", () => edit.remove());
    edit.addEventListener("submit", (event) => {
      event.preventDefault();
      act(li, { type: "chat.edit", stream,
                payload: { message_id: li.dataset.id, body: field.value } })
        .then(() => edit.remove(), () => {});
    });
  };

  const startMute = (li) => {
    if (li.querySelector(".chat-mute-form")) return;
    const mute = document.createElement("form");
    mute.className = "chat-mute-form inline-form";
    const minutes = document.createElement("input");
    minutes.name = "minutes";
    minutes.type = "number";
    minutes.min = "1";
    minutes.value = String(MUTE_MINUTES);
    minutes.setAttribute("aria-label", "Minutes");
    const reason = document.createElement("input");
    reason.name = "reason";
    reason.placeholder = "reason";
    reason.setAttribute("aria-label", "Reason");
    const save = document.createElement("button");
    save.type = "submit";
    save.textContent = `mute ${li.dataset.username}`;
    const cancel = actionButton("cancel-mute", "cancel");
    mute.append(minutes, " ", reason, " ", save, " ", cancel);
    li.append(mute);
    cancel.addEventListener("click", () => mute.remove());
    mute.addEventListener("submit", (event) => {
      event.preventDefault();
      act(li, { type: "chat.mute", stream, payload: {
        username: li.dataset.username, minutes: Number(minutes.value), reason: reason.value } })
        .then((frame) => {
          mute.remove();
          const note = document.createElement("small");
          note.className = "chat-muted";
          note.textContent = ` (muted until ${String(frame.payload?.until ?? "").slice(0, 16)})`;
          li.append(note);
        }, () => {});
    });
  };

  log.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    const li = button?.closest(".chat-message");
    if (!li) return;
    if (button.dataset.action === "edit") startEdit(li);
    else if (button.dataset.action === "mute") startMute(li);
    else if (button.dataset.action === "delete") {
      act(li, { type: "chat.delete", stream, payload: { message_id: li.dataset.id } })
        .catch(() => {});
    }
  });

  live.subscribe(stream, (frame) => {
    const p = frame.payload;
    if (frame.event === "chat.message") {
      const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 20;
      upsert(p);
      if (atBottom) log.scrollTop = log.scrollHeight;
    } else if (frame.event === "chat.presence") {
      // Coalesced: each frame names everyone whose presence changed since the last one,
      // with their state now; applied as a set, a frame racing the member list is harmless.
      for (const name of p.left || []) here.delete(name);
      for (const name of p.joined || []) here.add(name);
      showPresence();
    } else if (frame.event === "chat.typing" && p.username !== root.dataset.username) {
      // One line for everyone typing, each name dropped TYPING_SHOWN_MS after its last hint.
      typers.set(p.username, Date.now() + TYPING_SHOWN_MS);
      showTyping();
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
      root.dataset.subscribed = "1";
    },
    // The member may no longer read this room (a class change): the page says so.
    onUnsubscribed: () => window.location.reload(),
  });

  function showTyping() {
    const now = Date.now();
    for (const [name, until] of typers) if (until <= now) typers.delete(name);
    const names = [...typers.keys()].sort((a, b) => a.localeCompare(b));
    typing.textContent = names.length === 0 ? ""
      : names.length === 1 ? `${names[0]} is typing…`
      : names.length <= 3 ? `${names.join(", ")} are typing…`
      : `${names.length} people are typing…`;
    window.clearTimeout(typingTimer);
    if (names.length) typingTimer = window.setTimeout(showTyping, 500);
  }

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

  input?.addEventListener("input", () => {
    const now = Date.now();
    if (now - lastTyping < TYPING_EVERY_MS) return;
    lastTyping = now;
    live.send({ type: "chat.typing", stream });
  });

  // History on scroll: when the top of the log comes into view, the page before its
  // oldest message (cursor: that message's id), kept in place on screen.
  const loadOlder = () => {
    const first = log.querySelector(".chat-message[data-id]");
    if (!first || historyDone || historyBusy || root.dataset.subscribed !== "1") return;
    historyBusy = true;
    const height = document.documentElement.scrollHeight;
    live.request({ type: "chat.history", stream, payload: { before_id: first.dataset.id } })
      .then((frame) => {
        const items = frame.payload.items;
        for (const p of items.reverse()) upsert(p, { prepend: true });
        window.scrollBy(0, document.documentElement.scrollHeight - height);
        if (!items.length) {
          historyDone = true;
          if (older) older.hidden = true;
        }
      }, () => {}).finally(() => { historyBusy = false; });
  };
  older?.addEventListener("click", (event) => {
    if (live.socket?.readyState !== WebSocket.OPEN) return; // the plain link then
    event.preventDefault();
    loadOlder();
  });
  if (top && older && "IntersectionObserver" in window) {
    new IntersectionObserver((entries) => {
      if (entries.some((e) => e.isIntersecting)) loadOlder();
    }).observe(top);
  }
}
