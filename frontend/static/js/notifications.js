// The notifications page: new ones appear at the top and the unread total follows the
// socket (other tabs marking read included).
import { live } from "./live.js";

const root = document.getElementById("notifications-page");

if (root && live) {
  const list = root.querySelector(".notification-list");
  const total = root.querySelector(".unread-total");
  const setTotal = (n) => { total.textContent = `(${n} unread)`; };
  live.subscribe("notifications", (frame) => {
    const p = frame.payload;
    if (typeof p.unread === "number") setTotal(p.unread);
    if (frame.event !== "notification.new" || list.querySelector(`[data-id="${p.id}"]`)) return;
    const li = document.createElement("li");
    li.className = "notification unread";
    li.dataset.id = p.id;
    const link = document.createElement(p.url ? "a" : "span");
    if (p.url && p.url.startsWith("/")) link.href = p.url;
    link.textContent = p.title;
    li.append(link);
    list.prepend(li);
  });
}
