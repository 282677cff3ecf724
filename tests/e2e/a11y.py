"""What a keyboard or screen-reader member and either colour theme need of a page (issue
18.6), checked in the page as it is rendered in headless Chromium (tests/e2e/cdp.py):

- every visible form control and button has an accessible name (its label, aria-label,
  aria-labelledby or title; a placeholder is not one), and no id repeats (a <label for> or
  aria-labelledby would name the wrong control); no script gives a click handler to an
  element the keyboard cannot reach (CLICK_WATCH records them);
- the first focusable element is the "Skip to content" link and its target is the page's
  <main>; the first Tab focuses it, shown, with a focus outline; Enter on it moves the
  keyboard into <main> (a page that focuses a field on load, the login form, starts there
  instead: that focus must show, and so must the next Tab's);
- every focusable element shows a focus outline when it has keyboard focus;
- in the light and the dark theme, each as the system's choice and as the member's choice
  over the other system theme, all visible text (and the text of body, main and every
  table cell) has a WCAG contrast of at least 4.5:1 on its background (3:1 for large text),
  and every text field's edge 3:1 on what surrounds it.

Each check returns its findings as lines for the caller's failure list.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

from tests.e2e.cdp import Page

# Focusable in the tab order, in document order (tabIndex and rendering filter it further).
FOCUSABLE = ("a[href], area[href], button, input:not([type=hidden]), select, textarea, "
             "summary, iframe, [tabindex], [contenteditable='true']")

# Added with Page.addScriptToEvaluateOnNewDocument before the page's own scripts run: notes
# every element a script gives a pointer handler, so the check can tell a control only a
# mouse can use (a clickable span) from a button or link.
CLICK_WATCH = """
window.__clickTargets = [];
const __add = EventTarget.prototype.addEventListener;
EventTarget.prototype.addEventListener = function (type, ...rest) {
  if (this instanceof Element && ['click', 'dblclick', 'mousedown', 'mouseup', 'pointerdown',
      'pointerup'].includes(type)) window.__clickTargets.push(this);
  return __add.call(this, type, ...rest);
};
"""

_HELPERS = f"const FOCUSABLE = {json.dumps(FOCUSABLE)};" + """
const visible = (el) => el.getClientRects().length > 0
  && getComputedStyle(el).visibility !== 'hidden';
const text = (el) => (el.textContent || '').replace(/\\s+/g, ' ').trim();
const describe = (el) => {
  let d = el.tagName.toLowerCase();
  if (el.id) d += '#' + el.id;
  else if (el.getAttribute('name')) d += `[name=${el.getAttribute('name')}]`;
  else if (typeof el.className === 'string' && el.className.trim())
    d += '.' + el.className.trim().split(/\\s+/).join('.');
  if (el.tagName === 'INPUT') d += `[type=${el.type}]`;
  const form = el.closest('form');
  if (form && form !== el) d += ' in form' + (form.className ? '.' + form.className.trim()
    .split(/\\s+/)[0] : form.getAttribute('action') ? `[action=${form.getAttribute('action')}]`
    : '');
  const t = text(el);
  if (t && !['SELECT', 'FORM'].includes(el.tagName)) d += ` "${t.slice(0, 30)}"`;
  return d;
};
const focusable = () => [...document.querySelectorAll(FOCUSABLE)].filter((el) =>
  el.tabIndex >= 0 && !el.disabled && (visible(el) || el.classList.contains('skip-link'))
  && !el.closest('[inert]'));
