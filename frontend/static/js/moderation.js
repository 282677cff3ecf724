// The staff moderation feed: items and reports appear, get claimed and resolved live, with
// who acted. Actions still post through the page's forms.
import { live } from "./live.js";

const root = document.getElementById("moderation-feed");

if (root && live) {
  const status = root.querySelector(".feed-live");
  const find = (kind, id) => root.querySelector(`.feed-item[data-kind="${kind}"][data-id="${id}"]`);
  // Marked once the feed follows the stream: from then on nothing new is missed.
  const onSubscribed = () => { root.dataset.subscribed = "1"; };
  live.subscribe("moderation", (frame) => {
    const p = frame.payload;
    if (frame.event === "moderation.item" || frame.event === "moderation.report") {
      const kind = frame.event === "moderation.item" ? "queue" : "report";
      const known = find(kind, p.id);
      if (known) {
        // A merged report: the count grew.
        if (p.report_count > 1) known.querySelector(".report-count")?.replaceChildren(`×${p.report_count}`);
        return;
      }
      const li = document.createElement("li");
      li.className = "feed-item new";
      li.dataset.kind = kind;
      li.dataset.id = p.id;
      // Staff act on the item's own page (reports, appeals); other items need a reload.
      const href = kind === "report" ? `/staff/reports/${p.id}/`
        : p.source === "appeal" ? `/staff/appeals/target/${p.target_id}/` : null;
      const text = kind === "report"
        ? `${p.reason} on ${p.label || p.target_type}: ${p.summary || ""}`
        : `${p.summary || "New item"} (${p.source || "queue"})`;
      if (href) {
        const a = document.createElement("a");
        a.href = href;
        a.textContent = text;
        li.append(a);
      } else {
        li.textContent = `${text} — reload to act`;
      }
      root.querySelector(`.feed-list[data-kind="${kind}"]`).prepend(li);
      root.querySelector(`.feed-list[data-kind="${kind}"] .feed-empty`)?.remove();
    } else if (frame.event === "moderation.claimed") {
      const item = find(p.kind, p.id);
      if (!item) return;
      item.querySelector(".status").textContent = "claimed";
      item.querySelector(".claimed-by").textContent = `claimed by ${p.claimed_by}`;
      item.querySelector("form[action$='/claim/']")?.remove();
    } else if (frame.event === "moderation.resolved") {
      const item = p.kind ? find(p.kind, p.id) : null;
      if (item) item.remove();
      status.textContent = p.resolved_by ? `${p.resolved_by} resolved an item` : "An item was resolved";
    }
  }, { onSubscribed });
}
