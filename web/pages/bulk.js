/*
 * bulk.js - the Bulk page (#/bulk): drop or choose a list, see a preview of
 * what was found (format, header, email column, first rows), pick another
 * column if needed, then start a job and go to its page.
 *
 * Text lists over 256 KiB are previewed from their first 256 KiB only
 * (POST /v1/jobs/preview?partial=1); XLSX files always go whole. When the
 * server has no preview endpoint, the job can still start with the column
 * found automatically.
 */
import { request, api, ApiError, isAbort } from '../lib/api.js';
import { h, replace, showError, clearError, whileBusy, scrollBox, num, bytes } from '../lib/dom.js';

const PREVIEW_LIMIT = 256 * 1024;
const ACCEPT = '.csv,.tsv,.txt,.xlsx,.ndjson';
const FORMATS = { csv: 'CSV', tsv: 'TSV (tab-separated)', text: 'Plain text, one address per line', ndjson: 'NDJSON', xlsx: 'Excel (XLSX)' };

function isXlsx(file) {
  return /\.xlsx$/i.test(file.name) || file.type === 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
}

function multipart(blob, fileName, extra = {}) {
  const fd = new FormData();
  for (const [k, v] of Object.entries(extra)) if (v !== undefined && v !== null && v !== '') fd.append(k, String(v));
  fd.append('file', blob, fileName);
  return fd;
}