"""

_NAMES = _HELPERS + """
const accessibleName = (el) => {
  const by = el.getAttribute('aria-labelledby');
  if (by) {
    const t = by.split(/\\s+/).map((id) => document.getElementById(id)).filter(Boolean)
      .map(text).join(' ').trim();
    if (t) return t;
  }
  const aria = (el.getAttribute('aria-label') || '').trim();
  if (aria) return aria;
  for (const label of el.labels || []) if (text(label)) return text(label);
  if (el.tagName === 'BUTTON' && text(el)) return text(el);
  if (el.tagName === 'INPUT' && ['submit', 'reset'].includes(el.type)) return el.value || el.type;
  if (el.tagName === 'INPUT' && el.type === 'button' && el.value) return el.value;
  if (el.tagName === 'INPUT' && el.type === 'image' && el.alt) return el.alt;
  return (el.getAttribute('title') || '').trim();
};
const problems = [];
for (const el of document.querySelectorAll(
    'input:not([type=hidden]), select, textarea, button')) {
  if (visible(el) && !accessibleName(el)) problems.push('unnamed control ' + describe(el));
}
for (const el of new Set(window.__clickTargets || [])) {
  if (!el.isConnected || !visible(el)) continue;
  const reachable = (el.matches(FOCUSABLE) && el.tabIndex >= 0) || el.closest('a[href], button');
  // A container handling its buttons' clicks (event delegation) is fine.
  if (!reachable && !el.querySelector(FOCUSABLE))
    problems.push('click handler on ' + describe(el) + ', which the keyboard cannot reach');
}
const ids = new Map();
for (const el of document.querySelectorAll('[id]')) ids.set(el.id, (ids.get(el.id) || 0) + 1);
for (const [id, n] of ids) if (n > 1) problems.push(`id "${id}" is used ${n} times`);
const order = focusable();
const positive = order.filter((el) => el.tabIndex > 0);
if (positive.length) problems.push('positive tabindex on ' + positive.map(describe).join(', '));
const first = order[0];
const skip = document.querySelector('a.skip-link');
if (!skip) problems.push('no skip link');
else {
  if (first !== skip) problems.push('first focusable is ' + (first ? describe(first) : 'none')
    + ', not the skip link');
  const target = document.getElementById((skip.getAttribute('href') || '').replace(/^#/, ''));
  if (!target) problems.push(`skip link target ${skip.getAttribute('href')} is missing`);
  else if (target.tagName !== 'MAIN') problems.push('skip link target is not <main>');
}
return problems;
"""

_FOCUS_SHOWN = _HELPERS + """
const shown = (el) => {
  if (!el || el === document.body || !visible(el)) return 'not visible';
  const r = el.getBoundingClientRect();
  if (r.width < 1 || r.height < 1) return 'no size';
  if (!el.matches(':focus-visible')) return 'not :focus-visible';
  const s = getComputedStyle(el);
  const outline = s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 1;
  if (!outline && (!s.boxShadow || s.boxShadow === 'none')) return 'no focus outline';
  return '';
};
"""

_FIRST_TAB = _FOCUS_SHOWN + """
const el = document.activeElement;
const problems = [];
if (!el || !el.classList.contains('skip-link'))
  problems.push('Tab focused ' + (el ? describe(el) : 'nothing') + ', not the skip link');
const why = shown(el);
if (why) problems.push('Tab focused ' + (el ? describe(el) : 'nothing') + ': ' + why);
else {
  const r = el.getBoundingClientRect();
  if (r.bottom <= 0 || r.top >= innerHeight || r.right <= 0 || r.left >= innerWidth)
    problems.push('the focused skip link is outside the viewport');
}
return problems;
"""

_FOCUSED = _FOCUS_SHOWN + """
const el = document.activeElement;
const why = shown(el);
return why ? [WHAT + ' is on ' + (el && el !== document.body ? describe(el) : 'nothing')
  + ': ' + why] : [];
"""

_AFTER_SKIP = _FOCUS_SHOWN + """
const main = document.querySelector('main');
const el = document.activeElement;
const inMain = focusable().some((e) => main.contains(e));
if (!inMain) return [];
if (!el || !main.contains(el)) return ['Tab after the skip link focused '
  + (el && el !== document.body ? describe(el) : 'nothing') + ', not the first control in main'];
const why = shown(el);
return why ? ['Tab after the skip link focused ' + describe(el) + ': ' + why] : [];
"""

_EVERY_FOCUS = _FOCUS_SHOWN + """
const problems = [];
for (const el of focusable()) {
  if (el.classList.contains('skip-link')) continue;
  el.focus({preventScroll: true});
  if (document.activeElement !== el) continue;  // not focusable after all (closed details)
  const why = shown(el);
  if (why) problems.push(describe(el) + ': ' + why);
}
document.activeElement?.blur();
return [...new Set(problems)];
"""

_CONTRAST = """
const parse = (value) => {
  const m = /rgba?\\(([^)]*)\\)/.exec(value);
  if (!m) return null;
  const p = m[1].split(/[\\s,\\/]+/).filter(Boolean).map(Number);
  return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1];
};
const over = (top, bottom) => {
  const a = top[3];
  return [0, 1, 2].map((i) => top[i] * a + bottom[i] * (1 - a)).concat([1]);
};
const background = (el) => {
  const layers = [];
  for (let e = el; e; e = e.parentElement) {
    const c = parse(getComputedStyle(e).backgroundColor);
    if (c && c[3] > 0) { layers.push(c); if (c[3] >= 1) break; }
  }
  let bg = [255, 255, 255, 1];
  for (const layer of layers.reverse()) bg = over(layer, bg);
  return bg;
};
const luminance = (c) => {
  const f = (v) => { v /= 255; return v <= 0.04045 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]);
};
const ratio = (a, b) => {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi + 0.05) / (lo + 0.05);
};
const hex = (c) => '#' + c.slice(0, 3).map((v) => Math.round(v).toString(16).padStart(2, '0'))
  .join('');
