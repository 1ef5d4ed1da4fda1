/*
 * words.js - plain words for everything the API reports in codes: the four
 * statuses (with their colour class), every reason code of the Reason enum in
 * src/server/openapi.json, the flags and the DNS report's sections.
 */

/* label: the word shown (always shown, never colour alone); meaning: one line. */
export const STATUSES = {
  deliverable: { label: 'Deliverable', meaning: 'Safe to send.' },
  undeliverable: { label: 'Undeliverable', meaning: 'Will bounce: take it off your list.' },
  risky: {
    label: 'Risky',
    meaning: 'May not reach anyone (accept-all server, disposable address or full mailbox).',
  },
  unknown: { label: 'Unknown', meaning: 'Could not tell right now — try again later.' },
};

export const STATUS_ORDER = ['deliverable', 'undeliverable', 'risky', 'unknown'];

export function statusLabel(status) {
  return STATUSES[status]?.label || String(status || 'Unknown');
}

export function statusMeaning(status) {
  return STATUSES[status]?.meaning || '';
}

/* label: short name for charts; text: a full plain sentence. */
export const REASONS = {
  accepted_email: { label: 'Mailbox accepted', text: 'The mail server accepted this address.' },
  invalid_syntax: {
    label: 'Not a valid address',
    text: 'This is not a valid email address: check it for typing mistakes.',
  },
  special_use_domain: {
    label: 'Reserved domain',
    text: 'The domain is reserved for examples, testing or local networks and never receives mail.',
  },
  invalid_domain: { label: 'Domain does not exist', text: 'The domain of this address does not exist.' },
  no_mail_server: { label: 'No mail server', text: 'The domain exists but has no mail server to receive mail.' },
  null_mx: { label: 'Domain takes no mail', text: 'The domain says openly that it accepts no email at all.' },
  rejected_email: { label: 'Mailbox does not exist', text: 'The mail server said this mailbox does not exist.' },
  mailbox_disabled: { label: 'Mailbox disabled', text: 'The mailbox exists but has been switched off.' },
  disposable: {
    label: 'Disposable address',
    text: 'A throwaway address from a disposable-email service: people use these once and rarely read them again.',
  },
  accept_all: {
    label: 'Accept-all server',
    text: 'The mail server says yes to every address, so it cannot tell us whether this mailbox is real.',
  },
  mailbox_full: { label: 'Mailbox full', text: 'The mailbox is full: mail will bounce until its owner makes room.' },
  provider_unverifiable: {
    label: 'Provider accepts everyone',
    text: 'This provider (Yahoo, AOL) accepts every address when asked and bounces later, so the mailbox cannot be confirmed without sending.',
  },
  unverified: {
    label: 'Not checked with the server',
    text: 'The mail server was not contacted, so the mailbox itself could not be checked.',
  },
  dns_error: { label: 'DNS lookup failed', text: 'The domain could not be looked up right now.' },
  unsafe_target: {
    label: 'Private mail server',
    text: 'The mail server points to a private or local network address, so it was not contacted.',
  },
  no_connect: { label: 'Could not connect', text: 'Could not connect to the mail server.' },
  timeout: { label: 'Server too slow', text: 'The mail server took too long to answer.' },
  temporary_failure: {
    label: 'Temporary error',
    text: 'The mail server reported a temporary problem; trying again later usually works.',
  },
  greylisted: {
    label: 'Asked to come back later',
    text: 'The mail server asked us to come back later (greylisting); try again in a while.',
  },
  blocked: {
    label: 'Checker blocked',
    text: 'The mail server refused to talk to our checker, so the mailbox could not be checked.',
  },
  sender_rejected: {
    label: 'Sender refused',
    text: 'The mail server refused our sending address or its domain (SPF, DMARC, reputation), not this mailbox.',
  },
  rate_limited: {
    label: 'Rate limited',
    text: 'The mail server asked us to slow down (too many recipients, connections or messages); try again later.',
  },
  policy_rejected: {
    label: 'Refused by policy',
    text: 'The mail server refused the check under a policy (content, encryption, authentication) that says nothing about this mailbox.',
  },
  server_error: {
    label: 'Mail server error',
    text: 'The mail server reported a problem of its own, so the mailbox could not be checked.',
  },
  server_rejected: {
    label: 'Check refused',
    text: 'The mail server refused the check for a reason that says nothing about this mailbox.',
  },
  protocol_error: { label: 'Unclear server answer', text: "The mail server's answer could not be understood." },
  smtputf8_unsupported: {
    label: 'International characters',
    text: 'The address has international characters that this mail server cannot handle, so it could not be checked.',
  },
  cancelled: { label: 'Cancelled', text: 'The check was cancelled before it finished.' },
  unknown: { label: 'No verdict', text: 'The check could not reach a verdict.' },
};

export function reasonLabel(code) {
  return REASONS[code]?.label || String(code);
}

export function reasonText(code) {
  return REASONS[code]?.text || `Reason: ${code}.`;
}

export const FLAGS = {
  disposable: { label: 'Disposable', title: 'A throwaway address service.' },
  role: { label: 'Role address', title: 'A shared address such as info@ or sales@, often read by several people or nobody.' },
  free: { label: 'Free provider', title: 'A free email provider such as Gmail or Outlook.com.' },
  accept_all: { label: 'Accept-all server', title: 'The server accepts every address, real or not.' },
};

export const JOB_STATUSES = {
  queued: 'Waiting to start',
  running: 'Running',
  done: 'Done',
  failed: 'Failed',
  cancelled: 'Cancelled',
};

export const DNS_SECTIONS = [
  ['mx', 'Mail servers (MX)', 'Where mail for the domain is delivered.'],
  ['spf', 'SPF', 'Which servers may send mail for the domain.'],
  ['dmarc', 'DMARC', 'What receivers should do with mail that fails the checks, and where to report.'],
  ['dkim', 'DKIM', 'Keys that let receivers check your mail was signed by you.'],
  ['blocklists', 'Blocklists', 'Whether the mail servers appear on public spam blocklists.'],
  ['mta_sts', 'MTA-STS', 'Whether senders must use encryption when delivering to you.'],
  ['tls_rpt', 'TLS reporting', 'Where senders report encryption problems.'],
  ['bimi', 'BIMI', 'The brand logo shown next to your mail in some inboxes.'],
  ['dnssec', 'DNSSEC', 'Whether the domain\'s DNS answers are signed.'],
];

/* The doctor's checks (GET /v1/doctor): [title, what it is about]. */
export const DOCTOR_CHECKS = {
  ptr: ['Reverse DNS', 'The sending address has a PTR name that resolves back to it.'],
  helo_resolves: ['HELO name', 'The name the server gives in EHLO resolves to the sending address.'],
  helo_domain: ['HELO domain', 'The EHLO name is yours, not a free-mail or big provider\'s.'],
  from_domain: ['MAIL FROM domain', 'The sender address is at a domain of yours that receives mail.'],
  port25: ['Port 25', 'Connections to mail servers on port 25 go out and get a greeting.'],
  blocklist: ['Blocklists', 'The sending address is not on the big IP blocklists.'],
};

export const CHECK_STATUSES = {
  pass: 'Pass',
  warn: 'Warning',
  fail: 'Fail',
  info: 'Info',
  none: 'Not set up',
};
