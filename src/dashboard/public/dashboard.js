/* global Chart */
/* global document, getComputedStyle, sessionStorage, fetch, AbortController, URLSearchParams */
// The operator dashboard. Everything it shows comes from the operator routes, read with the admin
// key the operator types in. The service's CSP allows no inline script, so all behaviour is here.

const KEY_STORAGE = 'sms-dashboard:admin-key';
const DAY_MS = 86_400_000;
const HOUR_MS = 3_600_000;
const WEEK_MS = 7 * DAY_MS;
const DEFAULT_RANGE_DAYS = 30;
// A chart with more periods than this is unreadable (30 days by hour would be 720 points): "Auto"
// picks hours up to 2 days, days up to 92 and weeks beyond; a choice past it is refused.
const MAX_PERIODS = 200;
const PERIOD_MS = { hour: HOUR_MS, day: DAY_MS, week: WEEK_MS };
const EMPTY = '–';
const NOT_TRACKED = 'not tracked';

const COLORS = {
  delivery: '#2563eb',
  verification: '#16a34a',
  spend: '#7c3aed',
  grid: '#e5e7eb',
  text: '#475569',
};

const integer = new Intl.NumberFormat('en-US');
const money = new Intl.NumberFormat('en-US', {
  minimumFractionDigits: 2,
  maximumFractionDigits: 4,
});
const decimal = new Intl.NumberFormat('en-US', { maximumFractionDigits: 4 });
const dayLabel = new Intl.DateTimeFormat('en-US', {
  timeZone: 'UTC',
  month: 'short',
  day: 'numeric',
});
const hourLabel = new Intl.DateTimeFormat('en-US', {
  timeZone: 'UTC',
  month: 'short',
  day: 'numeric',
  hour: '2-digit',
  minute: '2-digit',
  hourCycle: 'h23',
});

const isMissing = (value) => value === null || value === undefined;

/** How each kind of number is shown; `data-value` always carries the API's raw value. */
const format = {
  count: (value) => (isMissing(value) ? EMPTY : integer.format(value)),
  percent: (value) => (isMissing(value) ? EMPTY : `${(value * 100).toFixed(1)}%`),
  milliseconds: (value) => (isMissing(value) ? EMPTY : `${integer.format(value)} ms`),
  // Percentiles read from a histogram: the upper bound of their bucket (see the API).
  atMostMilliseconds: (value) => (isMissing(value) ? EMPTY : `≤ ${integer.format(value)} ms`),
  cost: (value) => (isMissing(value) ? EMPTY : money.format(value)),
  // Amounts on their own say their currency (SMS_BUDGET_CURRENCY); table headers do for columns.
  money: (value) =>
    isMissing(value)
      ? EMPTY
      : `${money.format(value)}${state.currency ? ` ${state.currency}` : ''}`,
  decimal: (value) => (isMissing(value) ? EMPTY : decimal.format(value)),
  text: (value) => (isMissing(value) || value === '' ? EMPTY : String(value)),
  time: (value) => (isMissing(value) ? EMPTY : `${value.slice(0, 10)} ${value.slice(11, 16)}`),
};

const state = { key: null, loading: null, charts: {}, currency: null };

const byId = (id) => document.getElementById(id);
const byTestId = (id) => document.querySelector(`[data-testid="${id}"]`);

function setValue(element, value, formatter) {
  element.textContent = formatter(value);
  element.dataset.value = isMissing(value) ? '' : String(value);
}

// --- the key --------------------------------------------------------------------------------

function readStoredKey() {
  try {
    return sessionStorage.getItem(KEY_STORAGE);
  } catch {
    return null;
  }
}

function storeKey(key) {
  try {
    sessionStorage.setItem(KEY_STORAGE, key);
  } catch {
    // Storage can be disabled; the key then lives only as long as this page.
  }
}

function forgetKey() {
  state.key = null;
  state.loading?.abort();
  try {
    sessionStorage.removeItem(KEY_STORAGE);
  } catch {
    // Nothing stored.
  }
}

function showKeyForm(error) {
  byId('dashboard').hidden = true;
  byId('session').hidden = true;
  byId('key-section').hidden = false;
  hideBanner();
  const message = byId('key-error');
  message.textContent = error ?? '';
  message.hidden = !error;
  byId('key-input').focus();
}