const describe = (el) => {
  let d = el.tagName.toLowerCase();
  if (typeof el.className === 'string' && el.className.trim())
    d += '.' + el.className.trim().split(/\\s+/).join('.');
  const parent = el.parentElement;
  if (parent && parent !== document.body) {
    let p = parent.tagName.toLowerCase();
    if (typeof parent.className === 'string' && parent.className.trim())
      p += '.' + parent.className.trim().split(/\\s+/)[0];
    d = p + ' > ' + d;
  }
  return d;
};
const visible = (el) => el.getClientRects().length > 0
  && getComputedStyle(el).visibility !== 'hidden' && !el.closest('.visually-hidden');
const hasText = (el) => [...el.childNodes].some((n) => n.nodeType === 3 && n.data.trim());
const root = parse(getComputedStyle(document.documentElement).backgroundColor);
const dark = luminance(root) < 0.2;
const problems = [];
if (dark !== (THEME === 'dark')) problems.push(`the page background ${hex(root)} is not ${THEME}`);
const seen = new Set();
const controls = 'input:not([type=hidden]):not([type=checkbox]):not([type=radio])'
  + ':not([type=file]):not([type=range]):not([type=color]), select, textarea';
const always = new Set([document.body, document.querySelector('main'),
  ...document.querySelectorAll('td, th')]);
