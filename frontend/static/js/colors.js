// Colours that are data (a member class's colour, set in admin) without inline style
// attributes, which the Content-Security-Policy forbids: an element says
// data-color="#rrggbb" and gets it here, after a check that it is a hex colour. It colours
// a swatch beside the text (site.css), not the text: a colour picked in admin cannot be
// readable on both the light and the dark theme.
for (const el of document.querySelectorAll("[data-color]")) {
  const color = el.dataset.color || "";
  if (/^#[0-9a-f]{3,8}$/i.test(color)) el.style.setProperty("--group-color", color);
}