function showDashboard() {
  byId('key-section').hidden = true;
  byId('dashboard').hidden = false;
  byId('session').hidden = false;
}

// --- requests -------------------------------------------------------------------------------

/** One operator route. Never throws: failures come back as `{ ok: false, ... }` to render. */
async function getJson(path, signal) {
  let response;
  try {
    response = await fetch(path, {
      headers: { Authorization: `Bearer ${state.key}`, Accept: 'application/json' },
      cache: 'no-store',
      signal,
    });
  } catch (error) {
    if (error?.name === 'AbortError') return { ok: false, aborted: true };
    return { ok: false, network: true, message: 'the service could not be reached' };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy's error page, say): described by its status alone.
  }
  if (response.ok && body) return { ok: true, data: body };
  return {
    ok: false,
    status: response.status,
    message: body?.message ?? response.statusText,
    details: Array.isArray(body?.details) ? body.details : [],
    retryAfter: body?.retryAfter,
  };
}

function describeFailure(answer) {
  if (answer.network) return 'Network error: the service could not be reached.';
  if (answer.status === 400) {
    return `The service refused the filters: ${[answer.message, ...answer.details].join(' ')}`;
  }
  if (answer.status === 404) return 'This report is not available on this server.';
  if (answer.status === 429) {
    return `Too many requests; try again in ${answer.retryAfter ?? 'a few'} seconds.`;
  }
  return `The service answered ${answer.status}: ${answer.message}`;
}

// --- filters --------------------------------------------------------------------------------

const isoDate = (time) => new Date(time).toISOString().slice(0, 10);

function setDefaultRange() {
  const today = Date.parse(`${isoDate(Date.now())}T00:00:00Z`);
  byId('range-to').value = isoDate(today);
  byId('range-from').value = isoDate(today - (DEFAULT_RANGE_DAYS - 1) * DAY_MS);
}

/** The grouping "Auto" picks: a few dozen periods at most, whatever the range. */
function autoGroupBy(rangeMs) {
  if (rangeMs <= 2 * DAY_MS) return 'hour';
  if (rangeMs <= 92 * DAY_MS) return 'day';
  return 'week';
}

/** The filters as the API's query; dates are whole UTC days, `to` inclusive. */
function readFilters() {
  const from = byId('range-from').value;
  const to = byId('range-to').value;
  if (!from || !to) return { error: 'Choose both dates.' };
  if (from > to) return { error: '“From” must be on or before “To”.' };
  const country = byId('country').value.trim().toUpperCase();
  if (country && !/^[A-Z]{2}$/.test(country)) {
    return { error: 'Country must be a two-letter ISO code such as ET.' };
  }
  const fromTime = Date.parse(`${from}T00:00:00Z`);
  const toTime = Date.parse(`${to}T00:00:00Z`) + DAY_MS;
  const chosen = byId('group-by').value;
  const groupBy = chosen === 'auto' ? autoGroupBy(toTime - fromTime) : chosen;
  if ((toTime - fromTime) / PERIOD_MS[groupBy] > MAX_PERIODS) {
    const periods = Math.ceil((toTime - fromTime) / PERIOD_MS[groupBy]);
    return {
      error: `By ${groupBy}, this range would draw ${periods} points (at most ${MAX_PERIODS}): choose Auto, a longer period or a shorter range.`,
    };
  }
  const params = new URLSearchParams({
    from: new Date(fromTime).toISOString(),
    to: new Date(toTime).toISOString(),
    groupBy,
  });
  const purpose = byId('purpose').value;
  if (purpose) params.set('purpose', purpose);
  if (country) params.set('country', country);
  return { query: params.toString(), from, to, fromTime, toTime, groupBy, purpose, country };
}

function showRangeNote(text, isError = false) {
  const note = byId('range-note');
  note.textContent = text;
  note.classList.toggle('error', isError);
}

function describeRange(filters) {
  const parts = [`${filters.from} → ${filters.to} (UTC)`, `by ${filters.groupBy}`];
  if (byId('group-by').value === 'auto') parts[1] += ' (auto)';
  if (filters.purpose) parts.push(filters.purpose.replace('_', ' '));
  if (filters.country) parts.push(filters.country);
  return parts.join(' · ');
}

