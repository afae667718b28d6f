/*! samtycke banner | AGPL-3.0-or-later */
// Embed: first in <head> the Consent Mode default stub (README), then anywhere
//   <script src="https://consent.example.se/banner.js" data-site="1" defer nonce="…"></script>
// A portal that knows who is logged in adds data-account-token="<JWT>": the choice then follows the account.
(function (w, d) {
  'use strict';
  const me = d.currentScript;
  if (!me || w.samtycke) return; // loaded twice: the first copy wins

  // Under a strict CSP everything we create (style element, activated scripts) reuses our nonce.
  const nonce = me.nonce || me.getAttribute('nonce') || '';
  const site = me.getAttribute('data-site') || '1';
  // The portal's account token; dropped for this page when samtycke refuses it.
  let token = me.getAttribute('data-account-token') || '';
  // The API lives where the script comes from: https://consent.example.se/banner.js, or a proxied
  // site's /_samtycke/banner.js (then every API path is under /_samtycke). data-api overrides it.
  const api = me.getAttribute('data-api') || new URL(me.src, location.href).href.replace(/(\/static)?\/banner\.js([?#].*)?$/, '');
  const url = (p) => new URL(/^https?:/.test(p) ? p : api + p, location.href).href;
  const CSS = /*CSS*/ '';
  const STATE = 'samtycke_state';
  // Retries of a choice the server did not acknowledge: after 1, 2, 4, 8 and 16 seconds, then no more.
  const RETRIES = 5;
  // A choice carried from another site of the group arrives as a one-time code in the address. It
  // leaves the address bar at once, before the page's other scripts read, log or share the URL.
  const HANDOFF = 'samtycke_handoff';
  let code = null;
  try {
    const u = new URL(location.href);
    code = u.searchParams.get(HANDOFF);
    if (code !== null) u.searchParams.delete(HANDOFF), history.replaceState(history.state, '', u.href);
  } catch (e) { /* no history API: the code is still used once, below */ }

  // Google Consent Mode v2. The stub that pages put first in <head> has already set the default
  // (denied, except security_storage: it serves the necessary category). Without the stub the
  // banner sets the same default, which is in time only when it runs before any tag.
  function gtag() { (w.dataLayer = w.dataLayer || []).push(arguments); }
  if (!(w.dataLayer || []).some((a) => a[0] === 'consent' && a[1] === 'default')) {
    gtag('consent', 'default', { ad_storage: 'denied', ad_user_data: 'denied', ad_personalization: 'denied', analytics_storage: 'denied',
      functionality_storage: 'denied', personalization_storage: 'denied', security_storage: 'granted', wait_for_update: 500 });
  }

  const pick = (s) => (/^sv\b/i.test(s) ? 'sv' : /^en\b/i.test(s) ? 'en' : '');
  const lang = pick(me.getAttribute('data-lang') || '') || pick(d.documentElement.lang) || pick(navigator.language || '') || 'en';

  let cfg, t, cats = [], opt = [], state = null, granted = { necessary: true }, gpc = [], busy, ui, back, pending, timer;
  const $ = (s, r) => (r || d).querySelectorAll(s);
  const now = () => Date.now() / 1000;
  // Category names inside a sentence are written in lower case ("samtycke till marknadsföring").
  const low = (c) => (cats.find((x) => x.id === c) || { name: c }).name.toLocaleLowerCase(cfg.lang);
  const fire = (type) => d.dispatchEvent(new CustomEvent('samtycke:' + type, { detail: api_.get() }));

  // Tiny element builder: attributes via setAttribute, children as nodes or text (never HTML).
  function h(tag, attrs, ...kids) {
    const e = d.createElement(tag);
    for (const k in attrs) if (attrs[k] != null && attrs[k] !== false) e.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    e.append(...kids.filter((k) => k != null));
    return e;
  }

  // The server sets samtycke_state = encodeURIComponent(JSON {v, exp, g, m}). It only counts
  // for the notice version shown now and until it expires; otherwise we ask again.
  function readState() {
    const m = d.cookie.match(/(?:^|;\s*)samtycke_state=([^;]*)/);
    let s = null;
    try { s = m && JSON.parse(decodeURIComponent(m[1].replace(/^"|"$/g, ''))); } catch (e) { /* unreadable = no choice */ }
    return s && s.v === cfg.notice.version && s.exp > now() && Array.isArray(s.g) ? s : null;
  }

  // ---- Applying a known choice ------------------------------------------------------------
  function apply(changed) {
    granted = { necessary: true };
    for (const c of cats) granted[c.id] = !!(c.required || (state && state.g.includes(c.id)));
    gate();
    clear();
    if (state || changed) {
      const u = {};
      for (const k in cfg.consent_mode) u[k] = granted[cfg.consent_mode[k]] ? 'granted' : 'denied';
      gtag('consent', 'update', u);
      // Matomo (samtycke's /matomo.js or any _paq): tell it about statistics consent.
      if (w._paq && w._paq.push) w._paq.push([granted.statistics ? 'setConsentGiven' : 'forgetConsentGiven']);
      if (state) fire('consent');
      if (changed) fire('change');
    }
  }

  // Gated markup: <script type="text/plain" data-category>, <iframe|img data-category data-src>.
  function gate() {
    for (let el of $('script[data-category],iframe[data-category][data-src],img[data-category][data-src]')) {
      const c = el.getAttribute('data-category'), ok = granted[c];
      if (el.tagName === 'SCRIPT') {
        if (ok && el.type === 'text/plain') run(el);
        continue;
      }
      const src = el.getAttribute('data-src');
      if (ok) {
        if (el.getAttribute('src') !== src) el.src = src;
        if (el.stk) el.stk.remove(), el.stk = null;
        el.hidden = false;
      } else {
        if (el.hasAttribute('src')) el.removeAttribute('src'), el.tagName === 'IFRAME' && el.replaceWith(el = el.cloneNode());
        if (!el.stk && cfg) {
          el.stk = h('div', { class: 'stk-p' }, h('p', {}, t.placeholder.replace('{category}', low(c))),
            h('button', { type: 'button', class: 'stk-btn', 'data-samtycke-allow': c }, t.allow));
          // Same box as the blocked element, so swapping them moves nothing on the page. (Set through
          // CSSOM, which a nonce-only CSP allows; inline style attributes in markup it would not.)
          const r = el.getBoundingClientRect();
          if (r.width) el.stk.style.width = r.width + 'px', el.stk.style.minHeight = r.height + 'px';
          if (getComputedStyle(el).display !== 'inline') el.stk.style.display = 'block';
          el.before(el.stk);
        }
        el.hidden = true;
      }
    }
  }

  // A new <script> element is needed: changing type on the inert one would not run it.
  function run(old) {
    const s = d.createElement('script');
    for (const a of old.attributes) if (!/^(type|data-src|data-type|nonce)$/.test(a.name)) s.setAttribute(a.name, a.value);
    s.type = old.getAttribute('data-type') || 'text/javascript';
    s.nonce = old.nonce || nonce;
    const src = old.getAttribute('data-src');
    if (src) s.src = src, s.async = false; // keep the page's order between external scripts
    else s.text = old.text;
    old.replaceWith(s);
  }

  // Delete registry cookies and storage keys of every category without consent. A cookie can only
  // be deleted with the domain and path it was set with, and the browser tells scripts neither, so
  // try every plausible variant: the paths the site configures and declares, and this page's own.
  // A cookie under a path this page cannot see is found by its exact name only, not by a pattern.
  function clear() {
    const names = d.cookie.split(/;\s*/).map((s) => s.split('=')[0]).filter(Boolean);
    const host = location.hostname, doms = [''], paths = new Set(['/', ...(cfg.paths || [])]);
    if (!/^[\d.]+$|:/.test(host)) { // IP literals have no parent domains
      // host, .host and each parent up to the registrable domain (taken as the last two labels).
      const l = host.split('.');
      for (let i = 0; i < Math.max(1, l.length - 1); i++) doms.push(l.slice(i).join('.'), '.' + l.slice(i).join('.'));
    }
    location.pathname.split('/').reduce((a, b) => (b && paths.add(a + '/' + b), a + '/' + b));
    for (const c of cats) {
      if (granted[c.id]) continue;
      const list = (c.cookies || []).concat(c.id === 'statistics' ? [{ name: '_pk_.*', regex: true }] : []);
      for (const k of list) if (k.path) paths.add(k.path);
      for (const k of list) {
        let hits = [k.name];
        if (k.regex) try { const re = new RegExp('^(?:' + k.name + ')$'); hits = names.filter((n) => re.test(n)); } catch (e) { hits = []; }
        for (const n of hits) for (const p of paths) for (const dm of doms) d.cookie = n + '=;max-age=0;path=' + p + (dm && ';domain=' + dm);
      }
      for (const key of c.storage_keys || []) for (const s of ['localStorage', 'sessionStorage']) try { w[s].removeItem(key); } catch (e) { /* storage disabled */ }
    }
  }

  // ---- Recording a choice (only ever from a click) ------------------------------------------
  // A choice counts only once the server has acknowledged it with a receipt (GDPR Art. 7(1): the
  // controller must be able to show the consent). Until then nothing beyond necessary is granted,
  // nothing is stored, and the choice is sent again a few times; the page stays usable meanwhile.
  function choose(dec, method) {
    if (busy) return;
    const had = state && state.g.length;
    if (gpc.length && method !== 'reject_all' && gpc.every((id) => !dec[id])) method = 'gpc';
    if (had && opt.every((c) => !dec[c.id])) method = 'withdraw';
    const decisions = Object.fromEntries(opt.map((c) => [c.id, !!dec[c.id]]));
    // "Accept all" is no explicit opt-in to what GPC protects, so leave those categories out: the
    // server then still applies a Sec-GPC header that this page cannot see.
    if (method === 'accept_all' && cfg.gpc && cfg.gpc.honoured) for (const id of cfg.gpc.denies || []) delete decisions[id];
    const any = opt.some((c) => dec[c.id]);
    const days = any ? cfg.lifetimes.consent_days : cfg.lifetimes.refusal_days;
    const body = { site_id: +site, decisions, method, notice_version: cfg.notice.version, lang: cfg.lang || lang };
    // The browser's GPC signal, which reaches the server as a header only when the browser sends one.
    if (navigator.globalPrivacyControl) body.gpc = true;
    if (token) body.account_token = token;
    clearTimeout(timer);
    pending = { body: JSON.stringify(body), days, tries: 0,
      mine: { v: cfg.notice.version, exp: Math.floor(now() + days * 86400), g: opt.filter((c) => dec[c.id]).map((c) => c.id), m: method } };
    return send(pending);
  }

  const post = (path, body, signal) => fetch(url(path), { method: 'POST', credentials: 'include', headers: { 'Content-Type': 'application/json' }, body, signal });
  const stateCookie = () => String(d.cookie.match(/(?:^|;\s*)samtycke_state=[^;]*/));

  // The cookie the server just set is the truth (it may deny marketing for Sec-GPC). When the API
  // is on another site that cookie is not readable here, so keep our own copy of the state.
  function remember(before, mine, days) {
    const fresh = stateCookie() !== before && readState();
    if (!fresh) d.cookie = STATE + '=' + encodeURIComponent(JSON.stringify(mine)) + ';max-age=' + days * 86400 + ';path=/;samesite=lax' + (location.protocol === 'https:' ? ';secure' : '');
    return fresh || mine;
  }

  async function send(p) {
    busy = 1;
    const before = stateCookie();
    let ok;
    try {
      ok = (await post(cfg.endpoints.consent, p.body)).ok;
    } catch (e) { /* unreachable: handled like a refusal to acknowledge */ }
    busy = 0;
    if (!ok) return unsaved(p);
    pending = null;
    note('');
    state = remember(before, p.mine, p.days);
    close();
    apply(true);
  }

  // ---- One choice across the group's sites ---------------------------------------------------
  // The target site records the carried choice under its own receipt; without one (a used,
  // expired or foreign code, or no answer) nothing is adopted and the visitor is asked as usual.
  async function redeem() {
    try {
      const before = stateCookie();
      const r = await post(cfg.endpoints.redeem, JSON.stringify({ code, site_id: +site, lang: cfg.lang || lang }));
      if (!r.ok) return null;
      const { receipt: rc } = await r.json();
      const g = rc.purposes.filter((x) => !x.required && x.decision === 'granted').map((x) => x.category);
      return remember(before, { v: cfg.notice.version, exp: Math.floor(Date.parse(rc.validity.until) / 1000), g, m: rc.method }, rc.validity.days);
    } catch (e) { return null; }
  }

  // A plain click on a link to another site of the group asks for a one-time code and adds it to
  // the address; only with a recorded choice, and only for a link that opens here. No answer within
  // two seconds: the link is followed without one.
  const partner = (to) => /^https?:$/.test(to.protocol) && to.hostname !== location.hostname &&
    (cfg.handoff || []).find((s) => s.domains.some((x) => x === to.hostname || (x.startsWith('*.') && to.hostname.endsWith(x.slice(1)))));
  d.addEventListener('click', (e) => {
    const a = e.target.closest && e.target.closest('a[href]');
    if (!a || !cfg || !state || e.defaultPrevented || e.button || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    if ((a.target && a.target !== '_self') || a.hasAttribute('download')) return;
    const to = new URL(a.href, location.href), p = partner(to);
    if (!p) return;
    e.preventDefault();
    const stop = new AbortController(), t = setTimeout(() => stop.abort(), 2000);
    post(cfg.endpoints.handoff, JSON.stringify({ site_id: +site, target_site_id: p.site_id }), stop.signal)
      .then((r) => r.ok && r.json()).then((j) => j && to.searchParams.set(HANDOFF, j.code)).catch(() => {})
      .finally(() => (clearTimeout(t), location.assign(to.href)));
  });

  // ---- One choice across the customer's devices --------------------------------------------
  // With an account token, the account's choice (made on another device) becomes this browser's, or
  // this browser's newer choice becomes the account's. Whatever goes wrong, the page goes on as without.
  async function follow() {
    try {
      const before = stateCookie();
      const r = await post('/api/v1/consent/account', JSON.stringify({ site_id: +site, account_token: token, lang: cfg.lang || lang }));
      if (r.status === 201) {
        const s = (await r.json()).state;
        return s.v === cfg.notice.version ? remember(before, s, Math.ceil((s.exp - now()) / 86400)) /* the state's own exp still rules */ : readState();
      }
      if (r.status >= 400 && r.status < 500 && r.status !== 429) token = ''; // refused: this page goes on without it
    } catch (e) { /* unreachable: as without a token */ }
    return null;
  }

  // Not acknowledged: back to necessary only, on this page and the next (which then asks again).
  // The dialog stays as the visitor left it and shows why; it never reopens by itself.
  function unsaved(p) {
    const more = p.tries < RETRIES;
    note(more ? t.unsaved_retry : t.unsaved);
    if (more) timer = setTimeout(() => send(p), 1000 * 2 ** p.tries++);
    if (p.lost) return;
    p.lost = 1;
    state = null;
    d.cookie = STATE + '=;max-age=0;path=/';
    apply(true);
  }

  // ---- The dialog ---------------------------------------------------------------------------
  function build() {
    const ct = t.cookie_table;
    const btn = (a, txt, hidden) => h('button', { type: 'button', class: 'stk-btn', 'data-samtycke-action': a, hidden }, txt);
    const cat = (c) => {
      const id = 'stk-c-' + c.id;
      // One row per cookie, and one per storage key kept with it (similar technologies, same rules).
      // A necessary cookie says why it is necessary next to its purpose.
      const row = (name, k, type) => h('tr', {}, ...[name, k.provider, [k.purpose, k.justification].filter(Boolean).join(' '), k.lifetime,
        type, k.party === 'third' ? ct.third : ct.first].map((x) => h('td', {}, x || '')));
      const rows = (c.cookies || []).flatMap((k) => [row(k.label || k.name, k, k.session ? ct.session : ct.persistent),
        ...(k.storage_keys || []).map((key) => row(key, k, ct.storage))]);
      return h('div', { class: 'stk-c' },
        h('div', { class: 'stk-ch' },
          h('input', { type: 'checkbox', role: 'switch', class: 'stk-sw', id, 'data-cat': c.id, checked: c.required, disabled: c.required, 'aria-describedby': id + '-d' }),
          h('label', { for: id }, c.name), c.required ? h('span', {}, t.always_on) : null),
        h('p', { id: id + '-d' }, c.description || ''),
        rows.length ? h('details', {}, h('summary', {}, t.cookies || 'Cookies', ' (' + rows.length + ')'),
          h('div', { class: 'stk-tw', tabindex: 0 }, h('table', {},
            h('thead', {}, h('tr', {}, ...['name', 'provider', 'purpose', 'lifetime', 'type', 'party'].map((x) => h('th', { scope: 'col' }, ct[x])))),
            h('tbody', {}, ...rows)))) : null);
    };
    ui = h('div', { class: 'stk', hidden: true },
      h('div', { class: 'stk-d', role: 'dialog', 'aria-modal': 'true', 'aria-labelledby': 'stk-t', 'aria-describedby': 'stk-desc', lang: cfg.lang || lang, tabindex: -1 },
        h('h2', { id: 'stk-t' }, t.title),
        h('button', { type: 'button', class: 'stk-x', 'data-samtycke-close': '', 'aria-label': t.close, title: t.close }, '×'),
        h('p', { id: 'stk-desc' }, t.description, ' ', cfg.notice.policy_url ? h('a', { href: url(cfg.notice.policy_url) }, t.policy) : null,
          ' ', cfg.notice.cookies_url ? h('a', { href: url(cfg.notice.cookies_url) }, t.cookie_list) : null),
        gpc.length ? h('p', { class: 'stk-g' }, t.gpc) : null,
        h('p', { class: 'stk-e', role: 'alert', hidden: true }),
        h('div', { class: 'stk-l2', hidden: true }, ...cats.map(cat),
          cfg.notice.privacy_url ? h('p', {}, h('a', { href: url(cfg.notice.privacy_url) }, t.my_consents)) : null),
        // Under GPC "accept all" leaves out what the signal refuses, and says so.
        h('div', { class: 'stk-b' }, btn('accept-all', gpc.length ? t.accept_gpc.replace('{categories}', gpc.map(low).join(', ')) : t.accept_all),
          btn('reject-all', t.reject_all),
          btn('settings', t.settings), btn('save', t.save, true))));
    ui.reopen = h('button', { type: 'button', class: 'stk-r', 'data-samtycke-open': '', 'aria-label': t.reopen, title: t.reopen, hidden: true });
    ui.addEventListener('keydown', keys);
    d.body.append(ui, ui.reopen);
  }

  function note(text) {
    const e = ui && $('.stk-e', ui)[0];
    if (e) e.textContent = text, e.hidden = !text;
  }

  function layer(two) {
    $('.stk-l2,[data-samtycke-action=save]', ui).forEach((e) => (e.hidden = !two));
    $('[data-samtycke-action=settings]', ui)[0].hidden = two;
  }

  function open(two) {
    if (!ui) return;
    if (ui.hidden) back = d.activeElement;
    // Toggles show the current choice: unchecked for anyone who has not consented.
    for (const i of $('.stk-sw', ui)) i.checked = !!granted[i.getAttribute('data-cat')];
    layer(two);
    ui.hidden = false;
    ui.reopen.hidden = true;
    $('.stk-d', ui)[0].focus();
  }

  // Closing without a choice (Esc, ×) records nothing and grants nothing.
  function close() {
    if (!ui || ui.hidden) return;
    ui.hidden = true;
    ui.reopen.hidden = false;
    (back && back.isConnected && back !== d.body ? back : ui.reopen).focus();
  }

  // Esc closes; Tab cycles inside the dialog (focus trap).
  function keys(e) {
    if (e.key === 'Escape') return e.preventDefault(), close();
    if (e.key !== 'Tab') return;
    const f = [...$('button,input,summary,a[href],[tabindex="0"]', ui)].filter((x) => !x.disabled && x.offsetParent);
    const first = f[0], last = f[f.length - 1], a = d.activeElement;
    if (e.shiftKey ? a === first || !ui.contains(a) || a === $('.stk-d', ui)[0] : a === last) {
      e.preventDefault();
      (e.shiftKey ? last : first).focus();
    }
  }

  // One delegated listener serves our buttons, placeholders and the page's [data-samtycke-open].
  d.addEventListener('click', (e) => {
    const el = e.target.closest && e.target.closest('[data-samtycke-action],[data-samtycke-open],[data-samtycke-allow],[data-samtycke-close]');
    if (!el || !cfg) return;
    const a = el.getAttribute('data-samtycke-action'), all = (v) => Object.fromEntries(opt.map((c) => [c.id, v]));
    if (el.hasAttribute('data-samtycke-open')) e.preventDefault(), open();
    else if (el.hasAttribute('data-samtycke-close')) close();
    else if (el.hasAttribute('data-samtycke-allow')) choose(Object.assign(all(false), granted, { [el.getAttribute('data-samtycke-allow')]: true }), 'custom');
    else if (a === 'settings') layer(true), $('.stk-sw:not(:disabled)', ui)[0].focus();
    else if (a === 'accept-all') choose(Object.assign(all(true), Object.fromEntries(gpc.map((c) => [c, false]))), 'accept_all');
    else if (a === 'reject-all') choose(all(false), 'reject_all');
    else if (a === 'save') choose(Object.fromEntries([...$('.stk-sw', ui)].map((i) => [i.getAttribute('data-cat'), i.checked])), 'custom');
  });

  function style() {
    try { // a constructed stylesheet needs no nonce; older engines get a <style nonce>
      const s = new CSSStyleSheet();
      s.replaceSync(CSS);
      d.adoptedStyleSheets = [...d.adoptedStyleSheets, s];
    } catch (e) {
      const s = h('style', {}, CSS);
      s.nonce = nonce;
      d.head.append(s);
    }
  }

  const api_ = {
    open: () => ready.then(() => open()),
    get: () => ({ decided: !!state, method: state ? state.m : null, version: state ? state.v : null, expires: state ? state.exp : null, granted: Object.assign({}, granted) }),
    on: (type, fn) => d.addEventListener('samtycke:' + type, (e) => fn(e.detail))
  };

  const ready = fetch(url('/api/v1/sites/' + encodeURIComponent(site) + '/consent-config?lang=' + lang))
    .then((r) => { if (!r.ok) throw new Error('consent-config ' + r.status); return r.json(); })
    .then(async (c) => {
      cfg = c;
      t = c.texts; // every text comes in the visitor's language with the site's configuration
      cats = c.categories || [];
      opt = cats.filter((x) => !x.required);
      // GPC from the browser (or reported by the server from Sec-GPC) denies the configured categories.
      if (c.gpc && c.gpc.honoured && (navigator.globalPrivacyControl || c.gpc.active)) gpc = c.gpc.denies || [];
      if (d.readyState === 'loading') await new Promise((r) => d.addEventListener('DOMContentLoaded', r));
      style();
      state = (token && (await follow())) || readState();
      // A carried choice counts only where the visitor has made none here.
      const adopted = !state && code && /^[\w-]{22}$/.test(code) ? await redeem() : null;
      if (adopted) state = adopted;
      build();
      apply(!!adopted);
      if (state) ui.reopen.hidden = false;
      else open();
    })
    .catch((e) => console.warn('samtycke:', e)); // without a config everything simply stays blocked

  api_.ready = ready;
  w.samtycke = api_;
})(window, document);
