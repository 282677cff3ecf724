// The warning banner: shown at once when staff warn the member (a bare "live.event" with
// kind "warnings" on the member's own group), hidden when every warning is acknowledged
// or lifted, on every open tab. The banner's forms work without this module.
const banner = document.getElementById("warning-banner");

const csrf = banner?.querySelector(".csrf input[name=csrfmiddlewaretoken]")?.value ?? "";

function render(items) {
  banner.querySelector(".warning-items").replaceChildren(...items.map((w) => {
    const div = document.createElement("div");
    div.className = "warning-item";
    div.dataset.id = w.id;
    const strong = document.createElement("strong");
    strong.textContent = `You have been warned (${w.points} point${w.points === 1 ? "" : "s"}):`;
    const reason = document.createElement("span");
    reason.className = "warning-reason";
    reason.textContent = ` ${w.reason} `;
    const form = document.createElement("form");
    form.method = "post";
    form.className = "inline-form";
    form.action = `/warnings/${w.id}/acknowledge/`;
    for (const [name, value] of [["csrfmiddlewaretoken", csrf], ["next", location.pathname + location.search]]) {
      const input = document.createElement("input");
      input.type = "hidden";
      input.name = name;
      input.value = value;
      form.append(input);
    }
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "warning-ack";
    button.textContent = "I understand";
    form.append(button);
    const appeal = document.createElement("a");
    appeal.href = "/appeals/";
    appeal.textContent = "Appeal";
    div.append(strong, reason, form, " ", appeal);
    return div;
  }));
  banner.hidden = items.length === 0;
}

if (banner) {
  document.addEventListener("live:event", (event) => {
    const frame = event.detail;
    if (frame.stream || frame.payload?.kind !== "warnings") return;
    render(Array.isArray(frame.payload.unacknowledged) ? frame.payload.unacknowledged : []);
  });
}
