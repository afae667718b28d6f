// samtycke goals and funnels: lists a site's goals and saved funnels through
// /api/v1/sites/{id}/goals and /funnels, and lets marketers and admins change them.
// Auditors get the same lists without forms. DOM built with textContent only.
(function () {
  'use strict';

  const root = document.getElementById('goals');
  const config = JSON.parse(document.getElementById('goals-config').textContent);
  const lang = config.lang === 'sv' ? 'sv' : 'en';
  const T = {
    sv: {
      site: 'Webbplats', backfill: 'Så räknas nya mål', goals: 'Mål', funnels: 'Sparade trattar',
      name: 'Namn', id: 'Mål-id', condition: 'Villkor', revenue: 'Intäkt per konvertering', source: 'Källa',
      changed: 'Senast ändrad', actions: 'Åtgärder', conversions: 'Konverterade besökare (30 dagar)',
      config: 'Konfigurationsfilen (skrivskyddat)', stored: 'Sparat i samtycke',
      page: 'Sidmönster (* som jokertecken)', category: 'Händelsekategori', action: 'Händelseåtgärd',
      eventName: 'Händelsenamn', newGoal: 'Nytt mål', editGoal: (n) => `Ändra målet ${n}`,
      create: 'Skapa', save: 'Spara', cancel: 'Avbryt', edit: 'Ändra', remove: 'Ta bort',
      editNamed: (n) => `Ändra ${n}`, removeNamed: (n) => `Ta bort ${n}`,
      confirmRemove: (n) => `Ta bort ${n}?`, none: 'Inga ännu.', steps: 'Steg', within: 'Inom',
      visit: 'ett besök', window: 'ett tidsfönster', windowLength: 'Fönstrets längd', unit: 'Enhet',
      m: 'minuter', h: 'timmar', d: 'dagar', newFunnel: 'Ny tratt', editFunnel: (n) => `Ändra tratten ${n}`,
      step: (i) => `Steg ${i}`, kind: 'Typ', kindPage: 'Sida', kindEvent: 'Händelse', kindGoal: 'Mål',
      addStep: 'Lägg till steg', removeStep: (i) => `Ta bort steg ${i}`, open: 'Öppna i statistiken',
      openNamed: (n) => `Öppna i statistiken: ${n}`, saved: 'Sparat.', removed: 'Borttaget.',
      readOnly: 'Du kan läsa men inte ändra mål och trattar.', error: 'Det gick inte', loading: 'Hämtar…',
      language: 'In English',
    },
    en: {
      site: 'Site', backfill: 'How new goals are counted', goals: 'Goals', funnels: 'Saved funnels',
      name: 'Name', id: 'Goal id', condition: 'Condition', revenue: 'Revenue per conversion', source: 'Source',
      changed: 'Last changed', actions: 'Actions', conversions: 'Converted visitors (30 days)',
      config: 'Configuration file (read-only)', stored: 'Stored in samtycke',
      page: 'Page pattern (* as wildcard)', category: 'Event category', action: 'Event action',
      eventName: 'Event name', newGoal: 'New goal', editGoal: (n) => `Edit the goal ${n}`,
      create: 'Create', save: 'Save', cancel: 'Cancel', edit: 'Edit', remove: 'Delete',
      editNamed: (n) => `Edit ${n}`, removeNamed: (n) => `Delete ${n}`,
      confirmRemove: (n) => `Delete ${n}?`, none: 'None yet.', steps: 'Steps', within: 'Within',
      visit: 'one visit', window: 'a time window', windowLength: 'Window length', unit: 'Unit',
      m: 'minutes', h: 'hours', d: 'days', newFunnel: 'New funnel', editFunnel: (n) => `Edit the funnel ${n}`,
      step: (i) => `Step ${i}`, kind: 'Kind', kindPage: 'Page', kindEvent: 'Event', kindGoal: 'Goal',
      addStep: 'Add a step', removeStep: (i) => `Remove step ${i}`, open: 'Open in statistics',
      openNamed: (n) => `Open in statistics: ${n}`, saved: 'Saved.', removed: 'Deleted.',
      readOnly: 'You can read but not change goals and funnels.', error: 'That did not work', loading: 'Loading…',
      language: 'På svenska',
    },
  }[lang];

  const params = new URLSearchParams(location.search);
  const site = config.sites.find((s) => String(s.id) === params.get('site')) || config.sites[0];
  let goals = [];
  let funnels = [];

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (value !== false && value !== null && value !== undefined) node.setAttribute(key, value === true ? '' : value);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  async function call(method, path, body) {
    const response = await fetch(`${config.root}/api/v1/sites/${site.id}${path}`, {
      method,
      credentials: 'same-origin',
      headers: { Accept: 'application/json', ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const data = await response.json();
    if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
    return data;
  }

  async function conversions() {
    if (!config.editable || !goals.length) return {};
    const response = await fetch(`${config.root}/api/v1/stats/query`, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify({ site_id: site.id, metrics: ['visitors'], dimensions: ['event:goal'], date_range: '30d' }),
    });
    if (!response.ok) return {};
    const data = await response.json();
    return Object.fromEntries(data.results.map((row) => [row.dimensions[0], row.metrics[0]]));
  }

  const status = el('p', { class: 'status', role: 'status', 'aria-live': 'polite' });
  function say(text) { status.textContent = text; }

  function describeGoal(goal) {
    const parts = [];
    if (goal.page) parts.push(`${T.kindPage}: ${goal.page}`);
    if (goal.event_category) {
      parts.push(`${T.kindEvent}: ${[goal.event_category, goal.event_action, goal.event_name].filter(Boolean).join(' / ')}`);
    }
    parts.push(`idgoal=${goal.id}`);
    return parts.join('; ');
  }

  function describeStep(step) {
    if ('page' in step) return `${T.kindPage}: ${step.page}`;
    if ('goal' in step) return `${T.kindGoal}: ${step.goal}`;
    return `${T.kindEvent}: ${[step.event.category, step.event.action, step.event.name].filter(Boolean).join(' / ')}`;
  }

  function when(item) {
    return item.updated_at ? `${new Date(item.updated_at).toLocaleString(lang === 'sv' ? 'sv-SE' : 'en-GB')} (${item.updated_by})` : '';
  }

  // ---- goals -----------------------------------------------------------------------------------

  function goalTable(counts) {
    if (!goals.length) return el('p', { text: T.none });
    const head = [T.name, T.condition, T.revenue, ...(config.editable ? [T.conversions] : []), T.source, T.changed,
      ...(config.editable ? [T.actions] : [])];
    const rows = goals.map((goal) => el('tr', { 'data-goal': goal.name },
      el('th', { scope: 'row', text: goal.name }),
      el('td', { text: describeGoal(goal) }),
      el('td', { text: String(goal.revenue) }),
      config.editable ? el('td', { class: 'conversions', text: String(counts[goal.name] || 0) }) : null,
      el('td', {}, el('span', { class: 'tag', text: goal.source === 'config' ? T.config : T.stored })),
      el('td', { text: when(goal) }),
      config.editable ? el('td', {}, goal.source === 'config' ? '' : el('span', { class: 'actions' },
        el('button', { type: 'button', text: T.edit, 'aria-label': T.editNamed(goal.name), onclick: () => goalForm(goal) }),
        el('button', { type: 'button', text: T.remove, 'aria-label': T.removeNamed(goal.name), onclick: () => removeItem('goals', goal) }))) : null));
    return el('table', {}, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col', text: h })))), el('tbody', {}, ...rows));
  }

  function field(label, name, value, attrs) {
    return el('label', {}, label, el('input', { name, value: value === undefined || value === null ? '' : String(value), ...(attrs || {}) }));
  }

  function goalForm(goal) {
    const holder = document.getElementById('goal-form');
    holder.replaceChildren();
    const form = el('form', { 'aria-label': goal ? T.editGoal(goal.name) : T.newGoal },
      el('h3', { text: goal ? T.editGoal(goal.name) : T.newGoal }),
      field(T.name, 'name', goal && goal.name, { required: true, maxlength: '100' }),
      field(T.page, 'page', goal && goal.page, { maxlength: '500', placeholder: '/tack*' }),
      el('div', { class: 'row' },
        field(T.category, 'event_category', goal && goal.event_category, { maxlength: '500' }),
        field(T.action, 'event_action', goal && goal.event_action, { maxlength: '500' }),
        field(T.eventName, 'event_name', goal && goal.event_name, { maxlength: '500' })),
      field(T.revenue, 'revenue', goal ? goal.revenue : 0, { type: 'number', min: '0', step: 'any' }),
      el('div', { class: 'actions' },
        el('button', { type: 'submit', text: goal ? T.save : T.create }),
        goal ? el('button', { type: 'button', text: T.cancel, onclick: () => goalForm(null) }) : null));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const data = new FormData(form);
      const body = Object.fromEntries(['name', 'page', 'event_category', 'event_action', 'event_name'].map((k) => [k, data.get(k)]));
      body.revenue = Number(data.get('revenue') || 0);
      try {
        await call(goal ? 'PUT' : 'POST', goal ? `/goals/${goal.id}` : '/goals', body);
        say(T.saved);
        await load();
      } catch (error) { say(`${T.error}: ${error.message}`); }
    });
    holder.append(form);
  }

  // ---- funnels ---------------------------------------------------------------------------------

  function funnelTable() {
    if (!funnels.length) return el('p', { text: T.none });
    const head = [T.name, T.steps, T.within, T.changed, T.actions];
    const rows = funnels.map((funnel) => {
      const link = `${config.root}/dashboard?site=${site.id}&funnel=${funnel.id}`;
      return el('tr', { 'data-funnel': funnel.name },
        el('th', { scope: 'row', text: funnel.name }),
        el('td', {}, el('ol', {}, ...funnel.steps.map((s) => el('li', { text: describeStep(s) })))),
        el('td', { text: funnel.within === 'visit' ? T.visit : funnel.within }),
        el('td', { text: when(funnel) }),
        el('td', {}, el('span', { class: 'actions' },
          el('a', { href: link, text: T.open, 'aria-label': T.openNamed(funnel.name) }),
          config.editable ? el('button', { type: 'button', text: T.edit, 'aria-label': T.editNamed(funnel.name), onclick: () => funnelForm(funnel) }) : null,
          config.editable ? el('button', { type: 'button', text: T.remove, 'aria-label': T.removeNamed(funnel.name), onclick: () => removeItem('funnels', funnel) }) : null)));
    });
    return el('table', {}, el('thead', {}, el('tr', {}, ...head.map((h) => el('th', { scope: 'col', text: h })))), el('tbody', {}, ...rows));
  }

  function stepEditor(step, index, count, onRemove) {
    const kind = step ? ('page' in step ? 'page' : 'goal' in step ? 'goal' : 'event') : 'page';
    const event = (step && step.event) || {};
    const n = index + 1;
    const select = el('select', { name: 'kind' },
      ...[['page', T.kindPage], ['event', T.kindEvent], ['goal', T.kindGoal]].map(([v, t]) => el('option', { value: v, text: t, selected: v === kind })));
    const goalSelect = el('select', { name: 'goal' },
      ...goals.map((g) => el('option', { value: g.name, text: g.name, selected: step && step.goal === g.name })));
    const parts = {
      page: el('div', { class: 'row' }, field(T.page, 'page', step && step.page, { maxlength: '500' })),
      event: el('div', { class: 'row' },
        field(T.category, 'category', event.category, { maxlength: '500' }),
        field(T.action, 'action', event.action, { maxlength: '500' }),
        field(T.eventName, 'name', event.name, { maxlength: '500' })),
      goal: el('div', { class: 'row' }, el('label', {}, T.kindGoal, goalSelect)),
    };
    const box = el('fieldset', { class: 'step' }, el('legend', { text: T.step(n) }),
      el('label', {}, T.kind, select), parts.page, parts.event, parts.goal,
      count > 2 ? el('button', { type: 'button', text: T.removeStep(n), onclick: onRemove }) : null);
    function show() { for (const [k, part] of Object.entries(parts)) part.hidden = k !== select.value; }
    select.addEventListener('change', show);
    show();
    box.read = () => {
      const get = (name) => box.querySelector(`[name="${name}"]`).value.trim();
      if (select.value === 'page') return { page: get('page') };
      if (select.value === 'goal') return { goal: goalSelect.value };
      const e = {};
      for (const k of ['category', 'action', 'name']) if (get(k)) e[k] = get(k);
      return { event: e };
    };
    return box;
  }

  function funnelForm(funnel) {
    const holder = document.getElementById('funnel-form');
    holder.replaceChildren();
    let steps = funnel ? funnel.steps.map((s) => ({ ...s })) : [{ page: '/' }, { page: '' }];
    const windowed = funnel && funnel.within !== 'visit';
    const match = windowed ? /^(\d+)([mhd])$/.exec(funnel.within) : null;
    const stepsBox = el('div', { class: 'steps' });
    const within = el('select', { name: 'within' },
      el('option', { value: 'visit', text: T.visit, selected: !windowed }),
      el('option', { value: 'window', text: T.window, selected: windowed }));
    const windowBox = el('div', { class: 'row' },
      field(T.windowLength, 'amount', match ? match[1] : '7', { type: 'number', min: '1', max: '999999' }),
      el('label', {}, T.unit, el('select', { name: 'unit' },
        ...['m', 'h', 'd'].map((u) => el('option', { value: u, text: T[u], selected: (match ? match[2] : 'd') === u })))));
    within.addEventListener('change', () => { windowBox.hidden = within.value !== 'window'; });
    windowBox.hidden = !windowed;
    const addButton = el('button', { type: 'button', text: T.addStep });
    function collect() { steps = [...stepsBox.children].map((box) => box.read()); }
    function drawSteps() {
      stepsBox.replaceChildren(...steps.map((s, i) => stepEditor(s, i, steps.length, () => { collect(); steps.splice(i, 1); drawSteps(); })));
      addButton.hidden = steps.length >= 8;
    }
    addButton.addEventListener('click', () => { collect(); steps.push({ page: '' }); drawSteps(); });
    drawSteps();
    const form = el('form', { 'aria-label': funnel ? T.editFunnel(funnel.name) : T.newFunnel },
      el('h3', { text: funnel ? T.editFunnel(funnel.name) : T.newFunnel }),
      field(T.name, 'name', funnel && funnel.name, { required: true, maxlength: '100' }),
      stepsBox, addButton,
      el('label', {}, T.within, within), windowBox,
      el('div', { class: 'actions' },
        el('button', { type: 'submit', text: funnel ? T.save : T.create }),
        funnel ? el('button', { type: 'button', text: T.cancel, onclick: () => funnelForm(null) }) : null));
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      collect();
      const data = new FormData(form);
      const body = {
        name: data.get('name'),
        steps,
        within: within.value === 'visit' ? 'visit' : `${data.get('amount')}${data.get('unit')}`,
      };
      try {
        await call(funnel ? 'PUT' : 'POST', funnel ? `/funnels/${funnel.id}` : '/funnels', body);
        say(T.saved);
        await load();
      } catch (error) { say(`${T.error}: ${error.message}`); }
    });
    holder.append(form);
  }

  async function removeItem(kind, item) {
    if (!window.confirm(T.confirmRemove(item.name))) return;
    try {
      await call('DELETE', `/${kind}/${item.id}`);
      say(T.removed);
      await load();
    } catch (error) { say(`${T.error}: ${error.message}`); }
  }

  // ---- page ------------------------------------------------------------------------------------

  async function load() {
    const [g, f] = await Promise.all([call('GET', '/goals'), call('GET', '/funnels')]);
    goals = g.goals;
    funnels = f.funnels;
    const counts = await conversions();
    document.getElementById('goal-list').replaceChildren(goalTable(counts));
    document.getElementById('funnel-list').replaceChildren(funnelTable());
    if (config.editable) { goalForm(null); funnelForm(null); }
    root.dataset.state = 'ready';
  }

  function draw() {
    const picker = el('select', { id: 'site-picker', onchange: (e) => { params.set('site', e.target.value); location.search = params; } },
      ...config.sites.map((s) => el('option', { value: String(s.id), text: s.name, selected: s.id === site.id })));
    const other = new URLSearchParams(location.search);
    other.set('lang', lang === 'sv' ? 'en' : 'sv');
    root.append(...[
      el('div', { class: 'controls' },
        el('label', { for: 'site-picker', text: T.site }), picker,
        el('a', { class: 'lang', href: `?${other}`, lang: lang === 'sv' ? 'en' : 'sv', text: T.language })),
      status,
      el('section', { class: 'note', 'aria-labelledby': 'backfill-title' },
        el('h2', { id: 'backfill-title', text: T.backfill }),
        el('p', { id: 'backfill', text: site.backfill })),
      config.editable ? null : el('p', { text: T.readOnly }),
      el('section', { class: 'panel', 'aria-labelledby': 'goals-title' },
        el('h2', { id: 'goals-title', text: T.goals }), el('div', { id: 'goal-list' }), el('div', { id: 'goal-form' })),
      el('section', { class: 'panel', 'aria-labelledby': 'funnels-title' },
        el('h2', { id: 'funnels-title', text: T.funnels }), el('div', { id: 'funnel-list' }), el('div', { id: 'funnel-form' })),
    ].filter(Boolean));
    say(T.loading);
    load().then(() => say('')).catch((error) => { say(`${T.error}: ${error.message}`); root.dataset.state = 'error'; });
  }

  draw();
})();
