// The colour theme. Without this script the system's choice applies (site.css follows
// prefers-color-scheme). A member may pick one with the header's toggle: it is kept in
// localStorage and set as data-theme="dark|light" on <html>, which site.css prefers over
// the system's. A classic script loaded in <head>, so a kept choice applies before the
// first paint; the toggle is shown only once this script runs.
(() => {
  const KEY = "theme";
  const root = document.documentElement;
  const systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  function kept() {
    try {
      const value = window.localStorage.getItem(KEY);
      return value === "dark" || value === "light" ? value : null;
    } catch {
      return null; // storage blocked: the system's theme, and the toggle for this page
    }
  }

  function current() {
    const chosen = root.dataset.theme;
    if (chosen === "dark" || chosen === "light") return chosen;
    return systemDark.matches ? "dark" : "light";
  }

  const choice = kept();
  if (choice) root.dataset.theme = choice;

  function show(button) {
    button.setAttribute("aria-pressed", String(current() === "dark"));
  }

  function wire() {
    const button = document.getElementById("theme-toggle");
    if (!button) return;
    show(button);
    button.hidden = false;
    button.addEventListener("click", () => {
      const next = current() === "dark" ? "light" : "dark";
      root.dataset.theme = next;
      try {
        window.localStorage.setItem(KEY, next);
      } catch {
        // not kept; this page still switches
      }
      show(button);
    });
    systemDark.addEventListener("change", () => show(button));
    // Another tab chose: follow it.
    window.addEventListener("storage", (event) => {
      if (event.key !== KEY) return;
      const value = kept();
      if (value) root.dataset.theme = value;
      else delete root.dataset.theme;
      show(button);
    });
  }

  // A classic script in <head>: the document is still loading when this runs.
  document.addEventListener("DOMContentLoaded", wire);
})();
