// Building the page without innerHTML: every text a server sent (names, reasons,
// messages, bodies) reaches the page as a text node, never as markup.

/** An element `tag` with attributes `attrs` (`on*` functions become listeners,
 * `class`, `for`, booleans set or left out) and children (strings become text). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

/** The same in the SVG namespace (the heartbeat charts). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  setAttributes(el, attrs);
  append(el, children);
  return el;
}

function setAttributes(el, attrs) {
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else if (name === "value" && "value" in el) {
      el.value = value;
    } else if (name === "checked") {
      el.checked = Boolean(value);
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
}

function append(el, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
}

/** Replaces `el`'s children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/** A JSON value as indented text. */
export function pretty(value) {
  return JSON.stringify(value, null, 2);
}

/** `2026-12-06T05:12:00Z` as "12 s ago", "3 min ago", "2 h ago", "4 d ago". */
export function ago(at, now = Date.now()) {
  if (!at) return "never";
  const t = Date.parse(at);
  if (Number.isNaN(t)) return at;
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

/** `30s`, `15m`, `2h` (the server's durations) in milliseconds, else null. */
export function duration(text) {
  const m = /^(\d+)\s*([smh])$/.exec(text || "");
  if (!m) return null;
  return Number(m[1]) * { s: 1000, m: 60000, h: 3600000 }[m[2]];
}

/** A latency in ms, or a dash. */
export function ms(value) {
  return value === null || value === undefined ? "–" : `${Math.round(value * 10) / 10} ms`;
}

/** A status badge. */
export function badge(status) {
  return h("span", { class: `badge status-${status}` }, status);
}
