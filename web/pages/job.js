/*
 * job.js - one list's page (#/jobs/<id>): live progress while it runs
 * (processed/total, rate, time left; polled about once a second), then the
 * breakdown charts and the downloads (all, deliverable only, rows to remove).
 */
import { api, request, isAbort } from '../lib/api.js';
import { h, replace, showError, clearError, whileBusy, num, pct, duration, when, badge } from '../lib/dom.js';
import { JOB_STATUSES, STATUS_ORDER, statusLabel } from '../lib/words.js';
import { statusDonut, reasonBars } from '../lib/charts.js';

const FINISHED = ['done', 'failed', 'cancelled'];
const EXT = { csv: 'csv', tsv: 'tsv', ndjson: 'ndjson', json: 'json' };

/* Saves a fetched file through a Blob URL and an <a download>. */
async function download(id, filter, format, signal) {
  const res = await request(`/v1/jobs/${encodeURIComponent(id)}/results`, {
    query: { format, filter }, signal,
  });
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: `${id}-${filter}.${EXT[format] || format}`, class: 'visually-hidden' }, 'download');
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60000);
}

export function render(root, params, ctx) {
  const id = decodeURIComponent(params[0]);
  const heading = h('h1', { tabindex: '-1' }, 'List');
  const statusBox = h('p', { id: 'job-status-line', class: 'status-line' });
  const progress = h('progress', { id: 'job-progress', max: '1', value: '0', 'aria-labelledby': 'job-progress-label' });
  const processedEl = h('span', { id: 'job-processed' }, '0');
  const totalEl = h('span', { id: 'job-total' }, '0');
  const rateEl = h('span', { id: 'job-rate' }, '—');
  const etaEl = h('span', { id: 'job-eta' }, '—');
  const rateUnit = h('span', { hidden: true }, ' rows/s');
  const pctEl = h('span', { id: 'job-percent' }, '0%');
  const liveCounts = h('ul', { id: 'job-counts', class: 'count-list' });
  const results = h('div', { id: 'job-results' });
  const meta = h('dl', { class: 'kv', id: 'job-meta' });
  const deleteButton = h('button', { type: 'button', id: 'job-delete', class: 'button-danger' }, 'Delete this list');

  const container = h('div', { id: 'job', dataset: { status: 'queued' } },
    statusBox,
    h('section', { class: 'panel', 'aria-labelledby': 'job-progress-label' },
      h('h2', { id: 'job-progress-label' }, 'Progress'),
      progress,
      h('p', { class: 'progress-text', 'aria-live': 'polite' },
        processedEl, ' of ', totalEl, ' rows checked (', pctEl, ')'),
      h('dl', { class: 'kv kv-inline' },
        h('dt', null, 'Speed'), h('dd', null, rateEl, rateUnit),
        h('dt', null, 'Time left'), h('dd', null, etaEl)),
      liveCounts),
    results,
    h('section', { class: 'panel', 'aria-labelledby': 'job-about' },
      h('h2', { id: 'job-about' }, 'About this list'), meta,
      h('div', { class: 'actions' }, deleteButton)));

  replace(root,
    h('p', { class: 'breadcrumb' }, h('a', { href: '#/jobs' }, '← All lists')),
    heading, container);

  let timer = null;
  let stopped = false;
  let last = null; /* {t, processed} of the previous poll */
  let rate = null; /* smoothed rows per second */
  let shownFinished = false;
  ctx.onLeave(() => {
    stopped = true;
    clearTimeout(timer);
  });

  function update(job) {
    const total = job.total || 0;
    const processed = job.processed || 0;
    container.dataset.status = job.status;
    heading.textContent = job.name ? `List: ${job.name}` : 'List';
    document.title = `${job.name || 'List'} · BounceCheck`;
    replace(statusBox, 'Status: ', badge(`job-${job.status}`, JOB_STATUSES[job.status] || job.status),
      job.status === 'failed' && job.error ? ` — ${job.error}` : '');
    progress.max = Math.max(total, 1);
    progress.value = Math.min(processed, Math.max(total, 1));
    processedEl.textContent = num(processed);
    totalEl.textContent = num(total);
    pctEl.textContent = pct(processed, total);

    const now = performance.now();
    if (job.status === 'running' && last && now > last.t) {
      const inst = ((processed - last.processed) * 1000) / (now - last.t);
      rate = rate === null ? inst : 0.3 * inst + 0.7 * rate;
    }
    last = { t: now, processed };
    if (FINISHED.includes(job.status)) {
      /* Average over the whole run (timestamps have whole seconds). */
      const secs = job.finished_at && job.created_at
        ? (Date.parse(job.finished_at) - Date.parse(job.created_at)) / 1000 : NaN;
      rateEl.textContent = secs > 0 ? (processed / secs).toFixed(1) : '—';
      etaEl.textContent = job.status === 'done' ? 'finished' : '—';
    } else if (job.status === 'queued') {
      rateEl.textContent = '—';
      etaEl.textContent = 'waiting for a free slot';
    } else {
      rateEl.textContent = rate === null ? '—' : rate.toFixed(1);
      etaEl.textContent = rate && rate > 0 ? `about ${duration((total - processed) / rate)}` : 'estimating…';
    }
    rateUnit.hidden = rateEl.textContent === '—';

    const counts = job.counts || {};
    replace(liveCounts, STATUS_ORDER.map((k) => h('li', null,
      badge(k, statusLabel(k)), ' ', h('span', { class: 'count' }, num(counts[k] || 0)))));

    replace(meta,
      h('dt', null, 'Name'), h('dd', null, job.name || '—'),
      h('dt', null, 'Started'), h('dd', null, when(job.created_at)),
      h('dt', null, 'Finished'), h('dd', null, when(job.finished_at)),
      h('dt', null, 'List id'), h('dd', null, h('code', null, job.id)));

    if (FINISHED.includes(job.status) && !shownFinished) {
      shownFinished = true;
      showFinished(job);
    }
  }

  function showFinished(job) {
    const total = STATUS_ORDER.reduce((a, k) => a + ((job.counts || {})[k] || 0), 0);
    const parts = [];
    // Providers that refused our client: say so first, with the way out.
    if (Array.isArray(job.blocked) && job.blocked.length) {
      parts.push(h('section', { class: 'panel notice notice-warn', id: 'job-blocked', role: 'status',
        'aria-labelledby': 'job-blocked-title' },
        h('h2', { id: 'job-blocked-title' }, 'Some addresses could not be checked'),
        h('ul', { class: 'plain-list' }, job.blocked.map((b) => h('li', null,
          `${num(b.count)} address${b.count === 1 ? '' : 'es'} at ${b.provider} could not be checked because `
          + `your address${b.source_address ? ' ' + b.source_address : ''} is blocked`,
          b.url ? [': see ', h('a', { href: b.url, rel: 'noopener noreferrer', target: '_blank' }, b.url)] : '',
          '.')))));
    }
    if (total > 0 || job.status === 'done') {
      parts.push(h('section', { class: 'panel', 'aria-labelledby': 'job-breakdown' },
        h('h2', { id: 'job-breakdown' }, 'Breakdown'),
        h('div', { class: 'charts' },
          statusDonut('job-chart-status', job.counts || {}),
          job.reasons
            ? reasonBars('job-chart-reasons', job.reasons)
            : h('figure', { id: 'job-chart-reasons', class: 'chart' },
              h('figcaption', null, 'Top reasons'),
              h('p', { class: 'muted' }, 'This server does not report reasons per list.')))));
    }
    if (job.status === 'done') {
      const format = h('select', { id: 'download-format' },
        h('option', { value: 'csv', selected: true }, 'CSV (spreadsheets)'),
        h('option', { value: 'tsv' }, 'TSV (tab-separated)'),
        h('option', { value: 'ndjson' }, 'NDJSON (one JSON object per line)'),
        h('option', { value: 'json' }, 'JSON'));
      const box = h('div', { class: 'download-buttons' });
      const note = h('p', { class: 'muted', 'aria-live': 'polite' });
      const mk = (idName, filter, label, hint) => {
        const b = h('button', { type: 'button', id: idName, class: filter === 'deliverable' ? 'button-primary' : 'button-secondary' }, label);
        b.addEventListener('click', async () => {
          clearError();
          try {
            await whileBusy(box, b, () => download(job.id, filter, format.value, ctx.signal));
            note.textContent = `Downloaded: ${label.toLowerCase()}.`;
          } catch (err) {
            if (!isAbort(err)) showError(err);
          }
        });
        return h('div', { class: 'download-item' }, b, h('p', { class: 'hint' }, hint));
      };
      box.append(
        mk('download-deliverable', 'deliverable', 'Deliverable only', 'Only the addresses that are safe to send to.'),
        mk('download-remove', 'remove', 'Addresses to remove', 'The ones that will bounce plus disposable addresses: take these off your list.'),
        mk('download-all', 'all', 'Everything', 'Every row with its status and reason.'));
      parts.push(h('section', { class: 'panel', 'aria-labelledby': 'job-download' },
        h('h2', { id: 'job-download' }, 'Download'),
        h('div', { class: 'field' }, h('label', { for: 'download-format' }, 'File format'), format),
        box, note));
    } else if (job.status === 'failed') {
      parts.push(h('p', { class: 'notice notice-warn' }, `This list could not be finished${job.error ? ': ' + job.error : '.'}`));
    }
    replace(results, parts);
  }

  async function poll() {
    if (stopped) return;
    try {
      const job = await api(`/v1/jobs/${encodeURIComponent(id)}`, { signal: ctx.signal });
      if (stopped) return;
      update(job);
      if (!FINISHED.includes(job.status)) timer = setTimeout(poll, 1000);
    } catch (err) {
      if (isAbort(err) || stopped) return;
      if (err.status === 404) {
        replace(container, h('p', null, 'This list does not exist (it may have been deleted or expired). ',
          h('a', { href: '#/jobs' }, 'See all lists'), '.'));
        container.dataset.status = 'missing';
        return;
      }
      showError(err);
      timer = setTimeout(poll, 5000); /* keep trying, more slowly */
    }
  }

  deleteButton.addEventListener('click', async () => {
    if (!window.confirm('Delete this list and its results? This cannot be undone.')) return;
    clearError();
    try {
      await whileBusy(container, deleteButton, () => request(`/v1/jobs/${encodeURIComponent(id)}`, { method: 'DELETE', signal: ctx.signal }));
      stopped = true;
      clearTimeout(timer);
      location.hash = '#/jobs';
    } catch (err) {
      if (!isAbort(err)) showError(err);
    }
  });

  poll();
}
