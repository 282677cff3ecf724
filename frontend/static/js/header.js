// The header: the member's figures follow "member.stats" events (sent a few seconds after
// the tracker, the bonus ledger or the hit-and-run job moved them), and the unread
// messages badge follows the inbox stream. The figures are server-rendered; without this
// module they are as of the page load.
import { live } from "./live.js";

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];

// frontend/templatetags/member_tags.py size_iec, the same text.
export function sizeIec(value) {
  let size = Number(value);
  if (!Number.isFinite(size)) return "";
  let unit = 0;
  while (Math.abs(size) >= 1024 && unit < UNITS.length - 1) {
    size /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${Math.trunc(size)} B` : `${size.toFixed(2)} ${UNITS[unit]}`;
}

const stats = document.getElementById("member-stats");
const messages = document.getElementById("live-messages");

function setStat(name, text, value) {
  const el = stats.querySelector(`[data-stat="${name}"]`);
  if (!el || text === undefined || text === null) return;
  el.textContent = String(text);
  if (value !== undefined) el.dataset.value = String(value);
}

function applyStats(p) {
  if (!stats || !p || typeof p !== "object") return;
  if (typeof p.uploaded === "number") setStat("uploaded", sizeIec(p.uploaded), p.uploaded);
  if (typeof p.downloaded === "number") setStat("downloaded", sizeIec(p.downloaded), p.downloaded);
  setStat("ratio", p.ratio);
  setStat("bonus", p.bonus);
  setStat("seeding", p.seeding);
  setStat("leeching", p.leeching);
  if (typeof p.hnr === "number") {
    setStat("hnr", p.hnr);
    stats.querySelector(".stat-hnr")?.setAttribute("data-hnr", String(p.hnr));
  }
}

function setMessages(count) {
  const badge = messages?.querySelector(".badge");
  if (!badge || typeof count !== "number") return;
  const value = Math.max(0, Math.floor(count));
  badge.dataset.unread = String(value);
  badge.textContent = value > 99 ? "99+" : String(value);
  badge.hidden = value === 0;
}

document.addEventListener("live:event", (event) => {
  const frame = event.detail;
  if (frame?.event === "member.stats") applyStats(frame.payload);
});

if (live && messages) {
  live.subscribe("inbox", (frame) => setMessages(frame.payload?.unread), {
    onSubscribed: (payload) => setMessages(payload.unread ?? 0),
  });
}
