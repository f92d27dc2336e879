// civic.web.browser: the pages in a real browser (Debian's chromium, headless,
// driven by playwright-core) against real services — civic-points,
// civic-tasks and civic-volunteers with their demo campaign, and
// civic-gateway with its web port — on free loopback ports with temporary
// data. A volunteer registers through the page and signs up for a full
// activity (waitlist), another who holds its seat cancels through the page,
// and the first is promoted (the page shows it); the dashboard shows the
// figures the services hold. Screenshots go to the artifacts directory.
//
// node browser_test.js BUILD_DIR SOURCE_DIR ARTIFACTS_DIR
'use strict';

const { chromium } = require('playwright-core');
const { spawn, execFileSync } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');

const [build, source, artifacts] = process.argv.slice(2);
if (!build || !source || !artifacts) {
  console.error('usage: node browser_test.js BUILD_DIR SOURCE_DIR ARTIFACTS_DIR');
  process.exit(2);
}
const bin = (svc) => path.join(build, 'services', svc, 'civic-' + svc);
const civicCli = path.join(build, 'clients', 'cli', 'civic');
const procs = [];
let tmp;

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.unref();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function until(what, fn, ms = 20000) {
  const end = Date.now() + ms;
  let last;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    await sleep(100);
  }
  throw new Error(`timed out waiting for ${what}${last ? ': ' + last.message : ''}`);
}

function start(name, args) {
  const log = path.join(tmp, name + '.log');
  const fd = fs.openSync(log, 'a');
  const p = spawn(bin(name), args, { stdio: ['ignore', 'ignore', fd] });
  fs.closeSync(fd);
  procs.push({ name, p, log });
  return log;
}

async function startStack() {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'civic-test-web-'));
  const key = path.join(tmp, 'internal.key');
  fs.writeFileSync(key, 'a-browser-test-internal-key-of-some-length\n', { mode: 0o600 });
  const ports = {};
  for (const s of ['points', 'tasks', 'volunteers', 'gateway', 'web']) ports[s] = await freePort();
  const common = (svc) => [`--listen=tcp://127.0.0.1:${ports[svc]}`, `--data=${path.join(tmp, svc)}`,
    '--admin-listen=', `--internal-key-file=${key}`, '--unsafe-no-sync'];
  for (const svc of ['points', 'tasks', 'volunteers']) {
    const log = start(svc, [...common(svc), '--demo']);
    await until(`${svc} demo`, () => fs.readFileSync(log, 'utf8').includes('demo.loaded'));
  }
  start('gateway', [...common('gateway'), `--points=tcp://127.0.0.1:${ports.points}`,
    `--tasks=tcp://127.0.0.1:${ports.tasks}`, `--volunteers=tcp://127.0.0.1:${ports.volunteers}`,
    `--web-listen=127.0.0.1:${ports.web}`, `--web-root=${path.join(source, 'web')}`]);
  const base = `http://127.0.0.1:${ports.web}`;
  for (const svc of ['civic.points.v1.PointsService', 'civic.tasks.v1.TasksService',
    'civic.volunteers.v1.VolunteersService'])
    await until(`gateway to reach ${svc}`, async () => {
      const r = await fetch(base + '/v1/civic.rpc.v1.HealthService/Check', {
        method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ service: svc }),
      });
      return r.ok && (await r.json()).status === 'SERVING_STATUS_SERVING';
    });
  const admin = fs.readFileSync(path.join(tmp, 'gateway', 'admin.token'), 'utf8').trim();
  return { base, admin, gatewayUrl: `tcp://127.0.0.1:${ports.gateway}` };
}

function stopStack() {
  for (const { p } of procs.reverse()) if (p.exitCode === null) p.kill('SIGTERM');
}

// api calls the gateway's JSON API; it throws on an HTTP error.
async function api(base, method, body, token) {
  const headers = { 'Content-Type': 'application/json' };
  if (token) headers.Authorization = 'Bearer ' + token;
  const r = await fetch(`${base}/v1/${method}`, { method: 'POST', headers, body: JSON.stringify(body || {}) });
  const j = await r.json();
  if (!r.ok) throw new Error(`${method}: HTTP ${r.status} ${JSON.stringify(j)}`);
  return j;
}

function check(cond, what) {
  if (!cond) throw new Error('check failed: ' + what);
  console.log('ok - ' + what);
}

async function newPage(browser, base, errors) {
  // A phone's screen: the pages are for phones first.
  const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: 'zh-CN',
    timezoneId: 'Asia/Shanghai' });
  const page = await ctx.newPage();
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('response', (r) => { if (r.status() >= 400) errors.push(`HTTP ${r.status()} for ${r.url()}`); });
  page.on('dialog', (d) => d.accept());
  return page;
}