// --- rendering helpers ----------------------------------------------------------------------

function showBanner(text) {
  const banner = byId('banner');
  banner.textContent = text;
  banner.hidden = false;
}

function hideBanner() {
  byId('banner').hidden = true;
}

function showSectionError(name, text) {
  for (const element of document.querySelectorAll(`[data-section-error="${name}"]`)) {
    element.textContent = text ?? '';
    element.hidden = !text;
  }
}

/** A failed report shows only its error: an empty table would read as "nothing happened". */
function sectionError(name, answer) {
  showSectionError(name, answer.ok ? null : describeFailure(answer));
  for (const element of document.querySelectorAll(`[data-section="${name}"]`)) {
    element.hidden = !answer.ok;
  }
}

function cell(value, formatter = format.text, testId, className) {
  const element = document.createElement('td');
  setValue(element, value, formatter);
  const numeric = formatter !== format.text && formatter !== format.time;
  element.className = className ?? (numeric ? 'num' : formatter === format.time ? 'nowrap' : '');
  if (testId) element.dataset.testid = testId;
  return element;
}

function pill(text, tone, testId) {
  const element = document.createElement('span');
  element.className = `pill ${tone}`;
  element.textContent = text;
  if (testId) element.dataset.testid = testId;
  return element;
}

function pillCell(value, text, tone, testId) {
  const element = document.createElement('td');
  element.dataset.testid = testId;
  element.dataset.value = isMissing(value) ? '' : String(value);
  element.append(pill(text, tone));
  return element;
}

function fillRows(body, rows, columns, emptyText = 'No data for this range.') {
  if (rows.length > 0) {
    body.replaceChildren(...rows);
    return;
  }
  const empty = document.createElement('tr');
  empty.className = 'empty';
  const text = document.createElement('td');
  text.colSpan = columns;
  text.textContent = emptyText;
  empty.append(text);
  body.replaceChildren(empty);
}

function row(testId, attributes, cells) {
  const element = document.createElement('tr');
  element.dataset.testid = testId;
  for (const [name, value] of Object.entries(attributes)) element.dataset[name] = value ?? '';
  element.append(...cells);
  return element;
}

/** Alert values in their rule's unit (see GET /analytics/sms/alerts in Swagger). */
const ALERT_UNITS = {
  failure_rate: format.percent,
  response_time: format.milliseconds,
  rate_limit_violations: format.count,
  daily_cost: format.money,
  webhook_failures: format.count,
  security_incidents: format.count,
};

const STATUS_TONES = {
  failed: 'danger',
  undelivered: 'danger',
  security: 'danger',
  wrong_code: 'warning',
  refused: 'warning',
};
const statusTone = (status) => STATUS_TONES[status] ?? 'neutral';

/**
 * A delivery rate as shown: "not tracked" when none of the sends behind it could report delivery
 * (Twilio Verify has no per-message status callback), rather than an empty or 0 % rate.
 */
function deliveryRateCell(point, testId) {
  if (isMissing(point.deliveryRate) && point.untrackedSends > 0) {
    const element = cell(null, format.text, testId);
    element.textContent = NOT_TRACKED;
    element.className = 'num muted';
    element.title = `${point.untrackedSends} sends through Twilio Verify, which reports no delivery`;
    return element;
  }
  return cell(point.deliveryRate, format.percent, testId);
}

// --- charts ---------------------------------------------------------------------------------

/** Monday 00:00 UTC of the week `time` falls in, as the API's weeks start. */
function weekStart(time) {
  const day = new Date(time).getUTCDay();
  return time - ((day + 6) % 7) * DAY_MS;
}

/**
 * Every period of the range, so gaps show as gaps; the API's own periods if they do not fall on
 * the same UTC boundaries.
 */
function timeline(periods, filters) {
  const step = PERIOD_MS[filters.groupBy];
  const start = filters.groupBy === 'week' ? weekStart(filters.fromTime) : filters.fromTime;
  const all = [];
  for (let time = start; time < filters.toTime; time += step) {
    all.push(new Date(time).toISOString());
  }
  const known = new Set(all);
  return periods.every((period) => known.has(period)) ? all : periods;
}

