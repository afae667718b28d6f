// samtycke dashboard: the funnel view. A step editor, the drawing of POST /api/v1/stats/funnel
// as a table with bars, and the saved funnels of GET /api/v1/sites/{id}/funnels when that route
// exists. The funnel lives in the address (fs: its steps as the API takes them, fw: within; or
// funnel: a saved funnel's id), so a view can be shared and reloaded. dashboard.js mounts it.
(function () {
  'use strict';

  const MIN_STEPS = 2;
  const MAX_STEPS = 8;
  const MAX_TEXT = 500; // the API's limit for every text of a step
  const MAX_WINDOW_MINUTES = 90 * 24 * 60;
  const UNIT_MINUTES = { m: 1, h: 60, d: 24 * 60 };
  const EVENT_PARTS = ['category', 'action', 'name'];

  const TEXTS = {
    sv: {
      funnels: 'Trattar', saved: 'Sparade trattar', choose: '– välj en sparad tratt –',
      savedMissing: (id) => `Det finns ingen sparad tratt med id ${id}.`,
      steps: 'Steg', step: (n) => `Steg ${n}`, kind: 'Typ', page: 'Sida', event: 'Händelse', goal: 'Mål',
      pattern: 'Sidmönster (* matchar vad som helst)', category: 'Kategori', action: 'Åtgärd', name: 'Namn',
      chooseGoal: '– välj ett mål –', unknownGoal: (g) => `${g} (finns inte)`,
      add: 'Lägg till ett steg', remove: (n) => `Ta bort steg ${n}`, up: (n) => `Flytta steg ${n} uppåt`,
      down: (n) => `Flytta steg ${n} nedåt`,
      within: 'Stegen ska ske', visit: 'inom ett besök', window: 'inom ett tidsfönster', length: 'Tidsfönstrets längd',
      unit: 'Enhet', m: 'minuter', h: 'timmar', d: 'dagar', show: 'Visa tratten',
      empty: 'Bygg en tratt med 2–8 steg och välj ”Visa tratten”.', loading: 'Hämtar…',
      caption: 'Tratten: besökare per steg', visitors: 'Besökare', fromFirst: 'Konvertering från första steget',
      fromPrevious: 'Från föregående steg', dropoff: 'Tappade sedan föregående', recognised: 'Igenkända', cookieless: 'Utan kakor',
      counting: 'Så räknas besökarna', filters: 'Filtren ovan gäller inte trattar.',
      refused: 'Tratten kunde inte visas', failed: 'Kunde inte hämta tratten',
      fewSteps: `En tratt har ${MIN_STEPS}–${MAX_STEPS} steg.`,
      needPage: (n) => `Steg ${n}: skriv ett sidmönster.`, needEvent: (n) => `Steg ${n}: fyll i kategori, åtgärd eller namn.`,
      needGoal: (n) => `Steg ${n}: välj ett mål.`, tooLong: (n) => `Steg ${n}: högst ${MAX_TEXT} tecken per fält.`,
      badWindow: 'Tidsfönstret är ett heltal större än noll, högst 90 dagar.',
    },
    en: {
      funnels: 'Funnels', saved: 'Saved funnels', choose: '– choose a saved funnel –',
      savedMissing: (id) => `There is no saved funnel with id ${id}.`,
      steps: 'Steps', step: (n) => `Step ${n}`, kind: 'Kind', page: 'Page', event: 'Event', goal: 'Goal',
      pattern: 'Page pattern (* matches anything)', category: 'Category', action: 'Action', name: 'Name',
      chooseGoal: '– choose a goal –', unknownGoal: (g) => `${g} (not found)`,
      add: 'Add a step', remove: (n) => `Remove step ${n}`, up: (n) => `Move step ${n} up`,
      down: (n) => `Move step ${n} down`,
      within: 'Steps must happen', visit: 'within one visit', window: 'within a time window', length: 'Window length',
      unit: 'Unit', m: 'minutes', h: 'hours', d: 'days', show: 'Show the funnel',
      empty: 'Build a funnel of 2–8 steps and choose “Show the funnel”.', loading: 'Loading…',
      caption: 'The funnel: visitors per step', visitors: 'Visitors', fromFirst: 'Conversion from the first step',
      fromPrevious: 'From the previous step', dropoff: 'Dropped since the previous', recognised: 'Recognised', cookieless: 'Cookieless',
      counting: 'How visitors are counted', filters: 'The filters above do not apply to funnels.',
      refused: 'The funnel could not be shown', failed: 'Could not load the funnel',
      fewSteps: `A funnel has ${MIN_STEPS}–${MAX_STEPS} steps.`,
      needPage: (n) => `Step ${n}: enter a page pattern.`, needEvent: (n) => `Step ${n}: fill in a category, action or name.`,
      needGoal: (n) => `Step ${n}: choose a goal.`, tooLong: (n) => `Step ${n}: at most ${MAX_TEXT} characters a field.`,
      badWindow: 'The window is a whole number above zero, at most 90 days.',
    },
  };

  // ---- the address ---------------------------------------------------------------------------

  // A step as the API takes it, or null when the address holds something else.
  function cleanStep(step) {
    if (!step || typeof step !== 'object' || Array.isArray(step)) return null;
    const text = (v) => (typeof v === 'string' ? v.slice(0, MAX_TEXT) : '');
    const label = text(step.label) ? { label: text(step.label) } : {};
    if (typeof step.page === 'string') return { page: text(step.page), ...label };
    if (typeof step.goal === 'string') return { goal: text(step.goal), ...label };
    if (step.event && typeof step.event === 'object') {
      const event = {};
      for (const part of EVENT_PARTS) if (text(step.event[part])) event[part] = text(step.event[part]);
      return { event, ...label };
    }
    return null;
  }

  function read(params) {
    let steps = null;
    try {
      const parsed = JSON.parse(params.get('fs') || 'null');
      if (Array.isArray(parsed)) steps = parsed.slice(0, MAX_STEPS).map(cleanStep).filter(Boolean);
    } catch (e) { steps = null; }
    const within = /^(visit|[1-9]\d{0,5}[mhd])$/.test(params.get('fw') || '') ? params.get('fw') : 'visit';
    const saved = /^[\w-]{1,64}$/.test(params.get('funnel') || '') ? params.get('funnel') : null;
    return { steps: steps && steps.length ? steps : null, within, saved };
  }

  // A saved funnel is named by its id alone; an edited or new one by its steps.
  function write(params, funnel) {
    if (funnel.saved) { params.set('funnel', funnel.saved); return; }
    if (!funnel.steps) return;
    params.set('fs', JSON.stringify(funnel.steps));
    if (funnel.within !== 'visit') params.set('fw', funnel.within);
  }

  // ---- the editor ----------------------------------------------------------------------------

  const kindOf = (step) => (step.page !== undefined ? 'page' : step.goal !== undefined ? 'goal' : 'event');
  const blank = (kind) => (kind === 'page' ? { page: '' } : kind === 'goal' ? { goal: '' } : { event: {} });

  // The first problem of the draft, as [message, the id of the field to fix], or null.
  function problem(T, steps, within) {
    if (steps.length < MIN_STEPS || steps.length > MAX_STEPS) return [T.fewSteps, 'funnel-add'];
    for (const [index, step] of steps.entries()) {
      const n = index + 1;
      const kind = kindOf(step);
      const values = kind === 'event' ? EVENT_PARTS.map((p) => step.event[p] || '') : [step[kind]];
      if (values.some((v) => v.length > MAX_TEXT)) return [T.tooLong(n), `funnel-${index}-${kind === 'event' ? 'category' : kind}`];
      if (kind === 'page' && !step.page.trim()) return [T.needPage(n), `funnel-${index}-page`];
      if (kind === 'event' && !values.some((v) => v.trim())) return [T.needEvent(n), `funnel-${index}-category`];
      if (kind === 'goal' && !step.goal) return [T.needGoal(n), `funnel-${index}-goal`];
    }
    if (within !== 'visit') {
      const match = /^([1-9]\d{0,5})([mhd])$/.exec(within);
      if (!match || Number(match[1]) * UNIT_MINUTES[match[2]] > MAX_WINDOW_MINUTES) return [T.badWindow, 'funnel-length'];
    }
    return null;
  }

  function editor(ctx, T, start, onSubmit) {
    const { el } = ctx;
    const steps = (start.steps || [{ page: '' }, { page: '' }]).map((s) => JSON.parse(JSON.stringify(s)));
    let within = start.within;
    const list = el('ol', { class: 'funnel-steps' });
    const message = el('p', { id: 'funnel-problem', class: 'error-message', role: 'alert', hidden: true });
    const windowed = /^(\d+)([mhd])$/.exec(within) || [null, '24', 'h'];
    const length = el('input', { id: 'funnel-length', type: 'number', min: '1', max: '999999', step: '1', inputmode: 'numeric',
      value: windowed[1], disabled: within === 'visit' });
    const unit = el('select', { id: 'funnel-unit', disabled: within === 'visit' },
      ['m', 'h', 'd'].map((u) => el('option', { value: u, selected: u === windowed[2] }, T[u])));
    const mode = el('select', { id: 'funnel-within', onchange: () => { length.disabled = unit.disabled = mode.value === 'visit'; } },
      el('option', { value: 'visit', selected: within === 'visit' }, T.visit),
      el('option', { value: 'window', selected: within !== 'visit' }, T.window));
    const addButton = el('button', { type: 'button', id: 'funnel-add', class: 'secondary', onclick: () => {
      steps.push({ page: '' }); draw(); document.getElementById(`funnel-${steps.length - 1}-page`).focus();
    } }, T.add);

    function stepFields(step, index) {
      const kind = kindOf(step);
      const changed = () => { delete step.label; };
      const field = (id, text, input) => el('label', { class: 'field', for: id }, el('span', {}, text), input);
      if (kind === 'page') {
        return [field(`funnel-${index}-page`, T.pattern, el('input', { id: `funnel-${index}-page`, type: 'text', value: step.page,
          maxlength: String(MAX_TEXT), placeholder: '/elavtal*', oninput: (e) => { step.page = e.target.value; changed(); } }))];
      }
      if (kind === 'event') {
        return EVENT_PARTS.map((part) => field(`funnel-${index}-${part}`, T[part], el('input', { id: `funnel-${index}-${part}`,
          type: 'text', value: step.event[part] || '', maxlength: String(MAX_TEXT),
          oninput: (e) => { if (e.target.value) step.event[part] = e.target.value; else delete step.event[part]; changed(); } })));
      }
      const names = ctx.site.goals.map((g) => g.name);
      const unknown = step.goal && !names.includes(step.goal) ? [step.goal] : []; // from a shared address
      return [field(`funnel-${index}-goal`, T.goal, el('select', { id: `funnel-${index}-goal`,
        onchange: (e) => { step.goal = e.target.value; changed(); } },
      el('option', { value: '', selected: !step.goal }, T.chooseGoal),
      names.map((name) => el('option', { value: name, selected: name === step.goal }, name)),
      unknown.map((name) => el('option', { value: name, selected: true }, T.unknownGoal(name)))))];
    }

    function draw() {
      list.replaceChildren(...steps.map((step, index) => {
        const n = index + 1;
        // The moved step keeps the keyboard's focus on the same button, at its new place.
        const move = (to, which) => {
          steps.splice(to, 0, steps.splice(index, 1)[0]);
          draw();
          const row = list.querySelector(`[data-step="${to + 1}"]`);
          const button = [`.${which}`, which === 'up' ? '.down' : '.up'].map((c) => row.querySelector(c)).find((b) => !b.disabled);
          if (button) button.focus();
        };
        return el('li', { class: 'funnel-step', 'data-step': String(n) },
          el('fieldset', {}, el('legend', {}, T.step(n)),
            el('div', { class: 'funnel-fields' },
              el('label', { class: 'field', for: `funnel-${index}-kind` }, el('span', {}, T.kind),
                el('select', { id: `funnel-${index}-kind`, onchange: (e) => {
                  steps[index] = blank(e.target.value); draw(); document.getElementById(`funnel-${index}-kind`).focus();
                } }, ['page', 'event', 'goal'].map((k) => el('option', { value: k, selected: k === kindOf(step) }, T[k])))),
              stepFields(step, index)),
            el('div', { class: 'funnel-step-buttons' },
              el('button', { type: 'button', class: 'secondary up', 'aria-label': T.up(n), title: T.up(n), disabled: index === 0,
                onclick: () => move(index - 1, 'up') }, '↑'),
              el('button', { type: 'button', class: 'secondary down', 'aria-label': T.down(n), title: T.down(n),
                disabled: index === steps.length - 1, onclick: () => move(index + 1, 'down') }, '↓'),
              el('button', { type: 'button', class: 'secondary', 'aria-label': T.remove(n), title: T.remove(n),
                disabled: steps.length <= MIN_STEPS, onclick: () => {
                  steps.splice(index, 1); draw(); list.querySelector(`[data-step="${Math.min(n, steps.length)}"] select`).focus();
                } }, '✕'))));
      }));
      addButton.disabled = steps.length >= MAX_STEPS;
    }
    draw();

    const form = el('form', { class: 'funnel-editor', id: 'funnel-editor', novalidate: true, onsubmit: (event) => {
      event.preventDefault();
      within = mode.value === 'visit' ? 'visit' : `${String(length.value).trim()}${unit.value}`;
      for (const node of form.querySelectorAll('[aria-invalid]')) node.removeAttribute('aria-invalid');
      const found = problem(T, steps, within);
      if (found) {
        const target = document.getElementById(found[1]);
        message.textContent = found[0];
        message.hidden = false;
        if (target) { target.setAttribute('aria-invalid', 'true'); target.focus(); }
        return;
      }
      message.hidden = true;
      onSubmit(steps.map(cleanStep), within);
    } },
    el('fieldset', { class: 'funnel-list' }, el('legend', {}, T.steps), list, addButton),
    el('div', { class: 'funnel-within' },
      el('label', { for: 'funnel-within' }, `${T.within} `), mode,
      el('label', { for: 'funnel-length' }, `${T.length} `), length,
      el('label', { for: 'funnel-unit', class: 'visually-hidden' }, T.unit), unit),
    message,
    el('button', { type: 'submit', id: 'funnel-show' }, T.show));
    return { form, message };
  }

  // ---- the drawing ---------------------------------------------------------------------------

  function kindLabel(T, step) {
    const definition = step.definition;
    if (definition.label) return step.label;
    return `${T[kindOf(definition)]}: ${step.label}`;
  }

  function drawing(ctx, T, answer, csvName) {
    const { el } = ctx;
    const percent = (v) => ctx.formatPercent(v);
    const rows = answer.steps.map((step, index) => el('tr', { 'data-step': String(step.step) },
      el('th', { scope: 'row', class: 'label-cell' },
        el('span', { class: 'bar', 'data-share': (answer.steps[0].visitors ? (100 * step.visitors) / answer.steps[0].visitors : 0).toFixed(1) }),
        el('span', { class: 'funnel-label' }, `${step.step}. ${kindLabel(T, step)}`)),
      el('td', { class: 'num', 'data-metric': 'visitors' }, ctx.number.format(step.visitors)),
      el('td', { class: 'num', 'data-metric': 'conversion_rate' }, percent(step.conversion_rate)),
      el('td', { class: 'num', 'data-metric': 'conversion_rate_step' }, index ? percent(step.conversion_rate_step) : '–'),
      el('td', { class: 'num', 'data-metric': 'dropoff' }, index ? `${ctx.number.format(step.dropoff)} (${percent(step.dropoff_rate)})` : '–'),
      el('td', { class: 'num', 'data-metric': 'recognised_visitors' }, ctx.number.format(step.recognised_visitors)),
      el('td', { class: 'num', 'data-metric': 'cookieless_visitors' }, ctx.number.format(step.cookieless_visitors))));
    const headers = [T.step(''), T.visitors, T.fromFirst, T.fromPrevious, T.dropoff, T.recognised, T.cookieless];
    const table = el('table', { class: 'data breakdown funnel-table', id: 'funnel-table' },
      el('caption', {}, T.caption),
      el('thead', {}, el('tr', {}, headers.map((h, i) => el('th', { scope: 'col', class: i ? 'num' : null }, h.trim())))),
      el('tbody', {}, rows));
    const counting = answer.meta.counting;
    const note = el('div', { class: 'funnel-counting', id: 'funnel-counting' },
      el('h3', {}, T.counting),
      el('p', { 'data-within': counting.within }, counting.note[ctx.lang] || counting.note.en));
    const fields = ['step', 'label', 'visitors', 'recognised_visitors', 'cookieless_visitors', 'conversion_rate',
      'conversion_rate_step', 'dropoff', 'dropoff_rate'];
    const csv = ctx.csvButton(csvName, async () => [fields, answer.steps.map((s) => fields.map((f) => s[f]))]);
    return [ctx.scrollBox(table), note, csv];
  }

  // ---- the view ------------------------------------------------------------------------------

  async function post(ctx, body) {
    const response = await fetch(`${ctx.root}/api/v1/stats/funnel`, {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' }, body: JSON.stringify(body),
    });
    const data = await response.json().catch(() => ({}));
    return { ok: response.ok, status: response.status, data };
  }

  // The saved funnels, or null where the server has no such list (404): then there is no picker.
  async function savedFunnels(ctx) {
    const response = await fetch(`${ctx.root}/api/v1/sites/${ctx.site.id}/funnels`,
      { credentials: 'same-origin', headers: { Accept: 'application/json' } });
    if (response.status === 404) return null;
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error((data.error && data.error.message) || response.statusText);
    return Array.isArray(data.funnels) ? data.funnels : [];
  }

  // ctx: { el, lang, root, site, range, filtered, funnel, open(funnel), current(), scrollBox, csvButton,
  // sizeBars, number, formatPercent }. Resolves once the funnel is drawn (or refused).
  async function mount(section, ctx) {
    const T = TEXTS[ctx.lang] || TEXTS.en;
    const { el } = ctx;
    const picker = el('div', { class: 'funnel-saved', id: 'funnel-saved', hidden: true });
    const result = el('div', { class: 'funnel-result', id: 'funnel-result', 'aria-live': 'polite' });
    const holder = el('div', { id: 'funnel-editor-holder' });
    section.replaceChildren(...[
      el('div', { class: 'panel-head' }, el('h2', { id: 'title-funnel' }, T.funnels), picker),
      ctx.filtered ? el('p', { class: 'muted', id: 'funnel-filters' }, T.filters) : null,
      holder, result].filter(Boolean));
    let funnel = ctx.funnel;
    const saved = await savedFunnels(ctx);
    if (!ctx.current()) return;
    if (saved && saved.length) {
      const select = el('select', { id: 'funnel-pick', onchange: (e) => {
        if (e.target.value) ctx.open({ saved: e.target.value, steps: null, within: 'visit' });
      } }, el('option', { value: '' }, T.choose),
      saved.map((f) => el('option', { value: String(f.id), selected: String(f.id) === funnel.saved }, f.name)));
      picker.replaceChildren(el('label', { for: 'funnel-pick' }, `${T.saved} `), select);
      picker.hidden = false;
    }
    if (funnel.saved) {
      const chosen = (saved || []).find((f) => String(f.id) === funnel.saved);
      if (!chosen) {
        result.replaceChildren(el('p', { class: 'error-message', role: 'alert' }, T.savedMissing(funnel.saved)));
        funnel = { steps: null, within: 'visit', saved: null };
      } else {
        funnel = { ...funnel, steps: (chosen.steps || []).map(cleanStep).filter(Boolean), within: chosen.within || 'visit' };
      }
    }
    const { form, message } = editor(ctx, T, funnel, (steps, within) => ctx.open({ steps, within, saved: null }));
    holder.replaceChildren(form);
    if (!funnel.steps) {
      if (!funnel.saved && !result.childNodes.length) result.replaceChildren(el('p', { class: 'muted' }, T.empty));
      return;
    }
    result.replaceChildren(el('p', { class: 'muted' }, T.loading));
    const body = { site_id: ctx.site.id, date_range: ctx.range || 'all', within: funnel.within, steps: funnel.steps };
    const answer = await post(ctx, body);
    if (!ctx.current()) return;
    if (answer.status === 400) {
      // The browser checks what it can; the rest is the API's to say, as it says it.
      const error = answer.data.error || {};
      message.textContent = `${T.refused}: ${error.message || ''}${error.field ? ` (${error.field})` : ''}`;
      message.hidden = false;
      result.replaceChildren();
      return;
    }
    if (!answer.ok) throw new Error(`${T.failed}: ${(answer.data.error && answer.data.error.message) || answer.status}`);
    const name = `funnel-${(ctx.range || ['all']).join('_')}`;
    result.replaceChildren(...drawing(ctx, T, answer.data, name));
    ctx.sizeBars(result);
  }

  window.samtyckeFunnel = { read, write, mount };
}());