async function register(page, base, name, phone) {
  await page.goto(base + '/');
  await page.waitForSelector('#reg-area option:nth-child(2)', { state: 'attached' });
  await page.fill('input[name=name]', name);
  await page.fill('input[name=phone]', phone);
  await page.selectOption('select[name=kind]', 'VOLUNTEER_KIND_STUDENT');
  await page.selectOption('#reg-area', { index: 1 });
  await page.fill('input[name=community]', '城东花园社区');
  await page.check('input[name=consent]');
  await page.click('#register button[type=submit]');
  await page.waitForSelector('#signed-in:not([hidden])');
  const id = await page.textContent('#me-id');
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('civic.volunteer')));
  check(stored && stored.token && stored.id === id, `${name} registered through the page (volunteer ${id}), token kept in localStorage`);
  return id;
}

const card = (id) => `li[data-activity-id="${id}"]`;

async function main() {
  fs.mkdirSync(artifacts, { recursive: true });
  const { base, admin, gatewayUrl } = await startStack();
  const errors = [];
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    // A full-to-be activity: one seat, the day after tomorrow.
    const startAt = new Date(Date.now() + 2 * 86400000);
    startAt.setUTCMinutes(0, 0, 0);
    const act = (await api(base, 'civic.volunteers.v1.VolunteersService/CreateActivity', {
      activity: { title: '测试：城东花园“三清”（一个名额）', kind: 'ACTIVITY_KIND_THREE_CLEARS', areaId: '1',
        startTime: startAt.toISOString(), endTime: new Date(startAt.getTime() + 3 * 3600000).toISOString(),
        capacity: 1, description: '浏览器测试的活动' },
    }, admin)).activity;

    // Volunteer B takes the seat.
    const pageB = await newPage(browser, base, errors);
    const idB = await register(pageB, base, '李明', '13900000001');
    await pageB.click(`${card(act.id)} button[data-action=signup]`);
    await pageB.waitForSelector(`${card(act.id)} .status[data-state=SIGNUP_STATE_REGISTERED]`);
    check(true, 'B signed up through the page and holds the seat');

    // Volunteer A finds it full and lands on the waitlist.
    const pageA = await newPage(browser, base, errors);
    const idA = await register(pageA, base, '王芳', '13900000002');
    const seats = await pageA.textContent(`${card(act.id)} .seats-left`);
    check(seats.includes('已满'), `the page shows the activity full ("${seats}")`);
    await pageA.click(`${card(act.id)} button[data-action=signup]`);
    await pageA.waitForSelector(`${card(act.id)} .status[data-state=SIGNUP_STATE_WAITLISTED]`);
    const wl = await pageA.textContent(`${card(act.id)} .status`);
    check(wl.includes('候补第 1 位'), `A is on the waitlist, shown as "${wl}"`);
    const note = await pageA.textContent('#notice');
    check(note.includes('候补') && note.includes('第 1 位'), `A is told: "${note}"`);
    await pageA.screenshot({ path: path.join(artifacts, 'volunteer-waitlisted.png'), fullPage: true });

    // B cancels through the page; A is promoted and A's page shows it.
    await pageB.click(`${card(act.id)} button[data-action=cancel]`);
    await pageB.waitForSelector(`${card(act.id)} button[data-action=signup]`);
    check((await pageB.textContent('#notice')).includes('已取消'), 'B cancelled through the page');
    await pageB.screenshot({ path: path.join(artifacts, 'volunteer-cancelled.png'), fullPage: true });
    await pageA.click('#refresh');
    await pageA.waitForSelector(`${card(act.id)} .status[data-state=SIGNUP_STATE_REGISTERED]`);
    const promoted = await pageA.textContent(`${card(act.id)} .status`);
    check(promoted.includes('已报名'), `A's page shows the promotion: "${promoted}"`);
    await pageA.screenshot({ path: path.join(artifacts, 'volunteer-promoted.png'), fullPage: true });
    // …and the services agree.
    const su = (await api(base, 'civic.volunteers.v1.VolunteersService/ListSignups', { activityId: act.id }, admin)).signups;
    const stateOf = (vid) => (su.find((s) => s.volunteerId === vid) || {}).state;
    check(stateOf(idA) === 'SIGNUP_STATE_REGISTERED' && stateOf(idB) === 'SIGNUP_STATE_CANCELLED',
      `the volunteers service holds A registered and B cancelled`);
    const got = (await api(base, 'civic.volunteers.v1.VolunteersService/GetActivity', { id: act.id }, admin)).activity;
    check(got.registered === 1 && !got.waitlisted, 'the activity has its one seat taken and no waitlist');

    // The dashboard, with a viewer token pasted in.
    const viewer = (await api(base, 'civic.gateway.v1.GatewayService/CreateToken',
      { principal: '看板测试', role: 'ROLE_VIEWER', ttlSeconds: 3600 }, admin)).secret;
    const dash = await newPage(browser, base, errors);
    await dash.setViewportSize({ width: 1280, height: 900 });
    await dash.goto(base + '/dashboard.html');
    await dash.fill('#token', viewer);
    await dash.click('#token-form button[type=submit]');
    await dash.waitForSelector('#figures tbody tr');
    await dash.waitForSelector('#map-svg circle');
    const want = await api(base, 'civic.gateway.v1.GatewayService/GetDashboard', {}, viewer);
    const shown = await dash.$$eval('#figures tbody tr', (trs) => trs.map((tr) => {
      const o = { areaId: tr.dataset.areaId };
      for (const td of tr.querySelectorAll('td[data-k]')) o[td.dataset.k] = td.textContent;
      return o;
    }));
    check(shown.length === want.areas.length && want.areas.length > 0, `the dashboard shows all ${want.areas.length} areas`);
    for (const a of want.areas) {
      const s = shown.find((x) => x.areaId === a.areaId);
      for (const k of ['points', 'patrolledToday', 'problemsOpen', 'problemsOverdue', 'problemsClosedToday', 'volunteersActive'])
        if (String(a[k] || 0) !== s[k]) throw new Error(`area ${a.areaId} ${k}: page ${s[k]}, services ${a[k] || 0}`);
      const works = Number(a.works) > 0 ? (Number(a.worksPercentDone) || 0).toFixed(1) + '%' : '—';
      if (works !== s.worksPercentDone) throw new Error(`area ${a.areaId} works: page ${s.worksPercentDone}, services ${works}`);
      if ((Number(a.volunteerHoursThisWeek) || 0).toFixed(1) !== s.volunteerHoursThisWeek) throw new Error(`area ${a.areaId} hours`);
    }
    check(true, 'every figure on the dashboard matches GetDashboard over HTTP');
    // The same figures through the binary port, with the civic CLI.
    const cli = JSON.parse(execFileSync(civicCli, ['--addr', gatewayUrl, '--token', viewer, '-o', 'json',
      'dashboard', 'show'], { encoding: 'utf8' }));
    const sum = (areas, k) => areas.reduce((n, a) => n + (Number(a[k]) || 0), 0);
    check(sum(cli.areas, 'problemsOpen') === sum(want.areas, 'problemsOpen') &&
      sum(cli.areas, 'points') === sum(want.areas, 'points'), 'the civic CLI reads the same dashboard');
    // The map: one dot per located point.
    const points = [];
    for (let pageToken = ''; ;) {
      const r = await api(base, 'civic.points.v1.PointsService/ListPoints', { includeArchived: true, pageSize: 1000, pageToken }, viewer);
      points.push(...(r.points || []));
      if (!(pageToken = r.nextPageToken)) break;
    }
    const located = points.filter((p) => p.location && (p.location.lat || p.location.lng)).length;
    const dots = await dash.$$eval('#map-svg circle', (c) => c.length);
    check(dots === located && dots > 0, `the map draws ${dots} points, as many as ListPoints has with a location`);
    const patrolledDots = await dash.$$eval('#map-svg circle[data-state=patrolled]', (c) => c.length);
    check(patrolledDots <= sum(want.areas, 'patrolledToday'), `patrolled dots (${patrolledDots}) agree with coverage`);
    check(await dash.$$eval('#chart-coverage rect', (r) => r.length) > 0, 'the charts are drawn');
    await dash.screenshot({ path: path.join(artifacts, 'dashboard.png'), fullPage: true });
    await dash.setViewportSize({ width: 390, height: 844 });
    await dash.screenshot({ path: path.join(artifacts, 'dashboard-phone.png'), fullPage: true });

    check(errors.length === 0, 'no errors in the pages\' consoles (CSP violations included)' +
      (errors.length ? ': ' + errors.join(' | ') : ''));
  } finally {
    await browser.close();
    stopStack();
  }
}

main().then(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  console.log('civic.web.browser: passed; screenshots in ' + artifacts);
}, (e) => {
  console.error('civic.web.browser: FAILED: ' + (e && e.stack ? e.stack : e));
  stopStack();
  for (const { name, log } of procs) {
    try {
      const lines = fs.readFileSync(log, 'utf8').trim().split('\n').slice(-15);
      console.error(`--- ${name} log (last lines):\n` + lines.join('\n'));
    } catch (err) { /* no log */ }
  }
  process.exit(1);
});