function periodLabel(period, groupBy) {
  const label = (groupBy === 'hour' ? hourLabel : dayLabel).format(new Date(period));
  return groupBy === 'week' ? `Week of ${label}` : label;
}

function drawChart(name, canvasId, config) {
  state.charts[name]?.destroy();
  delete state.charts[name];
  if (typeof Chart === 'undefined') {
    showSectionError(name, 'The chart library did not load; the data is in the table below.');
    return;
  }
  state.charts[name] = new Chart(byId(canvasId), config);
}

function chartOptions(valueLabel, yAxis) {
  return {
    animation: false,
    responsive: true,
    maintainAspectRatio: false,
    interaction: { mode: 'index', intersect: false },
    plugins: {
      legend: {
        position: 'bottom',
        labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8, padding: 16 },
      },
      tooltip: {
        callbacks: {
          label: (item) =>
            `${item.dataset.label}: ${item.raw === null ? EMPTY : valueLabel(item.raw)}`,
        },
      },
    },
    scales: {
      x: {
        grid: { display: false },
        ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 10 },
      },
      y: { beginAtZero: true, grid: { color: COLORS.grid }, border: { display: false }, ...yAxis },
    },
  };
}

const asPercent = (ratio) => (isMissing(ratio) ? null : Math.round(ratio * 1000) / 10);

// --- sections -------------------------------------------------------------------------------

function renderSummary(answer) {
  sectionError('summary', answer);
  const summary = answer.ok ? answer.data : null;
  const counts = summary?.counts ?? {};
  const tests = summary?.testNumbers ?? {};
  const values = [
    ['summary-sent', counts.sent, format.count],
    ['summary-delivered', counts.delivered, format.count],
    ['summary-undelivered', counts.undelivered, format.count],
    ['summary-verified', counts.verified, format.count],
    ['summary-expired', counts.expired, format.count],
    ['summary-failed', counts.failed, format.count],
    ['summary-rate-limited', counts.rateLimited, format.count],
    ['summary-held', counts.held, format.count],
    ['summary-suppressed', counts.suppressed, format.count],
    ['summary-refused', counts.refused, format.count],
    ['summary-wrong-codes', counts.wrongCodes, format.count],
    ['summary-security-incidents', counts.securityIncidents, format.count],
    ['summary-test-sent', tests.sent, format.count],
    ['summary-test-verified', tests.verified, format.count],
    ['summary-delivery-rate', summary?.deliveryRate, format.percent],
    ['summary-verification-rate', summary?.verificationRate, format.percent],
    ['summary-p50', summary?.responseTimeMs.p50, percentileFormat(summary)],
    ['summary-p95', summary?.responseTimeMs.p95, percentileFormat(summary)],
    ['summary-average', summary?.responseTimeMs.average, format.milliseconds],
    ['summary-cost-total', summary?.cost.total, format.money],
    ['summary-cost-per-verified', summary?.cost.perVerifiedUser, format.money],
  ];
  for (const [testId, value, formatter] of values) setValue(byTestId(testId), value, formatter);
  renderDeliveryCard(summary);
  renderLayers(summary);
  const source = byTestId('summary-cost-source');
  setValue(source, summary?.cost.source, format.text);
  source.className = `pill source-${summary?.cost.source ?? 'none'}`;
  source.title = isMissing(summary?.cost.estimatedShare)
    ? ''
    : `${format.percent(summary.cost.estimatedShare)} of sends priced from the estimate table`;
}

const percentileFormat = (summary) =>
  summary?.responseTimeMs.approximate ? format.atMostMilliseconds : format.milliseconds;

/** The delivery rate, or why there is none: Verify sends report no delivery. */
function renderDeliveryCard(summary) {
  const rate = byTestId('summary-delivery-rate');
  const hint = byTestId('summary-delivery-hint');
  const { trackedSends = 0, untrackedSends = 0 } = summary?.delivery ?? {};
  const untracked = isMissing(summary?.deliveryRate) && untrackedSends > 0;
  rate.classList.toggle('untracked', untracked);
  if (untracked) rate.textContent = NOT_TRACKED;
  hint.textContent = untracked
    ? `Twilio Verify reports no delivery per message (${integer.format(untrackedSends)} sends)`
    : untrackedSends > 0
      ? `Of ${integer.format(trackedSends)} Messaging sends; ${integer.format(untrackedSends)} Verify sends not tracked`
      : 'Delivered of delivered + undelivered';
}

