// The staff moderation feed: items and reports appear, get claimed and resolved live, with
// who acted. Claim and Resolve go over the socket (moderation.claim / moderation.resolve);
// every open feed, this one included, then updates from the event the server sends. The
// forms still post without the socket (offline, or no JS).
import { live } from "./live.js";

const root = document.getElementById("moderation-feed");

if (root && live) {
  const status = root.querySelector(".feed-live");
  const find = (kind, id) => root.querySelector(`.feed-item[data-kind="${kind}"][data-id="${id}"]`);
  // Marked once the feed follows the stream: from then on nothing new is missed.
  const onSubscribed = () => { root.dataset.subscribed = "1"; };
  const showError = (li, message) => {
    let box = li.querySelector(".feed-error");
    if (!box) {
      box = document.createElement("span");
      box.className = "feed-error error";
      box.setAttribute("role", "alert");
      li.append(box);
    }
    box.textContent = message || "That did not work.";
  };
  // Forms built here post too when the socket is down: they carry the page's CSRF token.
  const token = document.querySelector("input[name=csrfmiddlewaretoken]")?.value ?? "";
  const csrf = () => {
    const input = document.createElement("input");
    input.type = "hidden";
    input.name = "csrfmiddlewaretoken";
    input.value = token;
    return input;
  };
  const claimForm = (kind, id) => {
    const form = document.createElement("form");
    form.method = "post";
    form.className = "inline-form";
    form.action = `/moderation/feed/${kind}/${id}/claim/`;
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Claim";
    form.append(csrf(), button);
    return form;
  };
  const resolveForm = (id) => {
    const form = document.createElement("form");
    form.method = "post";
    form.className = "inline-form";
    form.action = `/moderation/feed/report/${id}/resolve/`;
    const note = document.createElement("input");
    note.name = "note";
    note.setAttribute("aria-label", "What was done");
    const label = document.createElement("label");
    label.className = "checkbox";
    const dismiss = document.createElement("input");
    dismiss.type = "checkbox";
    dismiss.name = "dismiss";
    label.append(dismiss, " dismiss");
    const button = document.createElement("button");
    button.type = "submit";
    button.textContent = "Resolve";
    form.append(csrf(), note, " ", label, button);
    return form;
  };
  root.addEventListener("submit", (event) => {
    const form = event.target;
    const li = form.closest(".feed-item");
    if (!li || live.element.dataset.state !== "online") return;  // offline: the form posts
    const claim = form.action.includes("/claim/");
    const frame = claim
      ? { type: "moderation.claim", payload: { kind: li.dataset.kind, id: li.dataset.id } }
      : { type: "moderation.resolve", payload: { id: li.dataset.id,
          note: form.elements.note?.value ?? "", dismiss: !!form.elements.dismiss?.checked } };
    event.preventDefault();
    for (const b of form.querySelectorAll("button")) b.disabled = true;
    live.request(frame).then(
      () => li.querySelector(".feed-error")?.remove(),
      (error) => showError(li, error.message),
    ).finally(() => { for (const b of form.querySelectorAll("button")) b.disabled = false; });
  });
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
        li.textContent = text;
      }
      const state = document.createElement("span");
      state.className = "status";
      state.textContent = p.status || "open";
      const by = document.createElement("span");
      by.className = "claimed-by";
      li.prepend(state, " ");
      li.append(" ", by, claimForm(kind, p.id));
      if (kind === "report") li.append(resolveForm(p.id));
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
  }, {
    onSubscribed,
    // No longer staff: the page says so (or sends the member elsewhere).
    onUnsubscribed: () => window.location.reload(),
  });
}