for (const el of document.querySelectorAll('body, body *')) {
  if (!el || ['SCRIPT', 'STYLE', 'TEMPLATE', 'NOSCRIPT'].includes(el.tagName)) continue;
  if (!(always.has(el) || hasText(el) || el.matches(controls)) || !visible(el)) continue;
  const style = getComputedStyle(el);
  const bg = background(el);
  const fg = over(parse(style.color), bg);
  const size = parseFloat(style.fontSize);
  const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
  const need = large && !always.has(el) ? 3 : 4.5;
  const r = ratio(fg, bg);
  if (r < need) {
    const line = `${describe(el)} ${hex(fg)} on ${hex(bg)} is ${r.toFixed(2)}:1`;
    if (!seen.has(line)) { seen.add(line); problems.push(line); }
  }
}
// A text field's edge (its border, or else its own fill) stands out from what is around it
// by >= 3:1 (WCAG 1.4.11), or the member cannot see where to type.
for (const el of document.querySelectorAll(controls)) {
  if (!visible(el) || !el.parentElement) continue;
  const style = getComputedStyle(el);
  const around = background(el.parentElement);
  const fill = background(el);
  const width = parseFloat(style.borderTopWidth);
  const edge = style.borderTopStyle !== 'none' && width > 0
    ? over(parse(style.borderTopColor), around) : fill;
  const r = Math.max(ratio(edge, around), ratio(fill, around));
  if (r < 3) {
    const line = `${describe(el)} edge ${hex(edge)} on ${hex(around)} is ${r.toFixed(2)}:1`;
    if (!seen.has(line)) { seen.add(line); problems.push(line); }
  }
}
return problems.slice(0, 8);
"""

# (what the system prefers, what the member chose or None, the theme the page must show)
THEMES = (("light", None, "light"), ("dark", None, "dark"),
          ("light", "dark", "dark"), ("dark", "light", "light"))


def _run(page: Page, body: str) -> list[str]:
    found: list[str] = page.evaluate(f"(() => {{ {body} }})()")
    return found


def press(page: Page, key: str, code: int) -> None:
    """A key pressed and released, as a keyboard would (Enter carries its text: a button
    activates on the keypress that text makes)."""
    text = {"Enter": "\r"}.get(key)
    for kind in ("keyDown", "keyUp"):
        event = {"type": kind, "key": key, "code": key, "windowsVirtualKeyCode": code,
                 "nativeVirtualKeyCode": code}
        if text and kind == "keyDown":
            event["text"] = text
        page.send("Input.dispatchKeyEvent", event)


def check_access(page: Page, where: str) -> list[str]:
    """Names, the skip link, keyboard focus; call on a freshly loaded page. A page that
    puts the focus in a field on load (the login form's autofocus) starts there: its
    focus must show, and Tab from it must reach a control showing focus."""
    page.send("Emulation.setFocusEmulationEnabled", {"enabled": True})
    found = _run(page, _NAMES)
    if page.evaluate("!!document.activeElement && document.activeElement !== document.body"):
        found += _run(page, 'const WHAT = "the focus on load";' + _FOCUSED)
        press(page, "Tab", 9)
        found += _run(page, 'const WHAT = "Tab from the focus on load";' + _FOCUSED)
    else:
        press(page, "Tab", 9)
        found += _run(page, _FIRST_TAB)
        if page.evaluate("document.activeElement?.classList.contains('skip-link')"):
            press(page, "Enter", 13)
            page.wait_for("location.hash === '#content'",
                          what=f"{where}: the skip link followed")
            press(page, "Tab", 9)
            found += _run(page, _AFTER_SKIP)
    found += _run(page, _EVERY_FOCUS)
    return [f"{where}: {line}" for line in found]


def check_themes(page: Page, where: str, shot: Path | None = None) -> list[str]:
    """Contrast in each theme; `shot` (a .png path) gets a screenshot of the page in the
    dark theme beside it. Puts the page back in the system's light theme."""
    found: list[str] = []
    try:
        for system, chosen, theme in THEMES:
            page.send("Emulation.setEmulatedMedia", {
                "features": [{"name": "prefers-color-scheme", "value": system}]})
            page.evaluate("(() => { const r = document.documentElement; "
                          + (f"r.dataset.theme = {chosen!r};" if chosen
                             else "delete r.dataset.theme;") + " })()")
            label = f"{theme} theme" + (f" (chosen over the system's {system})" if chosen
                                         else " (the system's)")
            found += [f"{where} in the {label}: {line}"
                      for line in _run(page, f"const THEME = {theme!r};" + _CONTRAST)]
            if shot is not None and system == "dark" and chosen is None:
                page.evaluate("window.scrollTo(0, 0)")
                image = page.send("Page.captureScreenshot", {"format": "png"})
                shot.with_name(shot.stem + "-dark.png").write_bytes(
                    base64.b64decode(image["data"]))
    finally:
        page.evaluate("delete document.documentElement.dataset.theme")
        page.send("Emulation.setEmulatedMedia", {"features": []})
    return found
