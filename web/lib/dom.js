/*
 * dom.js - small helpers to build the page safely.
 *
 * Everything is built with createElement and text nodes: data from the API or
 * the user is never parsed as HTML, and no style="" attribute is ever written
 * (the Content-Security-Policy forbids it); looks come from classes in app.css.
 */

const SVG_NS = 'http://www.w3.org/2000/svg';

function append(parent, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) {
    for (const c of child) append(parent, c);
  } else if (child instanceof Node) {
    parent.appendChild(child);
  } else {
    parent.appendChild(document.createTextNode(String(child)));
  }
}

function applyAttrs(node, attrs) {
  if (!attrs) return;
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') {
      node.addEventListener(key.slice(2).toLowerCase(), value);
    } else if (key === 'dataset') {
      for (const [dk, dv] of Object.entries(value)) node.dataset[dk] = String(dv);
    } else if (key === 'text') {
      node.textContent = String(value);
    } else if (key === 'style') {
      throw new Error('dom.h: use a class, not style');
    } else if (value === true) {
      node.setAttribute(key, '');
    } else {
      node.setAttribute(key, String(value));
    }
  }
}

/* Creates an HTML element: h('p', {class: 'x'}, 'text', child, [more]). */
export function h(tag, attrs, ...children) {
  const node = document.createElement(tag);
  applyAttrs(node, attrs);
  append(node, children);
  return node;
}

/* Same for SVG elements (charts). */
export function s(tag, attrs, ...children) {
  const node = document.createElementNS(SVG_NS, tag);
  applyAttrs(node, attrs);
  append(node, children);
  return node;
}

/* Replaces every child of node with the given children. */
export function replace(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

/* A <label> + control pair in a div.field; control must carry an id. */
export function field(labelText, control, hint) {
  const hintId = hint ? control.id + '-hint' : null;
  if (hintId) control.setAttribute('aria-describedby', hintId);
  return h('div', { class: 'field' },
    h('label', { for: control.id }, labelText),
    hint ? h('p', { class: 'hint', id: hintId }, hint) : null,
    control);
}

/* Wraps a table so that it scrolls sideways inside its own box on small screens. */
export function scrollBox(table, label) {
  return h('div', { class: 'table-scroll', tabindex: '0', role: 'region', 'aria-label': label }, table);
}

/* Formats a count with thousands separators. */
export function num(n) {
  return typeof n === 'number' ? n.toLocaleString('en') : String(n ?? '—');
}

/* A percentage of part in whole, e.g. "12.5%" ("0%" when whole is 0). */
export function pct(part, whole) {
  if (!whole) return '0%';
  const p = (100 * part) / whole;
  return (p >= 10 || p === 0 ? Math.round(p) : p.toFixed(1)) + '%';
}

/* "2026-11-29T09:00:00Z" -> local date and time; '—' when absent. */
export function when(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/* Seconds -> "1 h 02 min", "3 min 10 s", "12 s". */
export function duration(sec) {
  if (!Number.isFinite(sec) || sec < 0) return '—';
  sec = Math.round(sec);
  if (sec < 60) return `${sec} s`;
  const m = Math.floor(sec / 60);
  if (m < 60) return `${m} min ${String(sec % 60).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/* File size in plain units. */
export function bytes(n) {
  if (n < 1024) return `${n} bytes`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}

/* Turns a JSON key such as "ptr_matches_banner" into "Ptr matches banner". */
export function humanKey(key) {
  const t = String(key).replace(/_/g, ' ');
  return t.charAt(0).toUpperCase() + t.slice(1);
}

/*
 * Renders any JSON value readably: objects as definition lists, arrays of
 * scalars as comma lists, arrays of objects as lists, booleans as yes/no.
 * labels maps keys to nicer names; skip lists keys to leave out.
 */
export function renderValue(value, labels = {}, skip = []) {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof value === 'boolean') return h('span', null, value ? 'yes' : 'no');
  if (typeof value !== 'object') return h('span', { class: 'value' }, String(value));
  if (Array.isArray(value)) {
    if (value.length === 0) return h('span', { class: 'muted' }, 'none');
    if (value.every((v) => v === null || typeof v !== 'object')) {
      return h('span', { class: 'value' }, value.map((v) => String(v)).join(', '));
    }
    return h('ul', { class: 'plain-list' }, value.map((v) => h('li', null, renderValue(v, labels, skip))));
  }
  const dl = h('dl', { class: 'kv' });
  for (const [k, v] of Object.entries(value)) {
    if (skip.includes(k)) continue;
    dl.append(h('dt', null, labels[k] || humanKey(k)), h('dd', null, renderValue(v, labels, skip)));
  }
  return dl;
}

/* Shows a problem in the page's #error region (role="alert"). err: Error or text. */
export function showError(err) {
  const box = document.getElementById('error');
  if (!box) return;
  const message = typeof err === 'string' ? err : (err && err.message) || 'Something went wrong.';
  replace(box, h('p', null, message));
  box.classList.add('has-error');
}

export function clearError() {
  const box = document.getElementById('error');
  if (!box) return;
  box.replaceChildren();
  box.classList.remove('has-error');
}

/* Marks a region busy while fn runs: aria-busy plus the button disabled. */
export async function whileBusy(region, button, fn) {
  region?.setAttribute('aria-busy', 'true');
  if (button) button.disabled = true;
  try {
    return await fn();
  } finally {
    region?.removeAttribute('aria-busy');
    if (button) button.disabled = false;
  }
}

/* A status badge: the word, coloured by class (never colour alone). */
export function badge(kind, word, extraClass) {
  return h('span', { class: `badge badge-${kind}${extraClass ? ' ' + extraClass : ''}` }, word);
}