export function render(root, _params, ctx) {
  let file = null;
  let preview = null;

  const fileInput = h('input', { id: 'bulk-file', type: 'file', accept: ACCEPT, class: 'visually-hidden', tabindex: '-1' });
  const fileLabel = h('label', { for: 'bulk-file', class: 'visually-hidden' }, 'Choose a list file');
  const drop = h('div', {
    id: 'bulk-drop', class: 'drop-zone', role: 'button', tabindex: '0',
    'aria-describedby': 'bulk-drop-hint',
  },
  h('span', { class: 'drop-title' }, 'Drop your list here, or click to choose a file'),
  h('span', { class: 'hint', id: 'bulk-drop-hint' }, 'CSV, TSV, TXT (one address per line), NDJSON or Excel (.xlsx).'));
  const chosen = h('p', { id: 'bulk-chosen', class: 'chosen', 'aria-live': 'polite' });
  const previewBox = h('div', { id: 'bulk-preview-box', 'aria-live': 'polite' });
  const startButton = h('button', { type: 'button', id: 'bulk-start', class: 'button-primary', disabled: true }, 'Start checking');
  const startRow = h('div', { class: 'actions' }, startButton);

  function openChooser() {
    fileInput.click();
  }
  drop.addEventListener('click', openChooser);
  drop.addEventListener('keydown', (ev) => {
    if (ev.key === 'Enter' || ev.key === ' ') {
      ev.preventDefault();
      openChooser();
    }
  });
  drop.addEventListener('dragover', (ev) => {
    ev.preventDefault();
    drop.classList.add('drag-over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('drag-over'));
  drop.addEventListener('drop', (ev) => {
    ev.preventDefault();
    drop.classList.remove('drag-over');
    const f = ev.dataTransfer?.files?.[0];
    if (f) choose(f);
  });
  fileInput.addEventListener('change', () => {
    if (fileInput.files && fileInput.files[0]) choose(fileInput.files[0]);
  });

  function selectedColumn() {
    const sel = document.getElementById('bulk-column');
    return sel && sel.value ? sel.value : '';
  }

  function updateStart() {
    /* With a preview that found no column, the user must pick one. */
    const needPick = preview && preview.column === null && !selectedColumn();
    startButton.disabled = !file || needPick;
  }

  function highlightColumn(table, col) {
    if (!table) return;
    for (const row of table.rows) {
      for (let i = 0; i < row.cells.length; i++) row.cells[i].classList.toggle('col-selected', String(i + 1) === col);
    }
  }

  function showPreview(p) {
    const columns = Array.isArray(p.columns) ? p.columns : [];
    const select = h('select', { id: 'bulk-column', name: 'column' });
    if (p.column === null || p.column === undefined) {
      select.append(h('option', { value: '', selected: true }, '— Choose the column with the addresses —'));
    }
    columns.forEach((name, i) => {
      const label = p.has_header ? `${name} (column ${i + 1})` : `Column ${i + 1}`;
      select.append(h('option', { value: String(i + 1), selected: p.column === i + 1 }, label));
    });
    const rowsText = p.partial
      ? `At least ${num(p.rows)} rows (only the first ${bytes(PREVIEW_LIMIT)} were read for this preview; the whole file will be checked).`
      : `${num(p.rows)} rows to check.`;
    const sample = Array.isArray(p.sample) ? p.sample : [];
    let table = null;
    if (sample.length) {
      table = h('table', { class: 'data-table' },
        h('caption', null, `First ${sample.length} rows`),
        h('thead', null, h('tr', null, columns.map((c, i) => h('th', { scope: 'col' }, p.has_header ? c : `Column ${i + 1}`)))),
        h('tbody', null, sample.map((row) => h('tr', null, row.map((cell) => h('td', null, cell ?? ''))))));
    }
    select.addEventListener('change', () => {
      highlightColumn(table, select.value);
      updateStart();
    });
    const note = p.column === null || p.column === undefined
      ? h('p', { class: 'notice notice-warn' }, 'No column of email addresses was found automatically. Please choose it below.')
      : h('p', { class: 'notice' }, p.detected === false
        ? 'Using the column you chose.'
        : 'The email column was found automatically. Change it below if it is wrong.');
    replace(previewBox, h('section', { id: 'bulk-preview', class: 'panel', 'aria-labelledby': 'bulk-preview-title' },
      h('h2', { id: 'bulk-preview-title' }, 'Preview'),
      h('dl', { class: 'kv' },
        h('dt', null, 'Format'), h('dd', null, FORMATS[p.format] || p.format || '—'),
        h('dt', null, 'Header row'), h('dd', null, p.has_header ? 'Yes, the first row holds column names' : 'No')),
      note,
      h('div', { class: 'field' }, h('label', { for: 'bulk-column' }, 'Column with the email addresses'), select),
      h('p', { id: 'bulk-rows' }, rowsText),
      table ? scrollBox(table, 'Sample rows') : h('p', { class: 'muted' }, 'No rows to show.')));
    highlightColumn(table, select.value);
  }

  function showNoPreview(message) {
    replace(previewBox, h('section', { id: 'bulk-preview', class: 'panel', 'aria-labelledby': 'bulk-preview-title' },
      h('h2', { id: 'bulk-preview-title' }, 'Preview'),
      h('p', null, message),
      h('p', { id: 'bulk-rows', class: 'muted' }, 'The number of rows will be known once the check starts.')));
  }

  async function choose(f) {
    clearError();
    file = f;
    preview = null;
    replace(chosen, 'Chosen: ', h('strong', null, f.name), ` (${bytes(f.size)})`);
    replace(previewBox, h('p', { class: 'muted working' }, 'Reading the file…'));
    updateStart();
    const partial = !isXlsx(f) && f.size > PREVIEW_LIMIT;
    const blob = partial ? f.slice(0, PREVIEW_LIMIT) : f;
    try {
      preview = await whileBusy(previewBox, null, () => api('/v1/jobs/preview', {
        method: 'POST', query: { partial: partial ? '1' : undefined }, body: multipart(blob, f.name), signal: ctx.signal,
      }));
      showPreview(preview);
    } catch (err) {
      if (isAbort(err)) return;
      if (err instanceof ApiError && (err.status === 404 || err.status === 405 || err.status === 501)) {
        showNoPreview('This server cannot show a preview. The column with the addresses will be found automatically when the check starts.');
      } else {
        replace(previewBox);
        file = null;
        showError(err.status === 415 || err.status === 400
          ? `This file could not be read as a list: ${err.message}`
          : err);
      }
    }
    updateStart();
  }

  startButton.addEventListener('click', async () => {
    if (!file) return;
    clearError();
    const column = selectedColumn();
    try {
      const res = await whileBusy(startRow, startButton, () => request('/v1/jobs', {
        method: 'POST', body: multipart(file, file.name, { column, name: file.name }), signal: ctx.signal,
      }));
      const created = await res.json();
      location.hash = `#/jobs/${encodeURIComponent(created.id)}`;
    } catch (err) {
      if (!isAbort(err)) showError(err);
    }
  });

  replace(root,
    h('h1', { tabindex: '-1' }, 'Verify a list'),
    h('p', { class: 'lead' }, 'Upload a list of addresses. We check every one and give you a cleaned list to download.'),
    fileLabel, fileInput, drop, chosen, previewBox, startRow);
}
