/*
 * charts.js - small hand-drawn SVG charts: a donut of the four statuses and
 * horizontal bars of the top reasons. Each comes with <title> elements and a
 * text legend giving the numbers, so it reads without the picture too.
 * Colours come from classes in app.css (st-deliverable ...), never from
 * inline styles.
 */
import { h, s, num, pct } from './dom.js';
import { STATUS_ORDER, statusLabel, statusMeaning, reasonLabel, reasonText, REASONS } from './words.js';

/* A donut of counts {deliverable, undeliverable, risky, unknown}; returns a <figure id=id>. */
export function statusDonut(id, counts) {
  const total = STATUS_ORDER.reduce((a, k) => a + (counts?.[k] || 0), 0);
  const titleId = `${id}-title`;
  const svg = s('svg', {
    viewBox: '0 0 42 42', class: 'donut', role: 'img', 'aria-labelledby': titleId, width: '180', height: '180',
  });
  const summary = STATUS_ORDER.map((k) => `${statusLabel(k)} ${num(counts?.[k] || 0)}`).join(', ');
  svg.append(s('title', { id: titleId }, `Status breakdown of ${num(total)} rows: ${summary}`));
  svg.append(s('circle', { cx: '21', cy: '21', r: '15.915', class: 'donut-track' }));
  /* pathLength 100: dash lengths are percentages; start at 12 o'clock. */
  let offset = 25;
  for (const k of STATUS_ORDER) {
    const n = counts?.[k] || 0;
    if (!n || !total) continue;
    const part = (100 * n) / total;
    const seg = s('circle', {
      cx: '21', cy: '21', r: '15.915', class: `donut-seg st-${k}`,
      'stroke-dasharray': `${part} ${100 - part}`, 'stroke-dashoffset': String(offset),
    });
    seg.append(s('title', null, `${statusLabel(k)}: ${num(n)} (${pct(n, total)})`));
    svg.append(seg);
    offset -= part;
  }
  svg.append(s('text', { x: '21', y: '20.5', class: 'donut-total', 'text-anchor': 'middle' }, num(total)));
  svg.append(s('text', { x: '21', y: '26', class: 'donut-caption', 'text-anchor': 'middle' }, 'rows'));

  const legend = h('ul', { class: 'chart-legend' },
    STATUS_ORDER.map((k) => {
      const n = counts?.[k] || 0;
      return h('li', { dataset: { status: k, count: n } },
        h('span', { class: `swatch st-${k}`, 'aria-hidden': 'true' }),
        h('span', { class: 'legend-text' },
          h('strong', null, statusLabel(k)), ' ',
          h('span', { class: 'legend-count' }, num(n)), ` (${pct(n, total)})`,
          h('span', { class: 'legend-meaning' }, statusMeaning(k))));
    }));
  return h('figure', { id, class: 'chart chart-status' },
    h('figcaption', null, 'Status of every row'),
    h('div', { class: 'chart-body' }, svg, legend));
}

/* Horizontal bars of the top n reasons {code: count}; returns a <figure id=id>. */
export function reasonBars(id, reasons, n = 8) {
  const entries = Object.entries(reasons || {})
    .filter(([, c]) => typeof c === 'number' && c > 0)
    .sort((a, b) => b[1] - a[1])
    .slice(0, n);
  const total = Object.values(reasons || {}).reduce((a, c) => a + (typeof c === 'number' ? c : 0), 0);
  const fig = h('figure', { id, class: 'chart chart-reasons' }, h('figcaption', null, `Top reasons`));
  if (!entries.length) {
    fig.append(h('p', { class: 'muted' }, 'No reasons to show yet.'));
    return fig;
  }
  const max = entries[0][1];
  const rowH = 30;
  const width = 260;
  const titleId = `${id}-title`;
  const svg = s('svg', {
    viewBox: `0 0 ${width} ${entries.length * rowH}`, class: 'bars', role: 'img',
    'aria-labelledby': titleId, preserveAspectRatio: 'xMinYMin meet',
  });
  svg.append(s('title', { id: titleId },
    'Top reasons: ' + entries.map(([code, c]) => `${reasonLabel(code)} ${num(c)}`).join(', ')));
  entries.forEach(([code, c], i) => {
    const y = i * rowH;
    const w = Math.max(2, ((width - 60) * c) / max);
    const g = s('g', null, s('title', null, `${reasonLabel(code)}: ${num(c)} (${pct(c, total)})`));
    g.append(s('text', { x: '0', y: String(y + 10), class: 'bar-label' }, reasonLabel(code)));
    g.append(s('rect', {
      x: '0', y: String(y + 14), width: String(w), height: '11', rx: '2',
      class: `bar st-${REASONS[code] ? statusOf(code) : 'unknown'}`,
    }));
    g.append(s('text', { x: String(w + 6), y: String(y + 24), class: 'bar-value' }, num(c)));
    svg.append(g);
  });
  const legend = h('ol', { class: 'reason-legend' },
    entries.map(([code, c]) => h('li', { dataset: { reason: code, count: c } },
      h('strong', null, reasonLabel(code)), ' — ',
      h('span', { class: 'legend-count' }, num(c)), ` (${pct(c, total)}). `,
      h('span', { class: 'legend-meaning' }, reasonText(code)))));
  fig.append(svg, legend);
  return fig;
}

const REASON_STATUS = {
  accepted_email: 'deliverable',
  invalid_syntax: 'undeliverable',
  special_use_domain: 'undeliverable',
  invalid_domain: 'undeliverable',
  no_mail_server: 'undeliverable',
  null_mx: 'undeliverable',
  rejected_email: 'undeliverable',
  mailbox_disabled: 'undeliverable',
  disposable: 'risky',
  accept_all: 'risky',
  mailbox_full: 'risky',
  provider_unverifiable: 'risky',
};

/* The status a reason code belongs to (see the Reason enum's description). */
export function statusOf(code) {
  return REASON_STATUS[code] || 'unknown';
}
