/**
 * deploy/monitoring: the Prometheus alert rules, the Prometheus configuration
 * and the Grafana dashboard. promtool checks the files, and unit-tests the
 * alerts whose expressions are easy to get wrong. Every metric name an alert
 * or a panel uses must be one that is really exported: by a cloud server (with
 * a read replica configured), by a hub, and by HAProxy running the shipped
 * deploy/cloud/haproxy.cfg. Label values the expressions select on
 * (`state="online"`, `route="/api/sync/push"`...) must exist too.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { createUpdate, seedCommunity } from '../helpers/client';
import { createTestDatabase, type TestDatabase } from '../helpers/database';
import { freePort, spawnServer, type ServerProcess } from '../helpers/process';
import { until } from '../helpers/wait';

const ROOT = path.resolve(import.meta.dirname, '../..');
const MONITORING = path.join(ROOT, 'deploy/monitoring');
const PROMTOOL = process.env.PROMTOOL ?? 'promtool';
const read = (file: string) => readFileSync(path.join(MONITORING, file), 'utf8');

// ---------------------------------------------------------------------------------------------
// The files

interface AlertRule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleFile {
  groups: { name: string; rules: AlertRule[] }[];
}
interface Target {
  expr?: string;
  refId?: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title?: string;
  datasource?: { type?: string; uid?: string };
  gridPos?: { h: number; w: number; x: number; y: number };
  targets?: Target[];
}
interface Dashboard {
  title?: string;
  uid?: string;
  schemaVersion?: number;
  panels?: Panel[];
  templating?: { list: { name: string; type: string; query?: string | { query?: string } }[] };
  __inputs?: { name: string; pluginId: string }[];
}

const alertRules = (parse(read('alerts.yml')) as RuleFile).groups.flatMap((group) => group.rules);
const dashboardText = read('grafana-dashboard.json');
const dashboard = JSON.parse(dashboardText) as Dashboard;
const panels = dashboard.panels ?? [];

/** Dashboard queries as Prometheus would receive them: Grafana's interval variables and `$var`s filled in. */
const grafanaToPromql = (expr: string) =>
  expr.replace(/\$__(rate_interval|interval|range)\b/g, '5m').replace(/\$\{?\w+\}?/g, '.*');

const panelExprs = panels.flatMap((panel) =>
  (panel.targets ?? []).map((target) => ({ where: `panel "${panel.title}" ${target.refId}`, expr: target.expr ?? '' })),
);
/** `label_values(<selector>, label)` variables select on a metric too. */
const variableExprs = (dashboard.templating?.list ?? []).flatMap((variable) => {
  const query = typeof variable.query === 'string' ? variable.query : variable.query?.query;
  const selector = query?.match(/^label_values\((.+),\s*\w+\s*\)$/)?.[1];
  return selector ? [{ where: `variable ${variable.name}`, expr: selector }] : [];
});
const allExprs = [
  ...alertRules.map((rule) => ({ where: `alert ${rule.alert}`, expr: rule.expr })),
  ...panelExprs,
  ...variableExprs,
];

// ---------------------------------------------------------------------------------------------
// PromQL, just enough of it to find metric names and label matchers

const PROMQL_WORDS = new Set(
  [
    // keywords and operators
    'and',
    'or',
    'unless',
    'by',
    'without',
    'on',
    'ignoring',
    'group_left',
    'group_right',
    'bool',
    'offset',
    'atan2',
    'inf',
    'nan',
    // the label histogram_quantile reads, and common functions/aggregations (also caught by the "(" rule)
    'le',
    'sum',
    'min',
    'max',
    'avg',
    'count',
    'topk',
    'bottomk',
    'quantile',
    'stddev',
    'stdvar',
    'group',
    'rate',
    'irate',
    'increase',
    'delta',
    'idelta',
    'deriv',
    'histogram_quantile',
    'clamp_min',
    'clamp_max',
    'absent',
    'absent_over_time',
    'vector',
    'scalar',
    'time',
    'label_replace',
    'label_join',
  ].map((word) => word.toLowerCase()),
);