const LAYER_GROUPS = [
  ['rateLimitedByLayer', 'Rate limit'],
  ['heldByLayer', 'Hold'],
  ['refusedByLayer', 'Refused'],
];

function renderLayers(summary) {
  const rows = [];
  for (const [field, label] of LAYER_GROUPS) {
    for (const { layer, count } of summary?.[field] ?? []) {
      rows.push(
        row('layer-row', { group: field, layer }, [
          cell(label, format.text, 'layer-group'),
          cell(layer, format.text, 'layer-name'),
          cell(count, format.count, 'layer-count'),
        ]),
      );
    }
  }
  fillRows(byId('layer-rows'), rows, 3, 'Nothing was refused in this range.');
}

function renderSecurity(answer) {
  sectionError('security', answer);
  const security = answer.ok ? answer.data : null;
  setValue(byTestId('security-total'), security?.total, format.count);
  setValue(byTestId('security-wrong-codes'), security?.wrongCodes, format.count);
  fillRows(
    byId('security-rows'),
    (security?.byKind ?? []).map((kind) =>
      row('security-row', { kind: kind.kind }, [
        cell(kind.kind, format.text, 'security-kind', 'nowrap'),
        cell(kind.count, format.count, 'security-count'),
        cell(kind.meaning, format.text, 'security-meaning'),
      ]),
    ),
    3,
  );
}

function renderRates(answer, filters) {
  sectionError('rates', answer);
  const overTime = answer.ok ? answer.data.overTime : [];
  const byPeriod = new Map(overTime.map((point) => [point.period, point]));
  const periods = timeline(
    overTime.map((point) => point.period),
    filters,
  );
  // Bars: a period stands on its own, so one day of data is two bars, not a lone dot.
  drawChart('rates', 'rates-chart', {
    type: 'bar',
    data: {
      labels: periods.map((period) => periodLabel(period, filters.groupBy)),
      datasets: [
        {
          label: 'Delivery rate',
          data: periods.map((period) => asPercent(byPeriod.get(period)?.deliveryRate)),
          borderColor: COLORS.delivery,
          backgroundColor: COLORS.delivery,
        },
        {
          label: 'Verification rate',
          data: periods.map((period) => asPercent(byPeriod.get(period)?.verificationRate)),
          borderColor: COLORS.verification,
          backgroundColor: COLORS.verification,
        },
      ].map((dataset) => ({ ...dataset, borderRadius: 3, maxBarThickness: 28 })),
    },
    options: chartOptions((value) => `${value.toFixed(1)}%`, {
      max: 100,
      ticks: { callback: (value) => `${value}%` },
    }),
  });
  byId('rates-chart').setAttribute(
    'aria-label',
    `Delivery and verification rates ${describeRange(filters)}`,
  );

  fillRows(
    byId('rates-rows'),
    overTime.map((point) =>
      row('rates-row', { period: point.period }, [
        cell(periodLabel(point.period, filters.groupBy)),
        cell(point.sent, format.count, 'rates-sent'),
        cell(point.delivered, format.count, 'rates-delivered'),
        cell(point.verified, format.count, 'rates-verified'),
        deliveryRateCell(point, 'rates-delivery-rate'),
        cell(point.verificationRate, format.percent, 'rates-verification-rate'),
      ]),
    ),
    6,
  );
  const perPurpose = answer.ok ? answer.data.perPurpose : [];
  fillRows(
    byId('purpose-rows'),
    perPurpose.map((purpose) =>
      row('purpose-row', { purpose: purpose.purpose }, [
        // Events refused before a purpose was known (pumping holds) are rolled up under '-'.
        cell(purpose.purpose === '-' ? '(none)' : purpose.purpose.replace('_', ' ')),
        cell(purpose.sent, format.count, 'purpose-sent'),
        deliveryRateCell(purpose, 'purpose-delivery-rate'),
        cell(purpose.verificationRate, format.percent, 'purpose-verification-rate'),
        cell(purpose.failureRate, format.percent, 'purpose-failure-rate'),
      ]),
    ),
    5,
  );
}

