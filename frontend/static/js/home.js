// The home page's chat preview follows its room over the tab's socket: a new message is
// added at the bottom (the oldest dropped past the preview's size), an edit replaces its
// text, a deletion removes it. The server checks the member may read the room when the
// page subscribes; if they lose access, the preview says so. Member text is set with
// textContent. Without this module the preview is as of the page load.
import { live } from "./live.js";

const root = document.getElementById("home-chat");

function authorLink(name) {
  const author = document.createElement("span");
  author.className = "author";
  if (name && name !== "[deleted]") {
    // As the server renders names (member_tags.member_link): linked to the profile.
    const link = document.createElement("a");
    link.className = "member";
    link.href = `/users/${encodeURIComponent(name)}/`;
    link.textContent = name;
    author.append(link);
  } else {
    const plain = document.createElement("span");
    plain.className = "member deleted";
    plain.textContent = name || "[deleted]";
    author.append(plain);
  }
  return author;
}

if (root && live) {
  const list = root.querySelector(".home-chat-messages");
  const size = Math.max(1, Number(root.dataset.size) || 6);
  const find = (id) => [...list.querySelectorAll(".home-chat-message")]
    .find((li) => li.dataset.id === id);

  const apply = (p) => {
    if (!p || typeof p.id !== "string") return;
    let li = find(p.id);
    if (p.deleted) {
      li?.remove();
      return;
    }
    if (!li) {
      list.querySelector(".empty")?.remove();
      li = document.createElement("li");
      li.className = "home-chat-message";
      li.dataset.id = p.id;
      const body = document.createElement("span");
      body.className = "body";
      li.append(authorLink(p.username), " ", body);
      li.dataset.createdAt = p.created_at ?? "";
      // In the room's order: a catch-up after a reconnect may bring an older message.
      // The same ISO format throughout (UTC), so string order is time order.
      const later = [...list.querySelectorAll(".home-chat-message")]
        .find((other) => (other.dataset.createdAt ?? "") > li.dataset.createdAt);
      list.insertBefore(li, later ?? null);
      const shown = list.querySelectorAll(".home-chat-message");
      for (let i = 0; i < shown.length - size; i += 1) shown[i].remove();
      if (!li.isConnected) return; // older than the whole preview
    }
    if (typeof p.event_id === "string") li.dataset.eventId = p.event_id;
    li.querySelector(".body").textContent = p.body ?? "";
  };

  live.subscribe(root.dataset.stream, (frame) => {
    if (frame.event === "chat.message") apply(frame.payload);
  }, {
    // What the server rendered is held already: the catch-up leaves it out.
    since: root.dataset.lastEventId,
    have: [...list.querySelectorAll(".home-chat-message[data-id][data-event-id]")]
      .map((li) => `${li.dataset.eventId}:${li.dataset.id}`),
    // Reading the room from the home page does not put the member in its presence list.
    watch: true,
    onSubscribed: () => { root.dataset.subscribed = "1"; },
    onUnsubscribed: () => {
      root.dataset.subscribed = "0";
      list.replaceChildren();
      const gone = document.createElement("li");
      gone.className = "empty";
      gone.textContent = "You can no longer read this room.";
      list.append(gone);
    },
  });
}