/** The metric names an expression reads. */
function metricNames(expr: string): string[] {
  const text = grafanaToPromql(expr)
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""') // strings
    .replace(/\{[^}]*\}/g, ' ') // label matchers
    .replace(/\[[^\]]*\]/g, ' ') // ranges and subqueries
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ') // label lists
    .replace(/\boffset\s+-?\w+/gi, ' ');
  const names = new Set<string>();
  for (const match of text.matchAll(/(?<![\w:.])[a-zA-Z_:][\w:]*/g)) {
    const word = match[0];
    const next = text.slice(match.index + word.length).trimStart()[0];
    if (next === '(' || PROMQL_WORDS.has(word.toLowerCase())) continue; // a function or keyword
    names.add(word);
  }
  return [...names];
}

interface Matcher {
  label: string;
  op: string;
  value: string;
}

/** Each `name{...}` selector's metric name and label matchers. */
function selectors(expr: string): { name: string; matchers: Matcher[] }[] {
  const found: { name: string; matchers: Matcher[] }[] = [];
  for (const match of expr.matchAll(/([a-zA-Z_:][\w:]*)\s*\{((?:[^}"]|"(?:[^"\\]|\\.)*")*)\}/g)) {
    const matchers = [...match[2]!.matchAll(/([a-zA-Z_]\w*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"/g)].map(
      ([, label, op, value]) => ({ label: label!, op: op!, value: value! }),
    );
    found.push({ name: match[1]!, matchers });
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// The Prometheus text format

type Labels = Record<string, string>;

interface Exposition {
  /** Every name a query can use: families, plus _bucket/_sum/_count for histograms and summaries. */
  names: Set<string>;
  /** The label sets of every sample, by sample name. */
  series: Map<string, Labels[]>;
}

function parseExposition(text: string, into: Exposition = { names: new Set(), series: new Map() }): Exposition {
  for (const line of text.split('\n')) {
    const type = line.match(/^# TYPE (\S+) (\S+)/);
    if (type) {
      const [, name, kind] = type as unknown as [string, string, string];
      into.names.add(name);
      if (kind === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) into.names.add(name + suffix);
      if (kind === 'summary') for (const suffix of ['_sum', '_count']) into.names.add(name + suffix);
      continue;
    }
    const sample = line.match(/^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+\S+/);
    if (!sample) continue;
    const labels: Labels = {};
    for (const [, label, value] of (sample[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) {
      labels[label!] = value!.replace(/\\(.)/g, (_all, char: string) => (char === 'n' ? '\n' : char));
    }
    into.names.add(sample[1]!);
    const list = into.series.get(sample[1]!) ?? [];
    list.push(labels);
    into.series.set(sample[1]!, list);
  }
  return into;
}

/** Set by Prometheus itself: the `up` series and the target labels on every series. */
const PROMETHEUS_NAMES = new Set(['up']);
const TARGET_LABELS = new Set(['job', 'instance']);

/** What is wrong with the expressions' names and labels, against what was scraped; [] when all is well. */
function problems(exposition: Exposition, exprs: { where: string; expr: string }[]): string[] {
  const found: string[] = [];
  for (const { where, expr } of exprs) {
    for (const name of metricNames(expr)) {
      if (!PROMETHEUS_NAMES.has(name) && !exposition.names.has(name)) found.push(`${where}: ${name} is not exported`);
    }
    for (const { name, matchers } of selectors(expr)) {
      if (PROMETHEUS_NAMES.has(name) || !exposition.names.has(name)) continue;
      const series = exposition.series.get(name) ?? [];
      for (const { label, op, value } of matchers) {
        if (TARGET_LABELS.has(label)) continue;
        if (!series.some((labels) => label in labels)) {
          found.push(`${where}: ${name} has no series with a "${label}" label`);
        } else if (op === '=' && value !== '' && !series.some((labels) => labels[label] === value)) {
          const values = [...new Set(series.map((labels) => labels[label]))].join(', ');
          found.push(`${where}: ${name} has no series with ${label}="${value}" (seen: ${values})`);
        }
      }
    }
  }
  return found;
}

// ---------------------------------------------------------------------------------------------
// promtool

let scratch = '';

function promtool(...args: string[]): string {
  const result = spawnSync(PROMTOOL, args, { cwd: MONITORING, encoding: 'utf8' });
  if (result.error) {
    throw new Error(
      `cannot run ${PROMTOOL} (${result.error.message}): these tests need promtool, from the Prometheus ` +
        `distribution (Debian/Ubuntu: apt-get install prometheus; CI installs it), or PROMTOOL=/path/to/promtool`,
    );
  }
  const output = `${result.stdout}${result.stderr}`;
  if (result.status !== 0) throw new Error(`promtool ${args.join(' ')} failed (${result.status}):\n${output}`);
  return output;
}

function scratchFile(name: string, content: string): string {
  const file = path.join(scratch, name);
  writeFileSync(file, content);
  return file;
}

const series = (name: string, labels: Labels) =>
  `${name}{${Object.entries(labels)
    .map(([label, value]) => `${label}="${value}"`)
    .join(',')}}`;

/** `promtool test rules` cases for the alerts whose expressions are easy to get wrong. */
function alertUnitTests(rulesFile: string) {
  const app = (instance: string) => ({ job: 'lifeline', instance });
  const pool = (instance: string, states: Record<string, number>) =>
    Object.entries(states).map(([state, value]) => ({
      series: series('lifeline_db_pool_connections', { ...app(instance), state }),
      values: `${value}x20`,
    }));
  const requests = (instance: string, route: string, status: string, values: string) => ({
    series: series('lifeline_http_requests_total', { ...app(instance), method: 'POST', route, status }),
    values,
  });
  const haproxyServer = (server: string, current: string) =>
    ['UP', 'DOWN', 'MAINT', 'DRAIN', 'NOLB'].map((state) => ({
      series: series('haproxy_server_status', {
        job: 'haproxy',
        instance: 'haproxy:8404',
        proxy: 'app',
        server,
        state,
      }),
      values: `${state === current ? 1 : 0}x10`,
    }));
  const buckets = (route: string) =>
    Object.entries({ '0.5': 1, '1': 1, '2.5': 10, '+Inf': 10 }).map(([le, perMinute]) => ({
      series: series('lifeline_http_request_duration_seconds_bucket', {
        ...app('app1:3000'),
        method: 'POST',
        route,
        le,
      }),
      values: `0+${perMinute}x30`,
    }));
  return {
    rule_files: [rulesFile],
    evaluation_interval: '1m',
    tests: [
      {
        name: 'pool: a scrape queued behind an idle connection is not saturation; a full pool is',
        interval: '1m',
        input_series: [
          // What an idle instance reports at every scrape (its own query waits for the nextTick).
          ...pool('idle:3000', { max: 10, total: 1, idle: 1, in_use: 0, waiting: 1 }),
          ...pool('grown:3000', { max: 10, total: 10, idle: 4, in_use: 6, waiting: 1 }),
          ...pool('queueing:3000', { max: 10, total: 10, idle: 0, in_use: 10, waiting: 3 }),
          ...pool('busy:3000', { max: 10, total: 10, idle: 0, in_use: 10, waiting: 0 }),
        ],
        alert_rule_test: [
          {
            eval_time: '10m',
            alertname: 'LifelineDbPoolSaturated',
            exp_alerts: [
              { exp_labels: { severity: 'warning', ...app('queueing:3000'), state: 'waiting' } },
              { exp_labels: { severity: 'warning', ...app('busy:3000') } },
            ],
          },
        ],
      },
      {
        name: 'haproxy: only the server whose current state is DOWN',
        interval: '1m',
        input_series: [
          ...haproxyServer('app1', 'DOWN'),
          ...haproxyServer('app2', 'UP'),
          ...haproxyServer('app3', 'DRAIN'),
          {
            series: series('haproxy_backend_active_servers', {
              job: 'haproxy',
              instance: 'haproxy:8404',
              proxy: 'app',
            }),
            values: '1x10',
          },
        ],
        alert_rule_test: [
          {
            eval_time: '5m',
            alertname: 'HAProxyBackendServerDown',
            exp_alerts: [
              {
                exp_labels: {
                  severity: 'warning',
                  job: 'haproxy',
                  instance: 'haproxy:8404',
                  proxy: 'app',
                  server: 'app1',
                  state: 'DOWN',
                },
              },
            ],
          },
          { eval_time: '5m', alertname: 'HAProxyNoActiveServers', exp_alerts: [] },
        ],
      },
      {
        name: 'sync stalled: push attempts without one stored push, even when none ever was',
        interval: '1m',
        input_series: [
          // app1 never stored a push since it started: the success counter has no series at all.
          requests('app1:3000', '/api/sync/push', '500', '0+10x120'),
          // app2 is fine.
          requests('app2:3000', '/api/sync/push', '200', '0+10x120'),
          { series: series('lifeline_sync_requests_total', { ...app('app2:3000'), kind: 'push' }), values: '0+10x120' },
          // app3 stops storing pushes at 30m while devices keep trying.
          requests('app3:3000', '/api/sync/push', '200', '0+10x30 300+0x90'),
          requests('app3:3000', '/api/sync/push', '503', '0x30 0+10x90'),
          {
            series: series('lifeline_sync_requests_total', { ...app('app3:3000'), kind: 'push' }),
            values: '0+10x30 300+0x90',
          },
        ],
        alert_rule_test: [
          {
            eval_time: '60m',
            alertname: 'LifelineSyncStalled',
            exp_alerts: [{ exp_labels: { severity: 'critical', ...app('app1:3000') } }],
          },
          {
            eval_time: '100m',
            alertname: 'LifelineSyncStalled',
            exp_alerts: [
              { exp_labels: { severity: 'critical', ...app('app1:3000') } },
              { exp_labels: { severity: 'critical', ...app('app3:3000') } },
            ],
          },
        ],
      },
      {
        name: 'error rate: 5% of API requests failing',
        interval: '1m',
        input_series: [
          requests('app1:3000', '/api/sync/pull', '200', '0+95x20'),
          requests('app1:3000', '/api/sync/pull', '500', '0+5x20'),
        ],
        alert_rule_test: [
          {
            eval_time: '15m',
            alertname: 'LifelineHighErrorRate',
            exp_alerts: [{ exp_labels: { severity: 'critical', job: 'lifeline' } }],
          },
        ],
      },
      {
        name: 'error rate: a draining instance answering 503 to health checks is not an error',
        interval: '1m',
        input_series: [
          requests('app1:3000', '/api/sync/pull', '200', '0+100x20'),
          requests('app1:3000', '/readyz', '503', '0+60x20'),
        ],
        alert_rule_test: [{ eval_time: '15m', alertname: 'LifelineHighErrorRate', exp_alerts: [] }],
      },
      {
        name: 'slow requests: a slow pull alerts, a slow export (a hub streaming a community) does not',
        interval: '1m',
        input_series: [...buckets('/api/sync/pull'), ...buckets('/api/sync/export')],
        alert_rule_test: [
          {
            eval_time: '20m',
            alertname: 'LifelineSlowRequests',
            exp_alerts: [{ exp_labels: { severity: 'warning', job: 'lifeline', route: '/api/sync/pull' } }],
          },
        ],
      },
    ],
  };
}

describe('deploy/monitoring files', () => {
  beforeAll(() => {
    scratch = mkdtempSync(path.join(os.tmpdir(), 'lifeline-monitoring-'));
  });
  afterAll(() => {
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  });

  it('promtool accepts the alert rules and the Prometheus configuration', () => {
    expect(promtool('check', 'rules', 'alerts.yml')).toMatch(/SUCCESS: \d+ rules found/);
    const config = promtool('check', 'config', 'prometheus.yml');
    expect(config).toMatch(/SUCCESS: 1 rule files found/);
    expect(config).toMatch(/is valid prometheus config file syntax/);
  });

  it('scrapes the three instances and HAProxy, and loads alerts.yml', () => {
    const config = parse(read('prometheus.yml')) as {
      rule_files: string[];
      scrape_configs: { job_name: string; metrics_path?: string; static_configs: { targets: string[] }[] }[];
    };
    expect(config.rule_files).toEqual(['alerts.yml']);
    const jobs = Object.fromEntries(config.scrape_configs.map((job) => [job.job_name, job]));
    expect(Object.keys(jobs).sort()).toEqual(['haproxy', 'lifeline']);
    expect(jobs.lifeline!.static_configs.flatMap((group) => group.targets)).toEqual([
      'app1:3000',
      'app2:3000',
      'app3:3000',
    ]);
    expect(jobs.haproxy!.static_configs.flatMap((group) => group.targets)).toEqual(['haproxy:8404']);
    for (const job of Object.values(jobs)) expect(job.metrics_path ?? '/metrics').toBe('/metrics');
  });

  it('has every alert, each with a duration, a severity, and a summary and description', () => {
    const names = alertRules.map((rule) => rule.alert);
    for (const name of [
      'LifelineInstanceDown',
      'LifelineHighErrorRate',
      'LifelineSlowRequests',
      'LifelineSyncStalled',
      'LifelineOpenConflictsPiling',
      'LifelineDbPoolSaturated',
      'LifelineHubOffline',
      'LifelineHubQueueGrowing',
      'LifelineHubChangesRejected',
      'LifelineReplicaLagging',
      'LifelineReplicaDown',
      'HAProxyBackendServerDown',
    ]) {
      expect(names).toContain(name);
    }
    expect(new Set(names).size).toBe(names.length);
    for (const rule of alertRules) {
      expect(rule.alert, `a recording rule in alerts.yml: ${rule.record}`).toBeDefined();
      expect(rule.for, `${rule.alert} has no "for"`).toMatch(/^\d+[smh]$/);
      expect(['warning', 'critical'], `${rule.alert} severity`).toContain(rule.labels?.severity);
      expect(rule.annotations?.summary?.trim(), `${rule.alert} summary`).toBeTruthy();
      expect(rule.annotations?.description?.trim().length ?? 0, `${rule.alert} description`).toBeGreaterThan(80);
    }
  });

  it('the alerts fire when they should and only then (promtool test rules)', () => {
    // The copy has no annotations, so that the cases need not repeat their text (check rules validated them).
    const bare: RuleFile = {
      groups: (parse(read('alerts.yml')) as RuleFile).groups.map((group) => ({
        ...group,
        rules: group.rules.map(({ annotations: _annotations, ...rule }) => rule),
      })),
    };
    const rulesFile = scratchFile('alerts.yml', stringify(bare));
    const output = promtool('test', 'rules', scratchFile('alerts.test.yml', stringify(alertUnitTests(rulesFile))));
    expect(output).toMatch(/SUCCESS/);
  });

  it('the dashboard is a Grafana dashboard: title, uid, Prometheus datasource, a query in every panel', () => {
    expect(dashboard.title).toBeTruthy();
    expect(dashboard.uid).toMatch(/^[\w-]{1,40}$/);
    expect(dashboard.schemaVersion).toBeGreaterThanOrEqual(36);
    expect(panels.length).toBeGreaterThan(10);
    // ${DS_PROMETHEUS}: a datasource variable (works when provisioned from a file) or an import input.
    const dsVariable = dashboard.templating?.list.some((v) => v.name === 'DS_PROMETHEUS' && v.type === 'datasource');
    const dsInput = dashboard.__inputs?.some(
      (input) => input.name === 'DS_PROMETHEUS' && input.pluginId === 'prometheus',
    );
    expect(dsVariable || dsInput).toBe(true);
    const ids = panels.map((panel) => panel.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const panel of panels) {
      const what = `panel ${panel.id} "${panel.title}"`;
      expect(['timeseries', 'stat'], what).toContain(panel.type);
      expect(panel.title, what).toBeTruthy();
      expect(panel.datasource?.uid, what).toBe('${DS_PROMETHEUS}');
      expect(panel.gridPos, what).toBeDefined();
      expect(panel.gridPos!.x + panel.gridPos!.w, what).toBeLessThanOrEqual(24);
      expect(panel.targets?.length ?? 0, `${what} has no target`).toBeGreaterThan(0);
      for (const target of panel.targets ?? []) {
        expect(target.expr?.trim(), `${what} ${target.refId}`).toBeTruthy();
        expect(target.datasource?.uid ?? '${DS_PROMETHEUS}', what).toBe('${DS_PROMETHEUS}');
      }
    }
  });

  it('every dashboard query is valid PromQL (promtool checks them as recording rules)', () => {
    const rules = [...panelExprs, ...variableExprs].map(({ expr }, index) => ({
      record: `dashboard:query_${index}`,
      expr: grafanaToPromql(expr),
    }));
    const file = scratchFile('dashboard-queries.yml', stringify({ groups: [{ name: 'dashboard', rules }] }));
    expect(promtool('check', 'rules', file)).toContain(`SUCCESS: ${rules.length} rules found`);
  });

  it('finds the metric names and label matchers in PromQL', () => {
    expect(
      metricNames(
        'histogram_quantile(0.99, sum by (route, le) (rate(a_bucket{route=~"/api/sync/.*", x="y"}[$__rate_interval]))) > 1e3',
      ),
    ).toEqual(['a_bucket']);
    expect(
      metricNames('sum without (state) (b{s="1"} offset 5m) / ignoring (state) group_left c and on (job) up == bool 0'),
    ).toEqual(['b', 'c', 'up']);
    expect(metricNames('max(d) unless count(e[5m:1m]) or vector(0)')).toEqual(['d', 'e']);
    expect(selectors('x{a="1", b=~"2|3"} / y{c!="4"}')).toEqual([
      {
        name: 'x',
        matchers: [
          { label: 'a', op: '=', value: '1' },
          { label: 'b', op: '=~', value: '2|3' },
        ],
      },
      { name: 'y', matchers: [{ label: 'c', op: '!=', value: '4' }] },
    ]);
    for (const { where, expr } of allExprs) expect(metricNames(expr).length, where).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Against real servers

/** Read-replica metrics are being added to the server; their check stands apart so that the rest is not held up. */
const isReplicaMetric = (name: string) => name.startsWith('lifeline_db_replica_');
const replicaExprs = allExprs.filter(({ expr }) => metricNames(expr).some(isReplicaMetric));
const otherExprs = allExprs.filter(({ expr }) => !metricNames(expr).some(isReplicaMetric));

describe('the names in the alerts and the dashboard are exported', () => {
  const databases: TestDatabase[] = [];
  const servers: ServerProcess[] = [];
  let haproxy: ChildProcess | undefined;
  let haproxyLog = '';
  const exposition: Exposition = { names: new Set(), series: new Map() };

  beforeAll(async () => {
    const haproxyVersion = spawnSync('haproxy', ['-v'], { encoding: 'utf8' });
    if (haproxyVersion.error) {
      throw new Error(
        `cannot run haproxy (${haproxyVersion.error.message}): install HAProxy 2.6 (apt-get install haproxy)`,
      );
    }
    const cloudDb = await createTestDatabase('lifeline_monitoring');
    databases.push(cloudDb);
    const hubDb = await createTestDatabase('lifeline_monitoring_hub');
    databases.push(hubDb);
    // The cloud reads from a "replica" that is its own database, so the replica metrics exist.
    const cloud = await spawnServer({ DATABASE_URL: cloudDb.url, DATABASE_READ_URLS: cloudDb.url });
    servers.push(cloud);
    // A hub whose key the cloud does not know: the upstream metrics exist all the same (state "error").
    const hub = await spawnServer({
      DATABASE_URL: hubDb.url,
      UPSTREAM_URL: cloud.url,
      HUB_API_KEY: 'monitoring-test-unknown-key',
    });
    servers.push(hub);

    // Traffic, so that the labelled series the expressions select on exist.
    const { volunteer } = await seedCommunity(cloud.url);
    const pushed = await volunteer.client.post('/api/sync/push', {
      clientId: 'monitoring-test',
      changes: [createUpdate('monitoring')],
    });
    expect(pushed.status, JSON.stringify(pushed.body)).toBe(200);
    const pulled = await volunteer.client.post('/api/sync/pull', { clientId: 'monitoring-test', cursor: null });
    expect(pulled.status, JSON.stringify(pulled.body)).toBe(200);

    // HAProxy with the shipped configuration: app1 is the cloud server, app2 and app3 are nowhere.
    const statsPort = await freePort();
    haproxy = spawn('haproxy', ['-db', '-f', path.join(ROOT, 'deploy/cloud/haproxy.cfg')], {
      env: {
        ...process.env,
        LIFELINE_BIND: `127.0.0.1:${await freePort()}`,
        LIFELINE_STATS: `127.0.0.1:${statsPort}`,
        LIFELINE_APP1: new URL(cloud.url).host,
        LIFELINE_APP2: `127.0.0.1:${await freePort()}`,
        LIFELINE_APP3: `127.0.0.1:${await freePort()}`,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    haproxy.stdout!.on('data', (chunk: Buffer) => (haproxyLog += chunk.toString()));
    haproxy.stderr!.on('data', (chunk: Buffer) => (haproxyLog += chunk.toString()));
    const haproxyMetrics = await until(
      'HAProxy to serve its metrics',
      async () => {
        const response = await fetch(`http://127.0.0.1:${statsPort}/metrics`);
        return response.ok ? response.text() : undefined;
      },
      15_000,
    ).catch((error: Error) => {
      throw new Error(`${error.message}\n${haproxyLog}`);
    });
    parseExposition(haproxyMetrics, exposition);

    for (const server of servers) {
      const response = await fetch(`${server.url}/metrics`);
      expect(response.status).toBe(200);
      parseExposition(await response.text(), exposition);
    }
  }, 120_000);

  afterAll(async () => {
    haproxy?.kill('SIGKILL');
    await Promise.all(servers.map((server) => server.stop('SIGKILL')));
    await Promise.all(databases.map((database) => database.drop()));
  });

  it('the scrapes have the server, hub and HAProxy metrics', () => {
    for (const name of [
      'lifeline_http_requests_total',
      'lifeline_http_request_duration_seconds_bucket',
      'lifeline_upstream_state',
      'process_cpu_seconds_total',
      'haproxy_server_status',
    ]) {
      expect(exposition.names).toContain(name);
    }
  });

  it('every metric and label value the alerts and panels select on exists', () => {
    const found = problems(exposition, otherExprs);
    expect(found, `not exported:\n  ${found.join('\n  ')}`).toEqual([]);
  });

  it('so do the read-replica metrics (lifeline_db_replica_*, with DATABASE_READ_URLS set)', () => {
    expect(replicaExprs.length).toBeGreaterThan(0);
    const found = problems(exposition, replicaExprs);
    expect(found, `not exported:\n  ${found.join('\n  ')}`).toEqual([]);
  });
});
