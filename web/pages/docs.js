/*
 * docs.js - the API docs page (#/docs): /openapi.json rendered readably,
 * grouped by tag; each operation with its method, path, summary,
 * description, parameters, request body types and responses.
 */
import { api, isAbort } from '../lib/api.js';
import { h, replace, showError, scrollBox } from '../lib/dom.js';

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'];

/* Follows a local "$ref" ("#/components/...") once or more. */
function resolve(doc, obj, depth = 0) {
  if (!obj || typeof obj !== 'object' || !obj.$ref || depth > 8) return obj;
  if (!obj.$ref.startsWith('#/')) return obj;
  let cur = doc;
  for (const part of obj.$ref.slice(2).split('/')) {
    cur = cur?.[part.replace(/~1/g, '/').replace(/~0/g, '~')];
  }
  return resolve(doc, cur, depth + 1) || obj;
}

function typeOf(doc, schema) {
  const sc = resolve(doc, schema);
  if (!sc) return '';
  if (schema && schema.$ref) return schema.$ref.split('/').pop();
  if (Array.isArray(sc.type)) return sc.type.join(' | ');
  if (sc.type === 'array') return `array of ${typeOf(doc, sc.items) || 'values'}`;
  if (sc.enum) return sc.enum.map(String).join(' | ');
  return sc.type || (sc.anyOf ? 'one of several' : '');
}

function paramTable(doc, params) {
  if (!params.length) return h('p', { class: 'muted' }, 'No parameters.');
  return scrollBox(h('table', { class: 'data-table' },
    h('thead', null, h('tr', null, ['Name', 'In', 'Required', 'Type', 'Description'].map((t) => h('th', { scope: 'col' }, t)))),
    h('tbody', null, params.map((p) => h('tr', null,
      h('td', null, h('code', null, p.name)),
      h('td', null, p.in),
      h('td', null, p.required ? 'yes' : 'no'),
      h('td', null, typeOf(doc, p.schema)),
      h('td', { class: 'wrap' }, p.description || ''))))), 'Parameters');
}

function requestBody(doc, rb) {
  const body = resolve(doc, rb);
  if (!body) return null;
  const content = body.content || {};
  return h('div', null,
    h('h5', null, `Request body${body.required ? ' (required)' : ''}`),
    body.description ? h('p', null, body.description) : null,
    h('ul', { class: 'plain-list' }, Object.entries(content).map(([type, media]) => {
      const sc = resolve(doc, media.schema);
      const desc = (sc && sc.description) || (media.schema && media.schema.$ref ? typeOf(doc, media.schema) : '');
      return h('li', null, h('code', null, type), desc ? ` — ${desc}` : '');
    })));
}

function responses(doc, resp) {
  const entries = Object.entries(resp || {});
  if (!entries.length) return null;
  return h('div', null,
    h('h5', null, 'Responses'),
    scrollBox(h('table', { class: 'data-table' },
      h('thead', null, h('tr', null, ['Code', 'Meaning', 'Types'].map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', null, entries.map(([code, r]) => {
        const rr = resolve(doc, r) || {};
        return h('tr', null,
          h('td', null, h('code', { class: `http-code http-${String(code)[0]}xx` }, code)),
          h('td', { class: 'wrap' }, rr.description || ''),
          h('td', null, Object.keys(rr.content || {}).join(', ')));
      }))), 'Responses'));
}

function operation(doc, path, method, op, pathParams) {
  const params = [...(pathParams || []), ...(op.parameters || [])].map((p) => resolve(doc, p));
  const anchor = (op.operationId || `${method}-${path}`).replace(/[^A-Za-z0-9_-]/g, '-');
  return h('article', { class: 'operation', id: `op-${anchor}`, dataset: { method, path } },
    h('h4', { class: 'op-title' },
      h('span', { class: `method method-${method}` }, method.toUpperCase()), ' ',
      h('code', { class: 'op-path' }, path),
      op.summary ? h('span', { class: 'op-summary' }, ` — ${op.summary}`) : null),
    op.description ? h('p', null, op.description) : null,
    h('h5', null, 'Parameters'),
    paramTable(doc, params),
    requestBody(doc, op.requestBody),
    responses(doc, op.responses));
}

function renderDoc(doc) {
  const groups = new Map();
  for (const t of doc.tags || []) groups.set(t.name, { tag: t, ops: [] });
  for (const [path, item] of Object.entries(doc.paths || {})) {
    for (const method of METHODS) {
      const op = item[method];
      if (!op) continue;
      const tag = (op.tags && op.tags[0]) || 'other';
      if (!groups.has(tag)) groups.set(tag, { tag: { name: tag }, ops: [] });
      groups.get(tag).ops.push(operation(doc, path, method, op, item.parameters));
    }
  }
  const info = doc.info || {};
  return h('div', { id: 'api-docs' },
    h('section', { class: 'panel', 'aria-labelledby': 'api-info' },
      h('h2', { id: 'api-info' }, `${info.title || 'API'}${info.version ? ' ' + info.version : ''}`),
      info.description ? h('p', null, info.description) : null,
      h('p', null, 'Send ', h('code', null, 'Authorization: Bearer YOUR_KEY'), ' when the server has keys. The machine-readable description: ',
        h('a', { href: '/openapi.json', id: 'api-docs-raw' }, '/openapi.json'), '.')),
    Array.from(groups.values()).filter((g) => g.ops.length).map((g) =>
      h('section', { class: 'api-group', dataset: { tag: g.tag.name }, 'aria-labelledby': `tag-${g.tag.name}` },
        h('h3', { id: `tag-${g.tag.name}` }, g.tag.name.charAt(0).toUpperCase() + g.tag.name.slice(1)),
        g.tag.description ? h('p', { class: 'muted' }, g.tag.description) : null,
        g.ops)));
}

export function render(root, _params, ctx) {
  const box = h('div', { id: 'docs-box', 'aria-live': 'polite' }, h('p', { class: 'muted working' }, 'Loading…'));
  replace(root,
    h('h1', { tabindex: '-1' }, 'API docs'),
    h('p', { class: 'lead' }, 'Everything this page does, your programs can do too, through the HTTP API below.'),
    box);
  api('/openapi.json', { signal: ctx.signal })
    .then((doc) => replace(box, renderDoc(doc)))
    .catch((err) => {
      if (isAbort(err)) return;
      replace(box, h('p', null, 'The API description could not be loaded. ', h('a', { href: '/openapi.json' }, 'Open /openapi.json'), '.'));
      showError(err);
    });
}
