// Colours that are data (a member class's colour, set in admin) without inline style
// attributes, which the Content-Security-Policy forbids: an element says
// data-color="#rrggbb" and gets it here, after a check that it is a hex colour.
for (const el of document.querySelectorAll("[data-color]")) {
  const color = el.dataset.color || "";
  if (/^#[0-9a-f]{3,8}$/i.test(color)) el.style.color = color;
}
