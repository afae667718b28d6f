// samtycke dashboard: reads the stats API with the session cookie and draws the overview.
// All view state (site, range, comparison, filters, tabs, language) lives in the URL, so a
// view can be shared. No framework; DOM built with textContent only (no HTML from data).
(function () {
  'use strict';

  const root = document.getElementById('dashboard');
  const config = JSON.parse(document.getElementById('dashboard-config').textContent);
  const lang = config.lang === 'sv' ? 'sv' : 'en';
  const locale = lang === 'sv' ? 'sv-SE' : 'en-GB';
  const supported = new Set(config.dimensions);

  const TEXT = {
    sv: {
      title: 'Statistik', site: 'Webbplats', range: 'Period', compare: 'Jämför med',
      day: 'I dag', '7d': 'Senaste 7 dagarna', '30d': 'Senaste 30 dagarna', month: 'Denna månad',
      '6mo': 'Senaste 6 månaderna', '12mo': 'Senaste 12 månaderna', year: 'I år', all: 'Allt',
      custom: 'Egen period…', from: 'Från', to: 'Till', apply: 'Visa',
      off: 'Ingen jämförelse', previous: 'Föregående period', yoy: 'Samma period förra året',
      visitors: 'Besökare', visits: 'Besök', pageviews: 'Sidvisningar', views_per_visit: 'Sidor per besök',
      bounce_rate: 'Avvisningsfrekvens', visit_duration: 'Besökstid', events: 'Händelser',
      realtime: (n) => `${n} ${n === 1 ? 'besökare' : 'besökare'} de senaste 30 minuterna`,
      chart: 'Besökare och sidvisningar över tid', chartTable: 'Visa som tabell', table: 'tabell', time: 'Tid',
      comparison: 'jämförelse', filters: 'Filter', removeFilter: (f) => `Ta bort filter ${f}`,
      clear: 'Rensa alla filter', noData: 'Inga data för perioden.', csv: 'Ladda ned CSV',
      filterBy: (v) => `Filtrera på ${v}`, share: 'Andel',
      pages: 'Sidor', page: 'Sida', topPages: 'Mest besökta', entry: 'Ingångssidor', exit: 'Utgångssidor',
      sources: 'Källor', channel: 'Kanaler', source: 'Källor', referrer: 'Hänvisningar',
      campaigns: 'Kampanjer (UTM)', utm_campaign: 'Kampanj', utm_source: 'Källa', utm_medium: 'Medium',
      locations: 'Platser', country: 'Länder', region: 'Regioner', city: 'Städer', map: 'Karta över Europa',
      devices: 'Enheter', device: 'Enhetstyp', browser: 'Webbläsare', os: 'Operativsystem',
      goals: 'Mål', goal: 'Mål', conversions: 'Konverteringar', conversion_rate: 'Konverteringsgrad',
      noGoals: 'Inga mål är inställda för webbplatsen.',
      consent: 'Samtycken', optIn: 'Andel som samtycker per kategori', category: 'Kategori',
      optInRate: 'Samtycker', choices: 'Val', methods: 'Hur besökarna svarar', method: 'Svar',
      byVersion: 'Per version av informationstexten', version: 'Version', byDay: 'Per dag', dayCol: 'Dag',
      accept_all: 'Acceptera alla', reject_all: 'Avvisa alla', customChoice: 'Anpassat val',
      gpc: 'GPC-signal', withdraw: 'Återkallat', handoff: 'Från en annan webbplats i gruppen',
      necessary: 'Nödvändiga', preferences: 'Inställningar', statistics: 'Statistik', marketing: 'Marknadsföring',
      none: '(ingen)', error: 'Kunde inte hämta statistiken', language: 'In English', loading: 'Hämtar…',
      unavailable: 'Kommer när statistik-API:t stöder det.', direct: 'Direkt',
      titles: 'Sidtitlar', pageTitle: 'Sidtitel', engagement: 'Tid och utgångar', time_on_page: 'Tid på sidan',
      entry_rate: 'Andel ingångar', exit_rate: 'Andel utgångar',
      links: 'Länkar', outlinks: 'Utgående länkar', outlink: 'Länk', downloads: 'Nedladdningar', file: 'Fil',
      search: 'Sökningar på webbplatsen', keywords: 'Sökord', keyword: 'Sökord', searchCategories: 'Sökkategorier',
      searchCategory: 'Sökkategori', searches_without_results: 'Utan träffar',
      eventCategories: 'Kategorier', eventCategory: 'Kategori', eventActions: 'Åtgärder', eventAction: 'Åtgärd',
      eventNames: 'Namn', eventName: 'Namn', languages: 'Språk', languageCol: 'Språk',
      customDimensions: 'Anpassade dimensioner', allDimensions: 'Alla', dimension: 'Dimension',
      dimensionNumber: (n) => `Dimension ${n}`, showDimension: (d) => `Visa värdena för ${d}`,
      ecommerce: 'E-handel', revenue: 'Intäkter', orders: 'Beställningar', average_order_value: 'Snittordervärde',
      ecommerce_conversion_rate: 'Andel besök med köp', quantity: 'Antal sålda', product_views: 'Produktvisningar',
      cart_adds: 'Besök med varan i kundvagnen', products: 'Produkter', product: 'Produkt',
      productCategories: 'Produktkategorier', productCategory: 'Kategori', goalRevenue: 'Intäkter per mål',
      ecommerceFilter: 'E-handelsrapporterna kan inte filtreras på utgångssida eller hänvisning.',
      ordersOnce: 'En beställning räknas en gång, när den först registrerades, även om den skickas igen.',
      views: 'Vy', overview: 'Översikt', funnels: 'Trattar',
    },
    en: {
      title: 'Statistics', site: 'Site', range: 'Period', compare: 'Compare with',
      day: 'Today', '7d': 'Last 7 days', '30d': 'Last 30 days', month: 'This month',
      '6mo': 'Last 6 months', '12mo': 'Last 12 months', year: 'This year', all: 'All time',
      custom: 'Custom range…', from: 'From', to: 'To', apply: 'Show',
      off: 'No comparison', previous: 'Previous period', yoy: 'Same period last year',
      visitors: 'Visitors', visits: 'Visits', pageviews: 'Pageviews', views_per_visit: 'Views per visit',
      bounce_rate: 'Bounce rate', visit_duration: 'Visit duration', events: 'Events',
      realtime: (n) => `${n} ${n === 1 ? 'visitor' : 'visitors'} in the last 30 minutes`,
      chart: 'Visitors and pageviews over time', chartTable: 'Show as a table', table: 'table', time: 'Time',
      comparison: 'comparison', filters: 'Filters', removeFilter: (f) => `Remove filter ${f}`,
      clear: 'Clear all filters', noData: 'No data for this period.', csv: 'Download CSV',
      filterBy: (v) => `Filter by ${v}`, share: 'Share',
      pages: 'Pages', page: 'Page', topPages: 'Top pages', entry: 'Entry pages', exit: 'Exit pages',
      sources: 'Sources', channel: 'Channels', source: 'Sources', referrer: 'Referrers',
      campaigns: 'Campaigns (UTM)', utm_campaign: 'Campaign', utm_source: 'Source', utm_medium: 'Medium',
      locations: 'Locations', country: 'Countries', region: 'Regions', city: 'Cities', map: 'Map of Europe',
      devices: 'Devices', device: 'Device type', browser: 'Browsers', os: 'Operating systems',
      goals: 'Goals', goal: 'Goal', conversions: 'Conversions', conversion_rate: 'Conversion rate',
      noGoals: 'No goals are configured for this site.',
      consent: 'Consent', optIn: 'Opt-in rate per category', category: 'Category',
      optInRate: 'Opt-in', choices: 'Choices', methods: 'How visitors answer', method: 'Answer',
      byVersion: 'Per notice version', version: 'Version', byDay: 'Per day', dayCol: 'Day',
      accept_all: 'Accept all', reject_all: 'Reject all', customChoice: 'Custom choice',
      gpc: 'GPC signal', withdraw: 'Withdrawn', handoff: 'From another site of the group',
      necessary: 'Necessary', preferences: 'Preferences', statistics: 'Statistics', marketing: 'Marketing',
      none: '(none)', error: 'Could not load the statistics', language: 'På svenska', loading: 'Loading…',
      unavailable: 'Arrives when the stats API supports it.', direct: 'Direct',
      titles: 'Page titles', pageTitle: 'Page title', engagement: 'Time and exits', time_on_page: 'Time on page',
      entry_rate: 'Entry rate', exit_rate: 'Exit rate',
      links: 'Links', outlinks: 'Outlinks', outlink: 'Link', downloads: 'Downloads', file: 'File',
      search: 'Site search', keywords: 'Keywords', keyword: 'Keyword', searchCategories: 'Search categories',
      searchCategory: 'Search category', searches_without_results: 'Without results',
      eventCategories: 'Categories', eventCategory: 'Category', eventActions: 'Actions', eventAction: 'Action',
      eventNames: 'Names', eventName: 'Name', languages: 'Languages', languageCol: 'Language',
      customDimensions: 'Custom dimensions', allDimensions: 'All', dimension: 'Dimension',
      dimensionNumber: (n) => `Dimension ${n}`, showDimension: (d) => `Show the values of ${d}`,
      ecommerce: 'Ecommerce', revenue: 'Revenue', orders: 'Orders', average_order_value: 'Average order value',
      ecommerce_conversion_rate: 'Visits with an order', quantity: 'Quantity sold', product_views: 'Product views',
      cart_adds: 'Visits with it in the cart', products: 'Products', product: 'Product',
      productCategories: 'Product categories', productCategory: 'Category', goalRevenue: 'Revenue per goal',
      ecommerceFilter: 'The ecommerce reports cannot be filtered by exit page or referrer.',
      ordersOnce: 'An order counts once, when it was first recorded, even if it is sent again.',
      views: 'View', overview: 'Overview', funnels: 'Funnels',
    },
  }[lang];

  const DIMENSION_LABELS = {
    'event:page': TEXT.page, 'visit:entry_page': TEXT.entry, 'visit:exit_page': TEXT.exit,
    'visit:channel': TEXT.channel, 'visit:source': TEXT.source, 'visit:referrer': TEXT.referrer,
    'visit:utm_campaign': TEXT.utm_campaign, 'visit:utm_source': TEXT.utm_source,
    'visit:utm_medium': TEXT.utm_medium, 'visit:country': TEXT.country, 'visit:region': TEXT.region,
    'visit:city': TEXT.city, 'visit:device': TEXT.device, 'visit:browser': TEXT.browser,
    'visit:os': TEXT.os, 'event:goal': TEXT.goal, 'event:title': TEXT.pageTitle, 'event:outlink': TEXT.outlink,
    'event:download': TEXT.file, 'event:search_keyword': TEXT.keyword, 'event:search_category': TEXT.searchCategory,
    'event:category': TEXT.eventCategory, 'event:action': TEXT.eventAction, 'event:name': TEXT.eventName,
    'visit:language': TEXT.languageCol, 'event:props': TEXT.dimension,
    'event:product_name': TEXT.product, 'event:product_category': TEXT.productCategory,
  };
  const PROPS = 'event:props:';

  // A custom dimension by number: its declared name, or "Dimension 7".
  function dimensionName(site, number) {
    const declared = site.dimensions.find((d) => String(d.id) === String(number));
    return declared ? declared.name : TEXT.dimensionNumber(number);
  }

  function dimensionLabel(dimension) {
    if (dimension.startsWith(PROPS)) return dimensionName(currentState.site, dimension.slice(PROPS.length));
    return DIMENSION_LABELS[dimension] || dimension;
  }

  const isSupported = (dimension) => supported.has(dimension) || /^event:props:\d{1,3}$/.test(dimension);

  // Breakdown panels: each tab is one dimension of the stats API.
  const PANELS = [
    { id: 'pages', title: TEXT.pages, key: 'tp', metric: 'pageviews', tabs: [
      ['page', TEXT.topPages, 'event:page'],
      ['entry', TEXT.entry, 'visit:entry_page', ['visits', 'bounce_rate', 'visit_duration']],
      ['exit', TEXT.exit, 'visit:exit_page', ['visits', 'visitors']],
      // Per-page times and rates read every hit of the period: a tab of their own, loaded on demand.
      ['time', TEXT.engagement, 'event:page', ['pageviews', 'time_on_page', 'entry_rate', 'exit_rate', 'bounce_rate']],
      ['title', TEXT.titles, 'event:title', ['visitors', 'pageviews']]] },
    { id: 'sources', title: TEXT.sources, key: 'ts', metric: 'visits', tabs: [
      ['channel', TEXT.channel, 'visit:channel'], ['source', TEXT.source, 'visit:source'],
      ['referrer', TEXT.referrer, 'visit:referrer']] },
    { id: 'campaigns', title: TEXT.campaigns, key: 'tu', metric: 'visits', skipEmpty: true, tabs: [
      ['campaign', TEXT.utm_campaign, 'visit:utm_campaign'], ['source', TEXT.utm_source, 'visit:utm_source'],
      ['medium', TEXT.utm_medium, 'visit:utm_medium']] },
    { id: 'locations', title: TEXT.locations, key: 'tl', metric: 'visits', map: true, tabs: [
      ['country', TEXT.country, 'visit:country'], ['region', TEXT.region, 'visit:region'],
      ['city', TEXT.city, 'visit:city']] },
    { id: 'devices', title: TEXT.devices, key: 'td', metric: 'visits', tabs: [
      ['device', TEXT.device, 'visit:device'], ['browser', TEXT.browser, 'visit:browser'],
      ['os', TEXT.os, 'visit:os'], ['language', TEXT.languages, 'visit:language']] },
    { id: 'links', title: TEXT.links, key: 'tk', metric: 'events', tabs: [
      ['outlink', TEXT.outlinks, 'event:outlink'], ['download', TEXT.downloads, 'event:download']] },
    { id: 'search', title: TEXT.search, key: 'tq', metric: 'events', tabs: [
      ['keyword', TEXT.keywords, 'event:search_keyword', ['visitors', 'events', 'searches_without_results']],
      ['category', TEXT.searchCategories, 'event:search_category', ['visitors', 'events', 'searches_without_results']]] },
    // Events drill down: a category's row filters on it and opens its actions, an action's its names.
    { id: 'events', title: TEXT.events, key: 'te', metric: 'events', tabs: [
      ['category', TEXT.eventCategories, 'event:category', null, 'action'],
      ['action', TEXT.eventActions, 'event:action', null, 'name'], ['name', TEXT.eventNames, 'event:name']] },
    // One tab per declared custom dimension; "All" lists every dimension hits carry, and its rows
    // open that dimension's values (an undeclared one gets a tab of its own while it is shown).
    { id: 'props', title: TEXT.customDimensions, key: 'tc', metric: 'events', tabs: (site, wanted) => [
      ['all', TEXT.allDimensions, 'event:props'],
      ...site.dimensions.map((d) => [`d${d.id}`, d.name, `${PROPS}${d.id}`]),
      ...(/^d\d{1,3}$/.test(wanted || '') && !site.dimensions.some((d) => `d${d.id}` === wanted)
        ? [[wanted, TEXT.dimensionNumber(wanted.slice(1)), `${PROPS}${wanted.slice(1)}`]] : [])] },
  ];
  const tabsOf = (panel, site, wanted) => (typeof panel.tabs === 'function' ? panel.tabs(site, wanted) : panel.tabs);
  const ROWS_SHOWN = 10;

  // ---- state <-> URL -------------------------------------------------------------------------

  function readState() {
    const p = new URLSearchParams(location.search);
    const site = config.sites.find((s) => String(s.id) === p.get('site')) || config.sites[0];
    const period = [...config.ranges, 'custom'].includes(p.get('period')) ? p.get('period') : '30d';
    // f=op|dimension|value; the value may itself contain "|".
    const filters = p.getAll('f').map((f) => f.split('|')).filter((f) => f.length >= 3 && isSupported(f[1]))
      .map(([op, dim, ...value]) => [op === 'is_not' ? 'is_not' : 'is', dim, value.join('|')]);
    const tabs = {};
    for (const panel of PANELS) {
      const wanted = p.get(panel.key);
      const choices = tabsOf(panel, site, wanted);
      tabs[panel.key] = choices.some((t) => t[0] === wanted) ? wanted : choices[0][0];
    }
    tabs.tx = ['categories', 'goals'].includes(p.get('tx')) ? p.get('tx') : 'products'; // the ecommerce tab
    const compare = ['previous', 'year'].includes(p.get('compare')) ? p.get('compare') : 'off';
    const iso = /^\d{4}-\d{2}-\d{2}$/;
    const from = iso.test(p.get('from') || '') ? p.get('from') : null;
    const to = iso.test(p.get('to') || '') ? p.get('to') : null;
    // The funnel view (funnel.js): asked for by name, by a saved funnel's id or by a funnel's steps.
    const funnel = window.samtyckeFunnel.read(p);
    const view = p.get('view') === 'funnel' || funnel.saved || funnel.steps ? 'funnel' : 'overview';
    return { site, period: period === 'custom' && !(from && to) ? '30d' : period, from, to, compare, filters, tabs, view, funnel };
  }

  function writeState(state, push) {
    const p = new URLSearchParams();
    p.set('site', String(state.site.id));
    p.set('period', state.period);
    if (state.period === 'custom') { p.set('from', state.from); p.set('to', state.to); }
    if (state.compare !== 'off') p.set('compare', state.compare);
    for (const [op, dim, value] of state.filters) p.append('f', `${op}|${dim}|${value}`);
    for (const panel of PANELS) if (state.tabs[panel.key] !== tabsOf(panel, state.site)[0][0]) p.set(panel.key, state.tabs[panel.key]);
    if (state.tabs.tx !== 'products') p.set('tx', state.tabs.tx);
    if (state.view === 'funnel') { p.set('view', 'funnel'); window.samtyckeFunnel.write(p, state.funnel); }
    if (new URLSearchParams(location.search).get('lang')) p.set('lang', lang);
    const url = `${location.pathname}?${p}`;
    if (push) history.pushState(null, '', url); else history.replaceState(null, '', url);
  }

  // ---- dates (site-local calendar days, computed in UTC to avoid DST shifts) -------------------

  const day = (text) => new Date(`${text}T00:00:00Z`);
  const iso = (date) => date.toISOString().slice(0, 10);
  const addDays = (text, n) => { const d = day(text); d.setUTCDate(d.getUTCDate() + n); return iso(d); };
  const addMonths = (text, n) => { const d = day(text); d.setUTCMonth(d.getUTCMonth() + n); return iso(d); };
  const daysBetween = (a, b) => Math.round((day(b) - day(a)) / 86400000);

  function resolve(state) {
    const today = state.site.today;
    const first = today.slice(0, 8) + '01';
    switch (state.period) {
      case 'day': return [today, today];
      case '7d': return [addDays(today, -6), today];
      case '30d': return [addDays(today, -29), today];
      case 'month': return [first, today];
      case '6mo': return [addMonths(first, -5), today];
      case '12mo': return [addMonths(first, -11), today];
      case 'year': return [today.slice(0, 5) + '01-01', today];
      case 'custom': return state.from <= state.to ? [state.from, state.to] : [state.to, state.from];
      default: return null; // all
    }
  }

  function comparisonOf(range, compare) {
    if (!range || compare === 'off') return null;
    if (compare === 'year') return [addMonths(range[0], -12), addMonths(range[1], -12)];
    const length = daysBetween(range[0], range[1]) + 1;
    return [addDays(range[0], -length), addDays(range[0], -1)];
  }

  function granularity(range) {
    if (!range) return 'time:month';
    const length = daysBetween(range[0], range[1]) + 1;
    return length === 1 ? 'time:hour' : length <= 92 ? 'time:day' : 'time:month';
  }

  function buckets(range, dimension) {
    if (!range) return null;
    const out = [];
    if (dimension === 'time:hour') {
      for (let h = 0; h < 24; h++) out.push(`${range[0]} ${String(h).padStart(2, '0')}:00:00`);
    } else if (dimension === 'time:day') {
      for (let d = range[0]; d <= range[1]; d = addDays(d, 1)) out.push(d);
    } else {
      for (let m = range[0].slice(0, 7); m <= range[1].slice(0, 7); m = addMonths(`${m}-01`, 1).slice(0, 7)) out.push(m);
    }
    return out;
  }

  // ---- API ------------------------------------------------------------------------------------

  async function query(state, body, range) {
    const filters = state.filters.map(([op, dim, value]) => [op, dim, [value]]);
    const response = await fetch(config.root + '/api/v1/stats/query', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ site_id: state.site.id, date_range: range || 'all', ...body,
        filters: [...filters, ...(body.filters || [])] }),
    });
    const data = await response.json();
    if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
    return data.results;
  }

  async function getJSON(url) {
    const response = await fetch(config.root + url, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    const data = await response.json();
    if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
    return data;
  }

  // ---- formatting -----------------------------------------------------------------------------

  const number = new Intl.NumberFormat(locale);
  const decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  const money = new Intl.NumberFormat(locale, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const MONEY = new Set(['revenue', 'average_order_value']);
  let regionNames = null;
  try { regionNames = new Intl.DisplayNames([locale], { type: 'region' }); } catch (e) { regionNames = null; }

  function duration(seconds) {
    const s = Math.round(seconds || 0);
    const m = Math.floor(s / 60);
    return m ? `${m} min ${String(s % 60).padStart(2, '0')} s` : `${s} s`;
  }

  function formatMetric(metric, value) {
    if (value === null || value === undefined) return '–';
    if (['bounce_rate', 'conversion_rate', 'ecommerce_conversion_rate', 'share', 'entry_rate', 'exit_rate'].includes(metric)) return `${decimal.format(value)} %`;
    if (metric === 'visit_duration' || metric === 'time_on_page') return duration(value);
    if (MONEY.has(metric)) return money.format(value);
    if (metric === 'views_per_visit') return decimal.format(value);
    return number.format(value);
  }

  function label(dimension, value) {
    if (value === '' || value === null || value === undefined) return dimension === 'visit:source' ? TEXT.direct : TEXT.none;
    if (dimension === 'visit:country' && regionNames && /^[A-Z]{2}$/.test(value)) {
      try { return `${regionNames.of(value)} (${value})`; } catch (e) { return value; }
    }
    if (dimension === 'event:props') return dimensionName(currentState.site, value);
    if (dimension === 'event:goal') {
      const goal = currentState.site.goals.find((g) => String(g.id) === String(value) || g.name === value);
      return goal ? goal.name : `#${value}`;
    }
    return String(value);
  }

  // ---- DOM helpers ----------------------------------------------------------------------------

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  // Wide tables scroll on their own on a phone; the region is focusable so keyboards can scroll it.
  const scrollBox = (child) => el('div', { class: 'scroll', tabindex: '0', role: 'region',
    'aria-label': child.querySelector('caption') ? child.querySelector('caption').textContent : null }, child);

  const present = (...nodes) => nodes.filter((n) => n !== null && n !== undefined);

  const svgNS = 'http://www.w3.org/2000/svg';
  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(svgNS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
    for (const child of children.flat()) if (child) node.append(child);
    return node;
  }

  function csvText(header, rows) {
    const cell = (v) => {
      const text = String(v === null || v === undefined ? '' : v);
      // A leading =, +, - or @ (or a tab or CR before one) would run as a formula in a
      // spreadsheet: such a cell gets an apostrophe, unless it is a plain number (as samtycke.csvcells).
      const number = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text);
      const safe = /^[=+\-@\t\r]/.test(text) && !number ? `'${text}` : text;
      return /[",\n\r;]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
    };
    return [header, ...rows].map((row) => row.map(cell).join(',')).join('\r\n') + '\r\n';
  }

  function download(name, text) {
    const url = URL.createObjectURL(new Blob([text], { type: 'text/csv;charset=utf-8' }));
    const link = el('a', { href: url, download: name, hidden: true });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }

  function csvButton(name, produce) {
    return el('button', { type: 'button', class: 'csv', 'data-csv': name, onclick: async (event) => {
      const button = event.currentTarget;
      button.disabled = true;
      try { const [header, rows] = await produce(); download(`${name}.csv`, csvText(header, rows)); }
      catch (error) { showError(error); }
      finally { button.disabled = false; }
    } }, TEXT.csv);
  }

  function showError(error) {
    const box = document.getElementById('dash-error');
    box.hidden = false;
    box.textContent = `${TEXT.error}: ${error.message}`;
  }

  // ---- rendering ------------------------------------------------------------------------------

  let currentState = readState();
  let chart = null;
  let generation = 0;

  function setState(change, push = true) {
    currentState = { ...currentState, ...change };
    writeState(currentState, push);
    render();
  }

  function addFilter(dimension, value) {
    if (currentState.filters.some(([, d, v]) => d === dimension && v === value)) return;
    setState({ filters: [...currentState.filters, ['is', dimension, value]] });
  }

  function controls(state) {
    const rangeSelect = el('select', { id: 'dash-period', onchange: (event) => {
      const period = event.target.value;
      if (period === 'custom') { custom.hidden = false; document.getElementById('dash-from').focus(); return; }
      setState({ period });
    } }, [...config.ranges, 'custom'].map((r) => el('option', { value: r, selected: r === state.period }, TEXT[r])));
    const range = resolve(state) || [state.site.today, state.site.today];
    const custom = el('form', { class: 'custom-range', hidden: state.period !== 'custom', onsubmit: (event) => {
      event.preventDefault();
      const from = document.getElementById('dash-from').value;
      const to = document.getElementById('dash-to').value;
      if (from && to) setState({ period: 'custom', from, to });
    } },
    el('label', {}, `${TEXT.from} `, el('input', { type: 'date', id: 'dash-from', value: range[0], max: state.site.today, required: true })),
    el('label', {}, `${TEXT.to} `, el('input', { type: 'date', id: 'dash-to', value: range[1], max: state.site.today, required: true })),
    el('button', { type: 'submit' }, TEXT.apply));
    const compareSelect = el('select', { id: 'dash-compare', onchange: (event) => setState({ compare: event.target.value }) },
      [['off', TEXT.off], ['previous', TEXT.previous], ['year', TEXT.yoy]].map(([v, t]) => el('option', { value: v, selected: v === state.compare }, t)));
    const siteSelect = config.sites.length > 1 ? el('label', {}, `${TEXT.site} `, el('select', { id: 'dash-site', onchange: (event) => {
      setState({ site: config.sites.find((s) => String(s.id) === event.target.value), filters: [], funnel: { steps: null, within: 'visit', saved: null } });
    } }, config.sites.map((s) => el('option', { value: String(s.id), selected: s.id === state.site.id }, s.name)))) : null;
    const otherLang = new URLSearchParams(location.search);
    otherLang.set('lang', lang === 'sv' ? 'en' : 'sv');
    return el('div', { class: 'controls' },
      siteSelect,
      el('label', {}, `${TEXT.range} `, rangeSelect),
      state.view === 'funnel' ? null : el('label', {}, `${TEXT.compare} `, compareSelect),
      custom,
      el('p', { class: 'realtime', id: 'dash-realtime', 'aria-live': 'polite' }),
      el('a', { class: 'lang', href: `?${otherLang}`, lang: lang === 'sv' ? 'en' : 'sv' }, TEXT.language));
  }

  function filterBar(state) {
    if (!state.filters.length) return null;
    const describe = ([op, dim, value]) => `${dimensionLabel(dim)} ${op === 'is_not' ? '≠' : '='} ${label(dim, value)}`;
    return el('div', { class: 'filters', role: 'group', 'aria-label': TEXT.filters },
      el('span', { class: 'filters-title' }, `${TEXT.filters}:`),
      state.filters.map((f, index) => el('button', { type: 'button', class: 'chip', 'aria-label': TEXT.removeFilter(describe(f)),
        onclick: () => setState({ filters: state.filters.filter((_, i) => i !== index) }) }, `${describe(f)} ✕`)),
      el('button', { type: 'button', class: 'link', onclick: () => setState({ filters: [] }) }, TEXT.clear));
  }

  // Overview and funnels: two views of one dashboard, switched in the address.
  function viewSwitch(state) {
    return el('nav', { class: 'tabs views', 'aria-label': TEXT.views }, [['overview', TEXT.overview], ['funnel', TEXT.funnels]].map(([view, text]) =>
      el('button', { type: 'button', 'aria-pressed': String(view === state.view), 'data-view': view,
        onclick: () => setState({ view }) }, text)));
  }

  function renderFunnel(state, mine) {
    const current = () => mine === generation;
    root.append(el('section', { class: 'panel wide', id: 'panel-funnel', 'data-panel': 'funnel', 'aria-labelledby': 'title-funnel' }));
    return window.samtyckeFunnel.mount(document.getElementById('panel-funnel'), {
      el, lang, root: config.root, site: state.site, range: resolve(state), filtered: state.filters.length > 0,
      funnel: state.funnel, current, open: (funnel) => setState({ funnel }), scrollBox, csvButton, sizeBars, number,
      formatPercent: (value) => formatMetric('share', value),
    });
  }

  function render() {
    const state = currentState;
    const mine = ++generation;
    document.title = `${TEXT.title} · ${state.site.name} · samtycke`;
    root.dataset.state = 'loading';
    if (chart) { chart.destroy(); chart = null; }
    if (state.view === 'funnel') {
      root.replaceChildren(...present(el('h1', {}, `${TEXT.title}: ${state.site.name}`), viewSwitch(state), controls(state),
        filterBar(state), el('p', { id: 'dash-error', class: 'error-message', role: 'alert', hidden: true })));
      settle(mine, [renderFunnel(state, mine), refreshRealtime(state)]);
      return;
    }
    root.replaceChildren(...present(
      el('h1', {}, `${TEXT.title}: ${state.site.name}`),
      viewSwitch(state),
      controls(state),
      filterBar(state),
      el('p', { id: 'dash-error', class: 'error-message', role: 'alert', hidden: true }),
      el('section', { class: 'headline', 'aria-label': TEXT.title, id: 'dash-headline' }),
      el('section', { class: 'chart-panel', 'aria-labelledby': 'chart-title' },
        el('h2', { id: 'chart-title' }, TEXT.chart), el('div', { id: 'dash-chart', class: 'chart' }),
        el('details', { id: 'dash-chart-table' }, el('summary', {}, TEXT.chartTable))),
      el('div', { class: 'grid' },
        PANELS.map((panel) => el('section', { class: 'panel', id: `panel-${panel.id}`, 'data-panel': panel.id, 'aria-labelledby': `title-${panel.id}` })),
        el('section', { class: 'panel', id: 'panel-goals', 'data-panel': 'goals', 'aria-labelledby': 'title-goals' })),
      el('section', { class: 'panel wide', id: 'panel-ecommerce', 'data-panel': 'ecommerce', 'aria-labelledby': 'title-ecommerce' }),
      el('section', { class: 'panel wide', id: 'panel-consent', 'data-panel': 'consent', 'aria-labelledby': 'title-consent' })));
    const range = resolve(state);
    const jobs = [
      loadOverview(state, range, () => mine === generation),
      ...PANELS.map((panel) => loadPanel(state, range, panel, () => mine === generation)),
      loadEcommerce(state, range, () => mine === generation),
      loadConsent(state, range, () => mine === generation),
      refreshRealtime(state),
    ];
    settle(mine, jobs);
  }

  function settle(mine, jobs) {
    Promise.allSettled(jobs).then((outcomes) => {
      if (mine !== generation) return;
      const failed = outcomes.find((o) => o.status === 'rejected');
      if (failed) showError(failed.reason);
      root.dataset.state = 'ready';
    });
  }

  // ---- overview: headline metrics and the chart --------------------------------------------------

  const HEADLINE = ['visitors', 'visits', 'pageviews', 'views_per_visit', 'bounce_rate', 'visit_duration'];
  const LOWER_IS_BETTER = new Set(['bounce_rate']);

  function withViewsPerVisit(metrics) {
    const [visitors, visits, pageviews, bounce, durationSeconds] = metrics;
    return { visitors, visits, pageviews, views_per_visit: visits ? pageviews / visits : 0, bounce_rate: bounce, visit_duration: durationSeconds };
  }

  async function loadOverview(state, range, current) {
    const metrics = ['visitors', 'visits', 'pageviews', 'bounce_rate', 'visit_duration'];
    const previous = comparisonOf(range, state.compare);
    const time = granularity(range);
    const [totals, series, prevTotals, prevSeries, goals] = await Promise.all([
      query(state, { metrics }, range),
      query(state, { metrics: ['visitors', 'pageviews'], dimensions: [time], pagination: { limit: 10000 } }, range),
      previous ? query(state, { metrics }, previous) : null,
      previous ? query(state, { metrics: ['visitors', 'pageviews'], dimensions: [time], pagination: { limit: 10000 } }, previous) : null,
      state.site.goals.length ? goalQuery(state, range) : [],
    ]);
    if (!current()) return;
    const now = withViewsPerVisit(totals[0] ? totals[0].metrics : [0, 0, 0, 0, 0]);
    const before = prevTotals ? withViewsPerVisit(prevTotals[0] ? prevTotals[0].metrics : [0, 0, 0, 0, 0]) : null;
    renderHeadline(now, before);
    renderChart(state, range, time, series, prevSeries);
    renderGoals(state, range, goals, now.visitors);
  }

  function renderHeadline(now, before) {
    const box = document.getElementById('dash-headline');
    box.replaceChildren(el('ul', { class: 'metrics' }, HEADLINE.map((metric) => {
      let change = null;
      if (before) {
        const old = before[metric];
        const delta = old ? ((now[metric] - old) / old) * 100 : null;
        if (delta !== null && isFinite(delta)) {
          const good = LOWER_IS_BETTER.has(metric) ? delta <= 0 : delta >= 0;
          change = el('span', { class: `change ${good ? 'up' : 'down'}`, 'data-metric-change': metric },
            `${delta >= 0 ? '↑' : '↓'} ${decimal.format(Math.abs(delta))} %`);
        }
      }
      return el('li', { 'data-metric': metric },
        el('span', { class: 'metric-name' }, TEXT[metric]),
        el('span', { class: 'metric-value' }, formatMetric(metric, now[metric])), change);
    })));
  }

  function renderChart(state, range, time, series, prevSeries) {
    const labels = buckets(range, time) || series.map((r) => r.dimensions[0]);
    const index = (rows) => new Map((rows || []).map((r) => [r.dimensions[0], r.metrics]));
    const nowMap = index(series);
    const prevRows = prevSeries || [];
    const prevLabels = prevSeries ? buckets(comparisonOf(range, state.compare), time) : [];
    const prevMap = index(prevRows);
    const pick = (map, key, i) => (map.get(key) || [0, 0])[i];
    const data = [labels.map((_, i) => i), labels.map((l) => pick(nowMap, l, 0)), labels.map((l) => pick(nowMap, l, 1))];
    const seriesConfig = [{ label: TEXT.time, value: (u, v) => (v === null || labels[v] === undefined ? '–' : labels[v]) }, { label: TEXT.visitors, stroke: '#0b5cad', width: 2, fill: 'rgba(11,92,173,0.08)' },
      { label: TEXT.pageviews, stroke: '#8a4baf', width: 2 }];
    if (prevSeries) {
      data.push(labels.map((_, i) => pick(prevMap, prevLabels[i], 0)));
      data.push(labels.map((_, i) => pick(prevMap, prevLabels[i], 1)));
      seriesConfig.push({ label: `${TEXT.visitors} (${TEXT.comparison})`, stroke: '#0b5cad', width: 1, dash: [5, 5] });
      seriesConfig.push({ label: `${TEXT.pageviews} (${TEXT.comparison})`, stroke: '#8a4baf', width: 1, dash: [5, 5] });
    }
    const short = (l) => (time === 'time:hour' ? l.slice(11, 16) : l.length === 7 ? l : l.slice(5));
    const holder = document.getElementById('dash-chart');
    if (chart) { chart.destroy(); chart = null; }
    holder.replaceChildren();
    holder.setAttribute('aria-hidden', 'true'); // the table below carries the same numbers
    if (window.uPlot) {
      chart = new window.uPlot({
        width: Math.max(280, holder.clientWidth || 600), height: 260, series: seriesConfig,
        scales: { x: { time: false } },
        axes: [{ values: (u, ticks) => ticks.map((t) => (labels[t] !== undefined && Number.isInteger(t) ? short(labels[t]) : '')) }, {}],
        legend: { live: true },
      }, data, holder);
    }
    const table = el('table', { class: 'data' },
      el('caption', {}, `${TEXT.chart} (${TEXT.table})`),
      el('thead', {}, el('tr', {}, el('th', { scope: 'col' }, TEXT.time), seriesConfig.slice(1).map((s) => el('th', { scope: 'col' }, s.label)))),
      el('tbody', {}, labels.map((l, i) => el('tr', {}, el('th', { scope: 'row' }, l), data.slice(1).map((col) => el('td', {}, number.format(col[i])))))));
    const details = document.getElementById('dash-chart-table');
    details.replaceChildren(el('summary', {}, TEXT.chartTable),
      scrollBox(table),
      csvButton('timeseries', async () => [[TEXT.time, ...seriesConfig.slice(1).map((s) => s.label)], labels.map((l, i) => [l, ...data.slice(1).map((c) => c[i])])]));
  }

  window.addEventListener('resize', () => {
    const holder = document.getElementById('dash-chart');
    if (chart && holder) chart.setSize({ width: Math.max(280, holder.clientWidth), height: 260 });
  });

  // ---- breakdown panels ----------------------------------------------------------------------

  function breakdownTable(caption, dimension, headers, metrics, rows, total, pick) {
    return scrollBox(el('table', { class: 'data breakdown' },
      el('caption', { class: 'visually-hidden' }, caption),
      el('thead', {}, el('tr', {}, headers.map((h, i) => el('th', { scope: 'col', class: i ? 'num' : null }, h)))),
      el('tbody', {}, rows.map((row) => {
        const value = row.dimensions[0];
        const share = total ? Math.min(100, (100 * row.metrics[0]) / total) : 0;
        const text = label(dimension, value);
        const first = el('button', { type: 'button', class: 'filter-row', 'data-dimension': dimension,
          'data-value': value, title: dimension === 'event:props' ? TEXT.showDimension(text) : TEXT.filterBy(text),
          onclick: () => (pick ? pick(value) : addFilter(dimension, value)) }, text);
        return el('tr', {},
          el('th', { scope: 'row', class: 'label-cell' }, el('span', { class: 'bar', style: null, 'data-share': share.toFixed(1) }), first),
          row.metrics.map((m, i) => el('td', { class: 'num' }, formatMetric(metrics[i], m))));
      }))));
  }

  // What a row's button does: filter on the row (the default), then open the drill-down's next
  // tab; in "All" custom dimensions, open that dimension's own tab.
  function pickFor(panel, tab) {
    const show = (key) => ({ ...currentState.tabs, [panel.key]: key });
    if (tab[2] === 'event:props') return (value) => setState({ tabs: show(`d${value}`) });
    if (!tab[4]) return null;
    return (value) => {
      const filters = currentState.filters.some(([, d, v]) => d === tab[2] && v === value)
        ? currentState.filters : [...currentState.filters, ['is', tab[2], value]];
      setState({ filters, tabs: show(tab[4]) });
    };
  }

  // Bars are sized after insertion with CSSOM (allowed under the page's CSP; style attributes are not).
  function sizeBars(container) {
    for (const bar of container.querySelectorAll('.bar[data-share]')) bar.style.width = `${bar.dataset.share}%`;
  }

  async function loadPanel(state, range, panel, current) {
    const section = document.getElementById(`panel-${panel.id}`);
    const choices = tabsOf(panel, state.site, state.tabs[panel.key]);
    const active = choices.find((t) => t[0] === state.tabs[panel.key]) || choices[0];
    const dimension = active[2];
    const tabs = el('div', { class: 'tabs', role: 'group', 'aria-label': panel.title }, choices.map(([key, text]) =>
      el('button', { type: 'button', 'aria-pressed': String(key === active[0]),
        onclick: () => setState({ tabs: { ...currentState.tabs, [panel.key]: key } }) }, text)));
    const body = el('div', { class: 'panel-body' }, el('p', { class: 'muted' }, TEXT.loading));
    section.replaceChildren(el('div', { class: 'panel-head' }, el('h2', { id: `title-${panel.id}` }, panel.title), tabs), body);
    if (!isSupported(dimension)) {
      body.replaceChildren(el('p', { class: 'muted' }, TEXT.unavailable));
      return;
    }
    // Each tab's metrics fit the rollup for its dimension, so the overview stays fast.
    const metrics = active[3] || ['visitors', panel.metric];
    const filters = panel.skipEmpty ? [['is_not', dimension, ['']]] : [];
    const [rows, totals] = await Promise.all([
      query(state, { metrics, dimensions: [dimension], filters, pagination: { limit: ROWS_SHOWN } }, range),
      query(state, { metrics: [metrics[0]] }, range),
    ]);
    if (!current()) return;
    const total = totals[0] ? totals[0].metrics[0] : 0;
    const headers = [dimensionLabel(dimension), ...metrics.map((m) => TEXT[m])];
    if (!rows.length) { body.replaceChildren(el('p', { class: 'muted' }, TEXT.noData)); return; }
    const parts = [breakdownTable(`${panel.title}: ${active[1]}`, dimension, headers, metrics, rows, total, pickFor(panel, active))];
    if (panel.map && dimension === 'visit:country') parts.unshift(europeMap(rows, total));
    const name = `${panel.id}-${active[0]}-${(range || ['all']).join('_')}`;
    parts.push(csvButton(name, async () => {
      const all = await query(state, { metrics, dimensions: [dimension], filters, pagination: { limit: 10000 } }, range);
      return [[dimension, ...metrics], all.map((r) => [...r.dimensions, ...r.metrics])];
    }));
    body.replaceChildren(...parts);
    sizeBars(body);
  }

  // A light tile map: one square per European country, shaded by its share of visitors.
  const TILES = {
    IS: [0, 0], NO: [4, 0], SE: [5, 0], FI: [6, 0],
    IE: [1, 1], GB: [2, 1], DK: [4, 1], EE: [6, 1], RU: [7, 1],
    NL: [3, 2], DE: [4, 2], PL: [5, 2], LV: [6, 2],
    BE: [3, 3], CZ: [4, 3], SK: [5, 3], LT: [6, 3], BY: [7, 3],
    FR: [2, 4], LU: [3, 4], AT: [4, 4], HU: [5, 4], UA: [6, 4],
    PT: [0, 5], ES: [1, 5], CH: [3, 5], SI: [4, 5], HR: [5, 5], RO: [6, 5], MD: [7, 5],
    IT: [3, 6], BA: [4, 6], RS: [5, 6], BG: [6, 6],
    MT: [3, 7], ME: [4, 7], MK: [5, 7], GR: [6, 7], TR: [7, 7], AL: [4, 8], CY: [7, 8],
  };

  function europeMap(rows, total) {
    const visitors = new Map(rows.map((r) => [r.dimensions[0], r.metrics[0]]));
    const size = 34;
    const tiles = Object.entries(TILES).map(([code, [x, y]]) => {
      const share = total ? (visitors.get(code) || 0) / total : 0;
      const level = share === 0 ? 0 : share < 0.05 ? 1 : share < 0.2 ? 2 : 3;
      const name = regionNames ? regionNames.of(code) : code;
      return svg('g', { class: `tile level-${level}` },
        svg('title', {}, document.createTextNode(`${name}: ${number.format(visitors.get(code) || 0)} ${TEXT.visitors.toLowerCase()}`)),
        svg('rect', { x: x * (size + 3), y: y * (size + 3), width: size, height: size, rx: 4 }),
        svg('text', { x: x * (size + 3) + size / 2, y: y * (size + 3) + size / 2 + 4, 'text-anchor': 'middle' }, document.createTextNode(code)));
    });
    return svg('svg', { class: 'map', viewBox: `0 0 ${8 * (size + 3)} ${9 * (size + 3)}`, role: 'img', 'aria-label': TEXT.map }, tiles);
  }

  // ---- goals -------------------------------------------------------------------------------------

  // The full stats API names goals and computes conversion rates; the core one knows goal ids.
  const GOALS_BY_NAME = config.metrics.includes('conversion_rate');

  function goalQuery(state, range) {
    return GOALS_BY_NAME
      ? query(state, { metrics: ['visitors', 'events', 'conversion_rate'], dimensions: ['event:goal'] }, range)
      : query(state, { metrics: ['visitors', 'events'], dimensions: ['event:goal'], filters: [['is_not', 'event:goal', ['0']]] }, range);
  }

  function renderGoals(state, range, rows, totalVisitors) {
    const section = document.getElementById('panel-goals');
    const head = el('div', { class: 'panel-head' }, el('h2', { id: 'title-goals' }, TEXT.goals));
    if (!state.site.goals.length) { section.replaceChildren(head, el('p', { class: 'muted' }, TEXT.noGoals)); return; }
    const byKey = new Map(rows.map((r) => [String(r.dimensions[0]), r.metrics]));
    const table = state.site.goals.map((goal) => {
      const key = GOALS_BY_NAME ? goal.name : String(goal.id);
      const [visitors, events, rate] = byKey.get(key) || [0, 0, 0];
      return { goal, key, visitors, events, rate: GOALS_BY_NAME ? rate : totalVisitors ? (100 * visitors) / totalVisitors : 0 };
    });
    const headers = [TEXT.goal, TEXT.visitors, TEXT.conversions, TEXT.conversion_rate];
    section.replaceChildren(head,
      scrollBox(el('table', { class: 'data breakdown' }, el('caption', { class: 'visually-hidden' }, `${TEXT.goals}: ${TEXT.conversion_rate.toLowerCase()}`),
        el('thead', {}, el('tr', {}, headers.map((h, i) => el('th', { scope: 'col', class: i ? 'num' : null }, h)))),
        el('tbody', {}, table.map((r) => el('tr', {},
          el('th', { scope: 'row', class: 'label-cell' }, el('span', { class: 'bar', 'data-share': Math.min(100, r.rate).toFixed(1) }),
            el('button', { type: 'button', class: 'filter-row', 'data-dimension': 'event:goal', 'data-value': r.key,
              onclick: () => addFilter('event:goal', r.key) }, r.goal.name)),
          el('td', { class: 'num' }, number.format(r.visitors)), el('td', { class: 'num' }, number.format(r.events)),
          el('td', { class: 'num' }, formatMetric('conversion_rate', r.rate))))))),
      csvButton(`goals-${(range || ['all']).join('_')}`, async () => [['goal_id', 'goal', 'visitors', 'conversions', 'conversion_rate'],
        table.map((r) => [r.goal.id, r.goal.name, r.visitors, r.events, r.rate.toFixed(2)])]));
    sizeBars(section);
  }

  // ---- ecommerce ---------------------------------------------------------------------------------

  // Orders, products and categories; rows are not filters (a product filter fits only these reports).
  const ORDER_METRICS = ['revenue', 'orders', 'average_order_value', 'ecommerce_conversion_rate'];
  const PRODUCT_METRICS = ['revenue', 'quantity', 'orders', 'product_views', 'cart_adds'];
  const SHOP_TABS = [
    ['products', TEXT.products, 'event:product_name', PRODUCT_METRICS],
    ['categories', TEXT.productCategories, 'event:product_category', PRODUCT_METRICS],
    ['goals', TEXT.goalRevenue, 'event:goal', ['revenue']],
  ];

  async function loadEcommerce(state, range, current) {
    const section = document.getElementById('panel-ecommerce');
    const active = SHOP_TABS.find((t) => t[0] === state.tabs.tx) || SHOP_TABS[0];
    const [, tabText, dimension, metrics] = active;
    const tabs = el('div', { class: 'tabs', role: 'group', 'aria-label': TEXT.ecommerce }, SHOP_TABS.map(([key, text]) =>
      el('button', { type: 'button', 'aria-pressed': String(key === active[0]),
        onclick: () => setState({ tabs: { ...currentState.tabs, tx: key } }) }, text)));
    const head = el('div', { class: 'panel-head' }, el('h2', { id: 'title-ecommerce' }, TEXT.ecommerce), tabs);
    const body = el('div', { class: 'panel-body' }, el('p', { class: 'muted' }, TEXT.loading));
    section.replaceChildren(head, body);
    if (state.filters.some(([, dim]) => dim === 'visit:exit_page' || dim === 'visit:referrer' || dim.startsWith('event:props:'))) {
      body.replaceChildren(el('p', { class: 'muted' }, TEXT.ecommerceFilter));
      return;
    }
    const [totals, rows] = await Promise.all([
      query(state, { metrics: ORDER_METRICS }, range),
      query(state, { metrics, dimensions: [dimension], order_by: [['revenue', 'desc']], pagination: { limit: ROWS_SHOWN } }, range),
    ]);
    if (!current()) return;
    const values = totals[0] ? totals[0].metrics : [0, 0, 0, 0];
    const headline = el('ul', { class: 'metrics' }, ORDER_METRICS.map((metric, i) => el('li', { 'data-metric': metric },
      el('span', { class: 'metric-name' }, TEXT[metric]), el('span', { class: 'metric-value' }, formatMetric(metric, values[i])))));
    const note = el('p', { class: 'muted' }, TEXT.ordersOnce);
    if (!rows.length) { body.replaceChildren(headline, note, el('p', { class: 'muted' }, TEXT.noData)); return; }
    const headers = [DIMENSION_LABELS[dimension], ...metrics.map((m) => TEXT[m])];
    const table = scrollBox(el('table', { class: 'data breakdown' },
      el('caption', { class: 'visually-hidden' }, `${TEXT.ecommerce}: ${tabText}`),
      el('thead', {}, el('tr', {}, headers.map((h, i) => el('th', { scope: 'col', class: i ? 'num' : null }, h)))),
      el('tbody', {}, rows.map((row) => el('tr', {}, el('th', { scope: 'row' }, label(dimension, row.dimensions[0])),
        row.metrics.map((m, i) => el('td', { class: 'num' }, formatMetric(metrics[i], m))))))));
    const name = `ecommerce-${active[0]}-${(range || ['all']).join('_')}`;
    body.replaceChildren(headline, note, table, csvButton(name, async () => {
      const all = await query(state, { metrics, dimensions: [dimension], pagination: { limit: 10000 } }, range);
      return [[dimension, ...metrics], all.map((r) => [...r.dimensions, ...r.metrics])];
    }));
  }

  // ---- consent -----------------------------------------------------------------------------------

  const METHOD_TEXT = { accept_all: TEXT.accept_all, reject_all: TEXT.reject_all, custom: TEXT.customChoice, gpc: TEXT.gpc, withdraw: TEXT.withdraw, handoff: TEXT.handoff };

  function simpleTable(caption, headers, rows) {
    return scrollBox(el('table', { class: 'data' }, el('caption', {}, caption),
      el('thead', {}, el('tr', {}, headers.map((h, i) => el('th', { scope: 'col', class: i ? 'num' : null }, h)))),
      el('tbody', {}, rows.map((row) => el('tr', {}, el('th', { scope: 'row' }, row[0]), row.slice(1).map((c) => el('td', { class: 'num' }, c)))))));
  }

  async function loadConsent(state, range, current) {
    const section = document.getElementById('panel-consent');
    const dateRange = range ? `${range[0]},${range[1]}` : 'all';
    const data = await getJSON(`/api/v1/stats/consent?site_id=${state.site.id}&date_range=${encodeURIComponent(dateRange)}`);
    if (!current()) return;
    const head = el('div', { class: 'panel-head' }, el('h2', { id: 'title-consent' }, TEXT.consent));
    if (!data.total) { section.replaceChildren(head, el('p', { class: 'muted' }, TEXT.noData)); return; }
    const methods = Object.keys(METHOD_TEXT);
    const pct = (v) => formatMetric('share', v);
    const categories = data.categories.map((c) => [TEXT[c.category] || c.category, pct(c.opt_in_rate), number.format(c.choices)]);
    const answers = data.methods.map((m) => [METHOD_TEXT[m.method], pct(m.share), number.format(m.choices)]);
    const versions = data.by_notice_version.map((v) => [v.version, number.format(v.choices), ...methods.map((m) => pct(v.shares[m]))]);
    const days = data.by_day.map((d) => [d.day, number.format(d.choices), ...methods.map((m) => pct(d.shares[m]))]);
    const shareHeaders = methods.map((m) => METHOD_TEXT[m]);
    const stem = `consent-${dateRange.replace(',', '_')}`;
    section.replaceChildren(head, el('div', { class: 'consent-grid' },
      el('div', {}, simpleTable(TEXT.optIn, [TEXT.category, TEXT.optInRate, TEXT.choices], categories),
        csvButton(`${stem}-categories`, async () => [['category', 'opt_in_rate', 'granted', 'choices'], data.categories.map((c) => [c.category, c.opt_in_rate, c.granted, c.choices])])),
      el('div', {}, simpleTable(TEXT.methods, [TEXT.method, TEXT.share, TEXT.choices], answers),
        csvButton(`${stem}-methods`, async () => [['method', 'share', 'choices'], data.methods.map((m) => [m.method, m.share, m.choices])])),
      el('div', { class: 'wide' }, simpleTable(TEXT.byVersion, [TEXT.version, TEXT.choices, ...shareHeaders], versions),
        csvButton(`${stem}-versions`, async () => [['version', 'choices', ...methods], data.by_notice_version.map((v) => [v.version, v.choices, ...methods.map((m) => v.shares[m])])])),
      el('div', { class: 'wide' }, simpleTable(TEXT.byDay, [TEXT.dayCol, TEXT.choices, ...shareHeaders], days),
        csvButton(`${stem}-days`, async () => [['day', 'choices', ...methods], data.by_day.map((d) => [d.day, d.choices, ...methods.map((m) => d.shares[m])])]))));
  }

  // ---- realtime ----------------------------------------------------------------------------------

  async function refreshRealtime(state) {
    const data = await getJSON(`/api/v1/stats/realtime?site_id=${state.site.id}`);
    const box = document.getElementById('dash-realtime');
    if (box && state.site.id === currentState.site.id) {
      box.replaceChildren(el('span', { class: 'pulse', 'aria-hidden': 'true' }), el('span', { 'data-realtime': String(data.visitors) }, TEXT.realtime(data.visitors)));
    }
  }

  setInterval(() => { if (document.visibilityState === 'visible') refreshRealtime(currentState).catch(showError); }, 30000);
  window.addEventListener('popstate', () => { currentState = readState(); render(); });
  writeState(currentState, false);
  render();
}());