function renderCosts(answer, filters) {
  sectionError('costs', answer);
  const costs = answer.ok ? answer.data : null;
  setValue(byTestId('costs-total'), costs?.total, format.money);
  const source = byTestId('costs-source');
  setValue(source, costs?.source, format.text);
  source.className = `pill source-${costs?.source ?? 'none'}`;

  const overTime = costs?.overTime ?? [];
  const byPeriod = new Map(overTime.map((point) => [point.period, point]));
  const periods = timeline(
    overTime.map((point) => point.period),
    filters,
  );
  drawChart('costs', 'spend-chart', {
    type: 'bar',
    data: {
      labels: periods.map((period) => periodLabel(period, filters.groupBy)),
      datasets: [
        {
          label: 'Spend',
          data: periods.map((period) => byPeriod.get(period)?.cost ?? 0),
          backgroundColor: COLORS.spend,
          borderRadius: 4,
          maxBarThickness: 36,
        },
      ],
    },
    options: chartOptions(format.money, { ticks: { callback: (value) => format.cost(value) } }),
  });
  byId('spend-chart').setAttribute('aria-label', `Spend ${describeRange(filters)}`);

  fillRows(
    byId('spend-rows'),
    overTime.map((point) =>
      row('spend-row', { period: point.period }, [
        cell(periodLabel(point.period, filters.groupBy)),
        cell(point.sent, format.count, 'spend-sent'),
        cell(point.cost, format.cost, 'spend-cost'),
      ]),
    ),
    3,
  );
}

function renderCountries(answer, costsAnswer) {
  sectionError('countries', answer);
  const perVerified = new Map(
    (costsAnswer.ok ? costsAnswer.data.perCountry : []).map((country) => [
      country.country,
      country.perVerifiedUser,
    ]),
  );
  const countries = answer.ok ? answer.data.countries : [];
  fillRows(
    byId('country-rows'),
    countries.map((country) =>
      row('country-row', { country: country.country }, [
        cell(country.country, format.text, 'country-code'),
        cell(country.sent, format.count, 'country-sent'),
        cell(country.delivered, format.count, 'country-delivered'),
        deliveryRateCell(country, 'country-delivery-rate'),
        cell(country.verified, format.count, 'country-verified'),
        cell(country.verificationRate, format.percent, 'country-conversion'),
        cell(country.cost, format.cost, 'country-cost'),
        cell(perVerified.get(country.country), format.cost, 'country-cost-per-verified'),
        cell(country.refused, format.count, 'country-refused'),
        country.held
          ? pillCell(true, `Held · ${country.holdMode}`, 'danger', 'country-held')
          : pillCell(false, 'No', 'quiet', 'country-held'),
      ]),
    ),
    10,
  );
}

function renderFailures(answer) {
  sectionError('failures', answer);
  sectionError('recent', answer);
  const failures = answer.ok ? answer.data : { topErrors: [], recent: [] };
  fillRows(
    byId('error-rows'),
    failures.topErrors.map((error) =>
      row('error-row', { code: error.errorCode, status: error.status }, [
        cell(error.errorCode, format.text, 'error-code'),
        pillCell(error.status, error.status, statusTone(error.status), 'error-status'),
        cell(error.count, format.count, 'error-count'),
        cell(error.meaning, format.text, 'error-meaning'),
      ]),
    ),
    4,
    'No failures in this range.',
  );
  fillRows(
    byId('recent-rows'),
    failures.recent.map((failure) =>
      row('recent-row', { occurredAt: failure.occurredAt }, [
        cell(failure.occurredAt, format.time, 'recent-time'),
        pillCell(failure.status, failure.status, statusTone(failure.status), 'recent-status'),
        cell(failure.errorCode, format.text, 'recent-code'),
        cell(failure.errorMessage, format.text, 'recent-message'),
        cell(failure.country, format.text, 'recent-country'),
        cell(failure.purpose, format.text, 'recent-purpose'),
        cell(failure.channel, format.text, 'recent-channel', 'nowrap'),
      ]),
    ),
    7,
    'No failures in this range.',
  );
}

