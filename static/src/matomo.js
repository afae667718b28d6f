/*! samtycke matomo.js | AGPL-3.0-or-later */
// A first-party stand-in for Matomo's tracker: an existing `_paq` embed snippet works unchanged once
// its URL points at samtycke. It implements the commands sites use in practice and adds one rule:
// no `_pk_*` cookie and no visitor or user id ever leave the browser unless the visitor gave the
// "statistics" category consent in samtycke's banner (the `samtycke_state` cookie, or the banner's
// `samtycke:change` event). Without it, hits are cookieless and the server uses a daily-salted hash.
(function (w, d, nav) {
  'use strict';
  // The real matomo.js (or this file) already owns the queue: tracking twice would double-count.
  if (w.Matomo || (w._paq && !Array.isArray(w._paq))) return;

  const VISITOR_MS = 33955200000; // 13 months, Matomo's visitor cookie lifetime
  const SESSION_MS = 1800000; // 30 minutes, Matomo's visit window
  const GET_MAX = 2000; // Matomo switches from GET to POST above this length
  const DOWNLOAD = /\.(7z|aac|apk|arc|arj|asf|asx|avi|azw3|bin|bz2?|csv|deb|dmg|docx?|epub|exe|flv|gif|gz|gzip|hqx|ibooks|jar|jpe?g|js|mobi|mp[234]|mpe?g|mov|movie|msi|msp|od[bfgst]|ogg|ogv|pdf|phps|png|pptx?|qtm?|ra|ram|rar|rpm|rtf|sea|sit|tar|tbz2?|tgz|torrent|txt|wav|wm[av]|wpd|xlsx?|xml|xz|z|zip)$/i;
  // Configuration commands take effect before any tracking call queued ahead of them, as in Matomo.
  const FIRST = ['disableCookies', 'setTrackerUrl', 'setDomains', 'setUserId', 'setSiteId', 'enableLinkTracking', 'requireConsent', 'setConsentGiven'];

  let trackerUrl = '', siteId = '', customUrl = '', title = '', referrer = d.referrer, userId = '', pvId = '';
  let dims = {}, domains = [], noCookies = false, withdrawn = false, required = false, given = false;
  let held = [], linksOn = false, heartbeat = 0, timer = 0, lastSent = 0, lastAction = 0;
  let live = null, liveRaw = null, cart = {}, product = {};
  const warned = {};

  const warn = (m) => warned[m] || (warned[m] = 1, console.warn('samtycke matomo.js: ' + m));
  const now = () => Date.now();
  const random = (n) => Array.from(crypto.getRandomValues(new Uint8Array(n)));
  const abs = (u) => { try { return new URL(u, location.href).href; } catch (e) { return String(u); } };
  const filled = (x) => x != null && String(x).trim() !== '';

  // ---- Consent ------------------------------------------------------------------------------
  // The cookie holds URL-encoded JSON {v, exp, g: [categories], m}; the banner's event detail is
  // {granted: {category: bool}, expires, ...}. Either counts only until it expires.
  const stateRaw = () => (d.cookie.match(/(?:^|;\s*)samtycke_state=([^;]*)/) || [])[1] || '';
  function normalize(x) {
    if (!x || typeof x !== 'object') return null;
    const g = Array.isArray(x.g) ? x.g : x.granted && typeof x.granted === 'object' ? Object.keys(x.granted).filter((k) => x.granted[k]) : null;
    return g && { g, exp: +(x.exp != null ? x.exp : x.expires) };
  }
  function statistics() {
    const raw = stateRaw();
    if (raw !== liveRaw) live = null; // the cookie changed after the last event, so it is newer
    let s = live;
    if (!s && raw) try { s = normalize(JSON.parse(decodeURIComponent(raw.replace(/^"|"$/g, '')))); } catch (e) { /* unreadable = no consent */ }
    return !!(s && s.g.includes('statistics') && s.exp > now() / 1000);
  }
  const cookiesAllowed = () => !noCookies && !withdrawn && statistics();

  // ---- Cookies (only ever with statistics consent) ------------------------------------------
  // Matomo names its cookies _pk_<name>.<site>.<first 4 hex of sha1(host + path)>; keeping the
  // scheme lets a visitor who consented under Matomo keep the same id.
  function sha1(text) {
    const bytes = new TextEncoder().encode(text), n = bytes.length, words = [];
    for (let i = 0; i < n; i++) words[i >> 2] |= bytes[i] << (24 - (i % 4) * 8);
    words[n >> 2] |= 0x80 << (24 - (n % 4) * 8);
    const total = ((n + 8) >> 6) * 16 + 16;
    words[total - 1] = n * 8;
    const rol = (x, c) => (x << c) | (x >>> (32 - c));
    let h = [0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0];
    for (let i = 0; i < total; i += 16) {
      const m = Array.from({ length: 80 }, (_, k) => (k < 16 ? words[i + k] | 0 : 0));
      let [a, b, c, e, f] = h;
      for (let j = 0; j < 80; j++) {
        if (j > 15) m[j] = rol(m[j - 3] ^ m[j - 8] ^ m[j - 14] ^ m[j - 16], 1);
        const r = j / 20 | 0;
        const mix = r === 0 ? (b & c) | (~b & e) : r === 2 ? (b & c) | (b & e) | (c & e) : b ^ c ^ e;
        const t = (rol(a, 5) + mix + f + [0x5a827999, 0x6ed9eba1, 0x8f1bbcdc, 0xca62c1d6][r] + m[j]) | 0;
        f = e; e = c; c = rol(b, 30); b = a; a = t;
      }
      h = h.map((x, k) => (x + [a, b, c, e, f][k]) | 0);
    }
    return h.map((x) => (x >>> 0).toString(16).padStart(8, '0')).join('');
  }
  const cookieName = (base) => '_pk_' + base + '.' + siteId + '.' + sha1(location.hostname + '/').slice(0, 4);
  function readCookie(name) {
    const c = d.cookie.split(/;\s*/).find((x) => x.split('=')[0] === name);
    try { return c ? decodeURIComponent(c.slice(name.length + 1)) : ''; } catch (e) { return ''; } // mangled: start afresh
  }
  function writeCookie(name, value, ms) {
    d.cookie = name + '=' + encodeURIComponent(value) + ';expires=' + new Date(now() + ms).toUTCString() +
      ';path=/;SameSite=Lax' + (location.protocol === 'https:' ? ';Secure' : '');
  }
  // Delete every _pk_* cookie, host-only and on each parent domain it could have been set for.
  function clearCookies(pattern) {
    const host = location.hostname, labels = host.split('.'), domains = [''];
    if (!/^[\d.]+$|:/.test(host)) for (let i = 0; i < labels.length - 1; i++) domains.push(';domain=' + labels.slice(i).join('.'));
    for (const part of d.cookie.split(/;\s*/)) {
      const name = part.split('=')[0];
      if (pattern.test(name)) for (const dm of domains) d.cookie = name + '=;max-age=0;path=/' + dm;
    }
  }
  function sync() {
    if (!cookiesAllowed()) clearCookies(/^_pk_/);
  }

  // The visitor id from _pk_id (made when missing), or '' when the hit must stay cookieless.
  function visitorId() {
    if (!cookiesAllowed()) {
      sync();
      return '';
    }
    const name = cookieName('id'), [old, created] = readCookie(name).split('.');
    const id = /^[0-9a-f]{16}$/.test(old) ? old : random(8).map((b) => b.toString(16).padStart(2, '0')).join('');
    writeCookie(name, id + '.' + (/^\d+$/.test(created) ? created : Math.floor(now() / 1000)), VISITOR_MS);
    writeCookie(cookieName('ses'), '1', SESSION_MS);
    return id;
  }

  // ---- Sending ------------------------------------------------------------------------------
  const mayTrack = () => !required || given;

  // Parameters are fixed when the call is made; identity is added when the hit leaves, so hits
  // held for requireConsent carry the consent state at the moment consent arrived.
  function track(params, data) {
    if (!trackerUrl || !filled(siteId)) return warn('setTrackerUrl and setSiteId must come first');
    const t = new Date();
    const hit = Object.assign({
      idsite: siteId, rec: 1, r: String(Math.random()).slice(2, 8), h: t.getHours(), m: t.getMinutes(), s: t.getSeconds(),
      url: customUrl || location.href, urlref: referrer, pv_id: pvId, res: screen.width + 'x' + screen.height, send_image: 0
    }, dims, params);
    for (const k in data || {}) if (/^dimension\d+$/.test(k)) hit[k] = data[k];
    if (!params.ping) lastAction = now();
    if (mayTrack()) transmit(hit);
    else held.push(hit);
  }

  function transmit(hit) {
    const consented = !withdrawn && statistics();
    hit._id = visitorId();
    hit.uid = consented ? userId : ''; // a user id is identifying, too
    // consent=1 is Matomo's flag for consent given under requireConsent; samtycke also sends it for
    // statistics consent, which tells the server it may use _id even where its own consent cookie
    // does not travel with the request.
    if ((required && given) || consented) hit.consent = 1;
    const body = Object.keys(hit).filter((k) => filled(hit[k])).map((k) => encodeURIComponent(k) + '=' + encodeURIComponent(hit[k])).join('&');
    lastSent = now();
    beat();
    const url = trackerUrl, init = { keepalive: true, mode: 'no-cors', credentials: 'include' };
    if (body.length <= GET_MAX) {
      const get = url + (url.includes('?') ? '&' : '?') + body;
      // A site CSP without our origin in connect-src still tends to allow images.
      fetch(get, init).catch(() => { new Image().src = get; });
    } else {
      const form = new URLSearchParams(body); // sent as application/x-www-form-urlencoded
      if (!(nav.sendBeacon && nav.sendBeacon(url, form))) fetch(url, Object.assign({ method: 'POST', body: form }, init)).catch(() => {});
    }
  }

  function release() {
    if (!mayTrack()) return;
    const hits = held;
    held = [];
    hits.forEach(transmit);
  }

  // ---- Heartbeat: ping=1 after `heartbeat` ms without a hit while the page is visible ----------
  // Pings stop once a visit would have ended anyway, so a forgotten tab does not last forever.
  function beat() {
    clearTimeout(timer);
    if (!heartbeat || !pvId) return;
    const idle = now() - lastSent;
    timer = setTimeout(() => {
      if (mayTrack() && d.visibilityState !== 'hidden' && now() - lastSent >= heartbeat && now() - lastAction < SESSION_MS) track({ ping: 1 });
      else beat();
    }, idle >= heartbeat ? heartbeat : heartbeat - idle);
  }

  // ---- Links: outlinks and downloads ------------------------------------------------------
  const siteHost = (host) => [location.hostname].concat(domains).some((x) => {
    x = String(x).toLowerCase().replace(/\/.*$/, '');
    return x.startsWith('*.') ? host === x.slice(2) || host.endsWith(x.slice(1)) : host === x;
  });
  // Matomo's classes on a link override the guess: matomo_ignore, matomo_download, matomo_link (or piwik_*).
  function linkKind(a) {
    const marked = (kind) => a.classList.contains('matomo_' + kind) || a.classList.contains('piwik_' + kind);
    let u;
    try { u = new URL(a.getAttribute('href'), location.href); } catch (e) { return ''; }
    if (marked('ignore') || !/^(https?|ftp):$/.test(u.protocol)) return '';
    if (marked('download') || a.hasAttribute('download') || DOWNLOAD.test(u.pathname)) return 'download';
    return marked('link') || !siteHost(u.hostname.toLowerCase()) ? 'link' : '';
  }
  function onClick(e) {
    if (e.type === 'auxclick' && e.button !== 1) return; // only a middle click opens the link
    const a = e.target instanceof Element && e.target.closest('a[href],area[href]');
    const kind = a && linkKind(a);
    if (kind) track({ [kind]: abs(a.getAttribute('href')), ca: 1 });
  }

  // ---- Ecommerce: an order or a cart update carries the whole cart, as in Matomo -------------
  function ecommerce(params) {
    track(Object.assign({ idgoal: 0, ec_items: JSON.stringify(Object.values(cart)), ca: 1 }, params));
  }

  // ---- The _paq commands ----------------------------------------------------------------------
  const api = {
    setTrackerUrl: (u) => { trackerUrl = String(u); },
    setSiteId: (id) => { siteId = String(id); },
    setCustomUrl: (u) => { customUrl = abs(u); },
    setDocumentTitle: (t) => { title = String(t); },
    setReferrerUrl: (u) => { referrer = String(u); },
    setUserId: (u) => { userId = filled(u) ? String(u) : ''; },
    resetUserId: () => { userId = ''; },
    setCustomDimension: (id, value) => { if (+id > 0) dims['dimension' + +id] = value; },
    deleteCustomDimension: (id) => { delete dims['dimension' + +id]; },
    setDomains: (list) => { domains = [].concat(list); },
    disableCookies: () => { noCookies = true; sync(); },
    requireConsent: () => { required = true; given = given || !!readCookie('mtm_consent'); },
    setConsentGiven: () => { given = true; withdrawn = false; release(); },
    rememberConsentGiven: (hours) => { writeCookie('mtm_consent', now(), (+hours || 262800) * 3600000); api.setConsentGiven(); },
    // Matomo's meaning (stop tracking) holds when consent is required; otherwise samtycke goes on
    // counting, cookieless, which is what the banner's "statistics denied" asks for.
    forgetConsentGiven: () => { given = false; withdrawn = true; clearCookies(/^mtm_consent$/); sync(); },
    trackPageView: (customTitle, data) => {
      pvId = random(6).map((b) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789'[b % 62]).join('');
      track(Object.assign({ action_name: filled(customTitle) ? customTitle : title || d.title }, product), data);
      product = {}; // a product view belongs to the one page view it was set for
    },
    trackEvent: (category, action, name, value, data) => {
      if (!filled(category) || !filled(action)) return warn('trackEvent needs a category and an action');
      track({ e_c: category, e_a: action, e_n: name, e_v: isFinite(parseFloat(value)) ? parseFloat(value) : '', ca: 1 }, data);
    },
    trackGoal: (id, revenue, data) => {
      if (!(+id > 0)) return warn('trackGoal needs a goal id');
      track({ idgoal: +id, revenue: isFinite(parseFloat(revenue)) ? parseFloat(revenue) : '', ca: 1 }, data);
    },
    trackSiteSearch: (keyword, category, count, data) => {
      if (!filled(keyword)) return warn('trackSiteSearch needs a keyword');
      const n = parseInt(count, 10);
      track({ search: keyword, search_cat: [].concat(category || []).join(','), search_count: n >= 0 ? n : '' }, data);
    },
    addEcommerceItem: (sku, name, category, price, quantity) => {
      if (filled(sku)) cart[sku] = [String(sku), name || '', category || '', +price || 0, +quantity || 1];
    },
    removeEcommerceItem: (sku) => { delete cart[sku]; },
    clearEcommerceCart: () => { cart = {}; },
    getEcommerceItems: () => Object.values(cart),
    trackEcommerceCartUpdate: (total) => ecommerce({ revenue: total }),
    trackEcommerceOrder: (id, total, sub, tax, ship, discount) => {
      if (!filled(id) || !filled(total)) return warn('trackEcommerceOrder needs an order id and a total');
      ecommerce({ ec_id: id, revenue: total, ec_st: sub, ec_tx: tax, ec_sh: ship, ec_dt: discount });
      cart = {};
    },
    setEcommerceView: (sku, name, category, price) => {
      product = { _pks: sku || '', _pkn: name || '', _pkc: Array.isArray(category) ? JSON.stringify(category) : category || '', _pkp: price };
    },
    trackLink: (u, kind, data) => track({ [kind === 'download' ? 'download' : 'link']: abs(u), ca: 1 }, data),
    enableLinkTracking: () => {
      if (linksOn) return;
      linksOn = true;
      d.addEventListener('click', onClick, true);
      d.addEventListener('auxclick', onClick, true);
    },
    enableHeartBeatTimer: (seconds) => { heartbeat = Math.max(+seconds || 15, 5) * 1000; beat(); },
    disableHeartBeatTimer: () => { heartbeat = 0; beat(); },
    ping: () => track({ ping: 1 }),
    getVisitorId: () => (cookiesAllowed() ? visitorId() : ''),
    getUserId: () => userId,
    hasConsent: () => given
  };

  function run(command) {
    if (!command || !command.length) return;
    const [name, ...args] = command;
    try {
      if (typeof name === 'function') name.apply(api, args);
      else if (Object.prototype.hasOwnProperty.call(api, name)) api[name](...args);
      else warn('unsupported command ' + name + ' ignored');
    } catch (e) {
      console.error(e); // one failing command (often the site's own function) must not stop the queue
    }
  }

  const queued = w._paq || [];
  for (const name of FIRST) for (let i = 0; i < queued.length; i++) if (queued[i] && queued[i][0] === name) run(queued.splice(i--, 1)[0]);
  w._paq = { push: (...commands) => commands.forEach(run) };
  w.Matomo = w.Piwik = { getAsyncTracker: () => api, getTracker: () => api };
  sync();
  d.addEventListener('samtycke:change', (e) => { live = normalize(e.detail); liveRaw = stateRaw(); sync(); });
  d.addEventListener('visibilitychange', beat);
  queued.forEach(run);
  if (typeof w.matomoAsyncInit === 'function') w.matomoAsyncInit();
})(window, document, navigator);
