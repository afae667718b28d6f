// The privacy page ("Mina samtycken"): the visitor's current choice and history from the consent API,
// read with the consent cookie; each receipt verified against the log here in the browser; changes
// through the banner on the page, withdrawal and erasure through the API. Everything shown is built
// with textContent, never as HTML from data.
import { VerifyError, parseNote, verifyReceipt } from './verify.js';

const d = document;
const box = d.getElementById('privacy');
const T = JSON.parse(d.getElementById('privacy-texts').textContent);
const siteId = Number(box.dataset.site);
const base = box.dataset.root || '';
const $ = (id) => d.getElementById(id);
const fill = (text, values) => text.replace(/\{(\w+)\}/g, (m, k) => (k in values ? String(values[k]) : m));
const when = new Intl.DateTimeFormat(box.dataset.lang === 'sv' ? 'sv-SE' : 'en-GB', {
  year: 'numeric', month: 'long', day: 'numeric', hour: '2-digit', minute: '2-digit',
  timeZone: box.dataset.timezone || undefined, timeZoneName: 'short',
});
const time = (value) => when.format(typeof value === 'number' ? new Date(value * 1000) : new Date(value));
const categoryName = (id) => T.category_names[id] || id;
const methodName = (m) => T.methods[m] || m;

function h(tag, attrs, ...kids) {
  const e = d.createElement(tag);
  for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
  e.append(...kids);
  return e;
}

function status(text) {
  $('privacy-status').textContent = text;
  $('privacy-status').hidden = !text;
}

async function getJSON(path) {
  const response = await fetch(base + path, { credentials: 'same-origin', cache: 'no-store' });
  if (!response.ok) throw new VerifyError('unavailable', path + ' answered ' + response.status);
  return response.json();
}

// ---- Showing the state and the history ---------------------------------------------------------

function showCurrent(state, latest) {
  $('privacy-summary').textContent = fill(T.summary, {
    time: time(latest.event_time), method: methodName(state.method), expires: time(state.expires),
  });
  const rows = latest.purposes.map((p) => h('tr', {}, h('td', {}, categoryName(p.category)),
    h('td', {}, p.required ? T.always : state.decisions[p.category] ? T.granted : T.refused)));
  $('privacy-choices').replaceChildren(...rows);
}

function fact(term, ...value) {
  return [h('dt', {}, term), h('dd', {}, ...value)];
}

function receiptItem(receipt) {
  const shown = time(receipt.event_time);
  const granted = receipt.purposes.filter((p) => !p.required && p.decision === 'granted').map((p) => categoryName(p.category));
  const refused = receipt.purposes.filter((p) => !p.required && p.decision !== 'granted').map((p) => categoryName(p.category));
  const verdict = h('p', { class: 'verdict', role: 'status' });
  const button = h('button', { type: 'button', class: 'verify', 'aria-label': fill(T.verify_label, { time: shown }) }, T.verify);
  button.addEventListener('click', () => verify(receipt, button, verdict));
  return h('li', { class: 'receipt', 'data-receipt': receipt.receipt_id },
    h('h3', {}, (T.events[receipt.event] || receipt.event) + ', ' + shown),
    h('dl', { class: 'facts' },
      ...fact(T.method, methodName(receipt.method)),
      ...fact(T.version, receipt.notice.version),
      ...fact(T.categories, T.granted + ': ' + (granted.join(', ') || T.none_granted) + (refused.length ? '. ' + T.refused + ': ' + refused.join(', ') : '')),
      ...fact(T.receipt_id, h('code', {}, receipt.receipt_id)),
      ...fact(T.log_index, String(receipt.integrity.log_index))),
    button, verdict);
}

async function load() {
  box.setAttribute('aria-busy', 'true');
  let body;
  try {
    body = await getJSON('/api/v1/consent');
  } catch (e) {
    status(T.load_failed);
    box.setAttribute('aria-busy', 'false');
    return;
  }
  // A consent holds for the site it was given on; sites that share samtycke's host share the cookie.
  const mine = body.state && body.state.site_id === siteId ? body.history.map((item) => item.receipt) : [];
  const sections = { 'privacy-none': !mine.length, 'privacy-current': mine.length, 'privacy-actions': mine.length, 'privacy-history': mine.length };
  for (const id in sections) $(id).hidden = !sections[id];
  if (mine.length) {
    showCurrent(body.state, mine[mine.length - 1]);
    $('privacy-receipts').replaceChildren(...mine.slice().reverse().map(receiptItem));
  }
  status('');
  box.setAttribute('aria-busy', 'false');
}

// ---- Verifying a receipt ------------------------------------------------------------------------

async function verify(receipt, button, out) {
  button.disabled = true;
  out.className = 'verdict';
  out.textContent = T.verifying;
  try {
    const [checkpoint, jwks] = await Promise.all([getJSON('/api/v1/log/checkpoint?format=json'), getJSON('/api/v1/log/keys')]);
    // The size to ask a proof for is read from the note; verifyReceipt checks it is the signed one.
    const size = parseNote(checkpoint.note).size;
    const index = receipt.integrity.log_index;
    const proof = await getJSON('/api/v1/log/inclusion?leaf_index=' + index + '&tree_size=' + size);
    const result = await verifyReceipt(receipt.integrity, proof, checkpoint.note, jwks);
    out.className = 'verdict ok';
    out.textContent = fill(T.verified, { index: result.index, size: result.size, kid: result.kid, time: time(checkpoint.signed_at) });
  } catch (e) {
    const code = e instanceof VerifyError ? e.code : e instanceof TypeError ? 'unavailable' : 'malformed';
    out.className = 'verdict bad';
    out.textContent = fill(T.failed, { reason: T.reasons[code] || T.reasons.malformed });
  }
  button.disabled = false;
}

// ---- Withdrawal and erasure ---------------------------------------------------------------------

async function change(method, path, body) {
  const response = await fetch(base + path, {
    method, credentials: 'same-origin', headers: { 'Content-Type': 'application/json' }, body: body ? JSON.stringify(body) : undefined,
  });
  if (!response.ok) throw new Error(path + ' answered ' + response.status);
  return response.json();
}

$('privacy-withdraw').addEventListener('click', async () => {
  try {
    await change('POST', '/api/v1/consent/withdraw', { lang: box.dataset.lang });
  } catch (e) {
    return status(T.withdraw_failed);
  }
  // Reloaded, so that the banner on this page applies the withdrawal too (it removes the cookies).
  location.reload();
});

const ask = $('privacy-erase-confirm');
$('privacy-erase').addEventListener('click', () => ask.showModal());
ask.addEventListener('close', async () => {
  if (ask.returnValue !== 'erase') return;
  ask.returnValue = '';
  let answer;
  try {
    answer = await change('DELETE', '/api/v1/consent');
  } catch (e) {
    return status(T.erase_failed);
  }
  await load();
  status(answer.erased ? fill(T.erased, { index: answer.tombstone.log_index }) : T.nothing_erased);
});

// A new choice in the banner is a new receipt: show it.
d.addEventListener('samtycke:change', () => load());
load();