function renderAlerts(answer) {
  // A service from before the alerts route answers 404: say alerts are unavailable, not failed.
  const unavailable = !answer.ok && answer.status === 404;
  byTestId('alerts-unavailable').hidden = !unavailable;
  sectionError('alerts', unavailable ? { ok: true } : answer);
  const alerts = answer.ok ? answer.data : null;
  setValue(byTestId('alerts-active-count'), alerts?.active.length, format.count);
  setValue(byTestId('alerts-recent-count'), alerts?.recent.length, format.count);
  const alertRow = (alert, active) => {
    const unit = ALERT_UNITS[alert.rule] ?? format.decimal;
    return row('alert-row', { alertId: alert.id, state: active ? 'active' : 'resolved' }, [
      active
        ? pillCell('active', 'Active', 'danger', 'alert-state')
        : pillCell('resolved', 'Resolved', 'quiet', 'alert-state'),
      cell(alert.rule.replaceAll('_', ' '), format.text, 'alert-rule', 'nowrap'),
      cell(alert.value, unit, 'alert-value'),
      cell(alert.threshold, unit, 'alert-threshold'),
      cell(alert.message, format.text, 'alert-message'),
      cell(alert.startedAt, format.time, 'alert-started'),
      cell(alert.resolvedAt, format.time, 'alert-resolved'),
    ]);
  };
  const rows = alerts
    ? [
        ...alerts.active.map((alert) => alertRow(alert, true)),
        ...alerts.recent.map((alert) => alertRow(alert, false)),
      ]
    : [];
  byId('alert-rows').closest('.table-wrap').hidden = !answer.ok;
  fillRows(byId('alert-rows'), rows, 7, 'No alerts. All rules are within their thresholds.');
}

/** A hold's scope as operators say it; `data-value` keeps the API's word (prefix, country). */
const holdScope = (scope) => (scope === 'prefix' ? 'range' : format.text(scope));

function liftButton(hold) {
  const element = document.createElement('td');
  const button = document.createElement('button');
  button.type = 'button';
  button.className = 'button small danger';
  button.textContent = 'Lift';
  button.dataset.testid = 'hold-lift';
  button.setAttribute('aria-label', `Lift the hold on ${hold.label}`);
  button.addEventListener('click', () => void liftHold(hold, button));
  element.append(button);
  return element;
}

function renderHolds(answer) {
  sectionError('holds', answer);
  const holds = answer.ok ? answer.data.holds : [];
  setValue(byTestId('holds-count'), answer.ok ? holds.length : null, format.count);
  fillRows(
    byId('hold-rows'),
    holds.map((hold) =>
      row('hold-row', { holdId: hold.id }, [
        cell(hold.scope, holdScope, 'hold-scope'),
        cell(hold.label, format.text, 'hold-label'),
        pillCell(
          hold.mode,
          hold.mode,
          hold.mode === 'enforced' ? 'danger' : 'warning',
          'hold-mode',
        ),
        cell(hold.sends, format.count, 'hold-sends'),
        cell(hold.verified, format.count, 'hold-verified'),
        cell(hold.conversion, format.percent, 'hold-conversion'),
        cell(hold.ranges, format.count, 'hold-ranges'),
        cell(hold.networks, format.count, 'hold-networks'),
        cell(hold.createdAt, format.time, 'hold-created'),
        cell(hold.expiresAt, format.time, 'hold-expires'),
        liftButton(hold),
      ]),
    ),
    11,
    'No active holds: every country and number range is sending.',
  );
}

/** DELETE /admin/sms/holds/:id, then the holds as the service now lists them. */
async function liftHold(hold, button) {
  button.disabled = true;
  let failure = null;
  try {
    const response = await fetch(`/admin/sms/holds/${encodeURIComponent(hold.id)}`, {
      method: 'DELETE',
      headers: { Authorization: `Bearer ${state.key}`, Accept: 'application/json' },
      cache: 'no-store',
    });
    if (response.status === 401) {
      forgetKey();
      showKeyForm('Wrong key: the service refused it (401). Check ADMIN_API_KEY and try again.');
      return;
    }
    // 404: it ended meanwhile (expired, or lifted elsewhere); the list below shows that.
    if (!response.ok && response.status !== 404) {
      const body = await response.json().catch(() => null);
      failure = {
        ok: false,
        status: response.status,
        message: body?.message ?? response.statusText,
      };
    }
  } catch {
    failure = { ok: false, network: true };
  }
  const holds = await getJson('/admin/sms/holds');
  if (holds.status === 401) return;
  renderHolds(holds);
  if (failure)
    showSectionError('holds', `Could not lift ${hold.label}: ${describeFailure(failure)}`);
}

