/*
 * jobs.js - the lists page (#/jobs): every job of the caller with its status
 * and progress; refreshed every few seconds while one is still running.
 */
import { api, isAbort } from '../lib/api.js';
import { h, replace, showError, scrollBox, num, pct, when, badge } from '../lib/dom.js';
import { JOB_STATUSES } from '../lib/words.js';

export function render(root, _params, ctx) {
  const box = h('div', { id: 'jobs-box', 'aria-live': 'polite' }, h('p', { class: 'muted working' }, 'Loading…'));
  replace(root,
    h('h1', { tabindex: '-1' }, 'Your lists'),
    h('p', { class: 'lead' }, 'Lists you uploaded, newest first. ', h('a', { href: '#/bulk' }, 'Verify a new list'), '.'),
    box);

  let timer = null;
  ctx.onLeave(() => clearTimeout(timer));

  function table(jobs) {
    return h('table', { id: 'jobs-list', class: 'data-table' },
      h('caption', { class: 'visually-hidden' }, 'Your lists'),
      h('thead', null, h('tr', null,
        h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Status'),
        h('th', { scope: 'col' }, 'Progress'), h('th', { scope: 'col' }, 'Created'))),
      h('tbody', null, jobs.map((j) => h('tr', { dataset: { jobId: j.id } },
        h('td', null, h('a', { href: `#/jobs/${encodeURIComponent(j.id)}` }, j.name || `List ${j.id.slice(0, 8)}`)),
        h('td', null, badge(`job-${j.status}`, JOB_STATUSES[j.status] || j.status)),
        h('td', { class: 'progress-cell' },
          h('progress', { max: String(Math.max(j.total, 1)), value: String(Math.min(j.processed, Math.max(j.total, 1))), 'aria-label': `Progress of ${j.name || j.id}` }),
          h('span', { class: 'progress-numbers' }, `${num(j.processed)} / ${num(j.total)} (${pct(j.processed, j.total)})`)),
        h('td', { class: 'nowrap' }, when(j.created_at))))));
  }

  async function load() {
    try {
      const data = await api('/v1/jobs', { signal: ctx.signal });
      const jobs = (data && data.jobs) || [];
      if (!jobs.length) {
        replace(box,
          h('p', null, 'No lists yet. ', h('a', { href: '#/bulk' }, 'Upload your first list'), '.'),
          h('table', { id: 'jobs-list', class: 'data-table empty' }, h('tbody')));
      } else {
        replace(box, scrollBox(table(jobs), 'Your lists'));
      }
      if (jobs.some((j) => j.status === 'queued' || j.status === 'running')) timer = setTimeout(load, 3000);
    } catch (err) {
      if (isAbort(err)) return;
      replace(box);
      showError(err);
    }
  }
  load();
}
