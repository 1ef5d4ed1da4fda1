/*
 * extract.js - the extractor (#/tools/extract): find the addresses in pasted
 * text and in dropped or chosen files (each sent to POST /v1/extract), merge
 * and deduplicate them, then "Verify these" starts a job with them.
 */
import { api, apiJson, isAbort } from '../lib/api.js';
import { h, replace, showError, clearError, whileBusy, num, bytes } from '../lib/dom.js';

export function render(root, _params, ctx) {
  let files = [];
  let found = [];

  const text = h('textarea', { id: 'extract-text', rows: '8', spellcheck: 'false', 'aria-describedby': 'extract-text-hint' });
  const fileInput = h('input', { id: 'extract-file', type: 'file', multiple: true });
  const fileList = h('ul', { id: 'extract-files', class: 'plain-list', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', id: 'extract-submit', class: 'button-primary' }, 'Find addresses');
  const out = h('div', { id: 'extract-output', 'aria-live': 'polite' });
  const verifyButton = h('button', { type: 'button', id: 'extract-verify', class: 'button-primary', hidden: true }, 'Verify these');

  function showFiles() {
    replace(fileList, files.map((f) => h('li', null, `${f.name} (${bytes(f.size)})`)));
  }
  fileInput.addEventListener('change', () => {
    files = Array.from(fileInput.files || []);
    showFiles();
  });
  const dropArea = h('div', { class: 'drop-area' },
    h('div', { class: 'field' },
      h('label', { for: 'extract-text' }, 'Text'),
      h('p', { class: 'hint', id: 'extract-text-hint' }, 'Paste any text: an email thread, a web page, a spreadsheet column. You can also drop files here.'),
      text),
    h('div', { class: 'field' },
      h('label', { for: 'extract-file' }, 'Or choose files'),
      fileInput, fileList));
  dropArea.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    dropArea.classList.add('drag-over');
  });
  dropArea.addEventListener('dragleave', () => dropArea.classList.remove('drag-over'));
  dropArea.addEventListener('drop', (ev) => {
    ev.preventDefault();
    dropArea.classList.remove('drag-over');
    const dropped = Array.from(ev.dataTransfer?.files || []);
    if (dropped.length) {
      files = files.concat(dropped);
      showFiles();
    }
  });

  const form = h('form', { class: 'stack', novalidate: true }, dropArea, h('div', { class: 'actions' }, submit));

  form.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    clearError();
    const inputs = [];
    if (text.value.trim()) inputs.push({ name: 'the text', body: text.value, type: 'text/plain; charset=utf-8' });
    for (const f of files) inputs.push({ name: f.name, body: f, type: f.type || 'application/octet-stream' });
    if (!inputs.length) {
      showError('Paste some text or choose a file first.');
      text.focus();
      return;
    }
    const merged = new Map();
    const problems = [];
    let total = 0;
    try {
      await whileBusy(out, submit, async () => {
        for (const input of inputs) {
          const r = await api('/v1/extract', { method: 'POST', body: input.body, type: input.type, signal: ctx.signal });
          total += r.total || 0;
          if (r.error) problems.push(`${input.name}: ${r.error}`);
          for (const a of r.addresses || []) {
            const k = (a.ascii || a.address).toLowerCase();
            const seen = merged.get(k);
            if (seen) seen.count += a.count || 1;
            else merged.set(k, { address: a.address, count: a.count || 1 });
          }
        }
      });
    } catch (err) {
      if (isAbort(err)) return;
      showError(err);
      return;
    }
    found = Array.from(merged.values());
    verifyButton.hidden = found.length === 0;
    replace(out, h('section', { class: 'panel', 'aria-labelledby': 'extract-found' },
      h('h2', { id: 'extract-found' }, found.length ? `${num(found.length)} different addresses found` : 'No addresses found'),
      found.length ? h('p', { class: 'muted' }, `${num(total)} mentions in all; repeated addresses are listed once.`) : null,
      problems.length ? h('p', { class: 'notice notice-warn' }, 'Part of the input could not be read: ' + problems.join('; ')) : null,
      h('ul', { id: 'extract-result', class: 'extracted-list' },
        found.map((a) => h('li', { class: 'extracted', dataset: { count: a.count } }, a.address))),
      h('div', { class: 'actions' }, verifyButton)));
  });

  verifyButton.addEventListener('click', async () => {
    if (!found.length) return;
    clearError();
    try {
      const created = await whileBusy(out, verifyButton, () => apiJson('/v1/jobs', 'POST',
        { emails: found.map((a) => a.address), name: 'Extracted addresses' }, { signal: ctx.signal }));
      location.hash = `#/jobs/${encodeURIComponent(created.id)}`;
    } catch (err) {
      if (!isAbort(err)) showError(err);
    }
  });

  replace(root,
    h('h1', { tabindex: '-1' }, 'Find addresses in text'),
    h('p', { class: 'lead' }, 'Pull every email address out of text or files, without duplicates, then check them all in one go.'),
    form, out);
}