// --- loading --------------------------------------------------------------------------------

async function load() {
  const filters = readFilters();
  if (filters.error) {
    showRangeNote(filters.error, true);
    return;
  }
  state.loading?.abort();
  const controller = new AbortController();
  state.loading = controller;
  const dashboard = byId('dashboard');
  dashboard.dataset.state = 'loading';
  dashboard.setAttribute('aria-busy', 'true');
  showRangeNote('Loading…');

  const query = `?${filters.query}`;
  const paths = {
    summary: `/analytics/sms/summary${query}`,
    rates: `/analytics/sms/success-rates${query}`,
    costs: `/analytics/sms/costs${query}`,
    countries: `/analytics/sms/countries${query}`,
    failures: `/analytics/sms/failures${query}`,
    security: `/analytics/sms/security${query}`,
    alerts: '/analytics/sms/alerts',
    holds: '/admin/sms/holds',
  };
  const answers = Object.fromEntries(
    await Promise.all(
      Object.entries(paths).map(async ([name, path]) => [
        name,
        await getJson(path, controller.signal),
      ]),
    ),
  );
  if (controller.signal.aborted) return;

  const all = Object.values(answers);
  if (all.some((answer) => answer.status === 401)) {
    forgetKey();
    showKeyForm('Wrong key: the service refused it (401). Check ADMIN_API_KEY and try again.');
    return;
  }
  if (all.some((answer) => answer.network)) {
    showBanner(
      'Could not reach the service (network error). Check the connection, then press Refresh.',
    );
  } else if (answers.summary.status === 404) {
    showBanner('The operator routes are switched off on this server: it has no ADMIN_API_KEY.');
  } else {
    hideBanner();
  }

  state.currency = answers.summary.ok ? answers.summary.data.cost.currency : null;
  for (const element of document.querySelectorAll('[data-currency]')) {
    element.textContent = state.currency ? ` (${state.currency})` : '';
  }
  renderSummary(answers.summary);
  renderSecurity(answers.security);
  renderRates(answers.rates, filters);
  renderCosts(answers.costs, filters);
  renderCountries(answers.countries, answers.costs);
  renderFailures(answers.failures);
  renderAlerts(answers.alerts);
  renderHolds(answers.holds);

  showRangeNote(describeRange(filters));
  if (all.some((answer) => answer.ok)) {
    byTestId('last-updated').textContent = `Updated ${new Date().toISOString().slice(11, 19)} UTC`;
  }
  dashboard.dataset.query = filters.query;
  const alertsMissing = answers.alerts.status === 404;
  dashboard.dataset.state = all.every(
    (answer) => answer.ok || (answer === answers.alerts && alertsMissing),
  )
    ? 'ready'
    : 'partial';
  dashboard.removeAttribute('aria-busy');
}

// --- start ----------------------------------------------------------------------------------

function start() {
  if (typeof Chart !== 'undefined') {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = COLORS.text;
  }
  setDefaultRange();

  byId('key-form').addEventListener('submit', (event) => {
    event.preventDefault();
    const input = byId('key-input');
    const key = input.value.trim();
    if (!key) return;
    input.value = '';
    state.key = key;
    storeKey(key);
    showDashboard();
    void load();
  });
  byId('filters').addEventListener('submit', (event) => {
    event.preventDefault();
    void load();
  });
  byId('refresh').addEventListener('click', () => void load());
  byId('forget-key').addEventListener('click', () => {
    forgetKey();
    showKeyForm();
  });

  state.key = readStoredKey();
  if (state.key) {
    showDashboard();
    void load();
  } else {
    showKeyForm();
  }
}

start();
