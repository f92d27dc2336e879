#!/usr/bin/env node
'use strict';
// civicgrid example: a volunteer registers themselves through the gateway,
// signs up for an activity and prints the dashboard.
//
//   node clients/node/example.js [--addr tcp://127.0.0.1:7000] [--activity-id N]
//        [--name NAME] [--phone 139XXXXXXXX] [--timeout-ms MS] [--json]
//
// Self-registration and the list of activities are public, so no token is
// needed to begin; SelfRegister returns the volunteer's own token, which the
// sign-up and the dashboard use.
const { Channel, CivicError, newIdempotencyKey, toObject } = require('./lib');

const GW = '/civic.gateway.v1.GatewayService/';
const VOL = '/civic.volunteers.v1.VolunteersService/';

function parseArgs(argv) {
  const a = {
    addr: process.env.CIVIC_ADDR || 'tcp://127.0.0.1:7000',
    activityId: 0,
    name: '示例志愿者',
    phone: `139${String(Math.floor(Math.random() * 1e8)).padStart(8, '0')}`,
    community: '示例社区',
    timeoutMs: 5000,
    json: false,
  };
  for (let i = 2; i < argv.length; i++) {
    const k = argv[i];
    const val = () => {
      if (i + 1 >= argv.length) throw new Error(`${k} needs a value`);
      return argv[++i];
    };
    if (k === '--addr') a.addr = val();
    else if (k === '--activity-id') a.activityId = Number(val());
    else if (k === '--name') a.name = val();
    else if (k === '--phone') a.phone = val();
    else if (k === '--community') a.community = val();
    else if (k === '--timeout-ms') a.timeoutMs = Number(val());
    else if (k === '--json') a.json = true;
    else throw new Error(`unknown flag ${k} (see the comment at the top of example.js)`);
  }
  return a;
}

// width: terminal columns (Chinese takes two each).
const width = (s) => [...s].reduce((n, c) => n + (/[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\ufe30-\ufe4f\uff00-\uff60\uffe0-\uffe6]/u.test(c) ? 2 : 1), 0);
const pad = (s, w) => s + ' '.repeat(Math.max(0, w - width(s)));
const num = (x) => Number(x || 0);

async function main() {
  const a = parseArgs(process.argv);
  const t = a.timeoutMs;
  const ch = new Channel(a.addr);
  try {
    const root = ch.root;
    // The activity: the one asked for, else the first open one that has not
    // started yet (the list is in order of end time).
    const list = await ch.call(VOL + 'ListActivities', 'civic.volunteers.v1.ListActivitiesRequest',
      { pageSize: 200 }, 'civic.volunteers.v1.ListActivitiesResponse', { read: true, timeoutMs: t });
    const now = Date.now() / 1000;
    const act = list.activities.find((x) => (a.activityId ? num(x.id) === a.activityId
      : x.state === 1 /* ACTIVITY_STATE_OPEN */ && num(x.startTime && x.startTime.seconds) > now));
    if (!act) throw new Error(a.activityId ? 'no such activity' : 'no open activity to sign up for');

    // SelfRegister is a write without an idempotency key: never retried (a
    // second attempt could find the phone already registered).
    const reg = await ch.call(GW + 'SelfRegister', 'civic.gateway.v1.SelfRegisterRequest', {
      volunteer: {
        name: a.name, phone: a.phone, kind: 'VOLUNTEER_KIND_RESIDENT', areaId: act.areaId,
        community: a.community, consent: true,
      },
    }, 'civic.gateway.v1.SelfRegisterResponse', { timeoutMs: t });
    ch.token = reg.token; // from here on, the volunteer acts as themselves
    // A write with an idempotency key: retried on UNAVAILABLE, applied once.
    const su = await ch.call(GW + 'SignUp', 'civic.gateway.v1.SignUpRequest', { activityId: act.id },
      'civic.gateway.v1.SignUpResponse', { idempotencyKey: newIdempotencyKey(), timeoutMs: t });
    const dash = await ch.call(GW + 'GetDashboard', 'civic.gateway.v1.GetDashboardRequest', {},
      'civic.gateway.v1.GetDashboardResponse', { read: true, timeoutMs: t });

    const T = (n) => root.lookupType(n);
    if (a.json) {
      console.log(JSON.stringify({
        volunteer: toObject(T('civic.volunteers.v1.Volunteer'), reg.volunteer),
        activity: toObject(T('civic.volunteers.v1.Activity'), act),
        signup: toObject(T('civic.gateway.v1.SignUpResponse'), su),
        dashboard: toObject(T('civic.gateway.v1.GetDashboardResponse'), dash),
      }));
      return;
    }
    const v = reg.volunteer;
    const until = new Date(num(reg.expireTime && reg.expireTime.seconds) * 1000).toISOString();
    console.log(`registered volunteer ${v.id}: ${v.name}, ${v.phone}, area ${v.areaId} (token until ${until})`);
    const SignupState = root.lookupEnum('civic.volunteers.v1.SignupState');
    const where = su.registered ? `a seat (${act.registered} of ${act.capacity} taken before)`
      : su.waitlisted ? `waitlist position ${su.position}`
        : SignupState.valuesById[su.signup.state];
    console.log(`signed up for activity ${act.id} 「${act.title}」: ${where}${su.existing ? ' (already signed up)' : ''}, sign-up ${su.signup.id}`);
    console.log(`dashboard for ${dash.localDay}:`);
    console.log(`  ${'area'.padEnd(4)} ${pad('name', 18)} ${'points'.padStart(6)} ${'patrolled'.padStart(10)} ${'open'.padStart(6)} ${'overdue'.padStart(8)} ${'closed'.padStart(8)} ${'hours'.padStart(8)} ${'volunteers'.padStart(10)}`);
    for (const ar of dash.areas) {
      const share = `${String(ar.patrolledToday).padStart(5)} ${(100 * ar.patrolledShare).toFixed(0).padStart(3)}%`;
      console.log(`  ${String(ar.areaId).padEnd(4)} ${pad(ar.name, 18)} ${String(ar.points).padStart(6)} ${share} ${String(ar.problemsOpen).padStart(6)} ${String(ar.problemsOverdue).padStart(8)} ${String(ar.problemsClosedToday).padStart(8)} ${ar.volunteerHoursThisWeek.toFixed(1).padStart(8)} ${String(ar.volunteersActive).padStart(10)}`);
    }
    const down = dash.parts.filter((p) => !p.available).map((p) => `${p.name} (${p.reason})`);
    if (down.length) console.log(`  unavailable: ${down.join(', ')}`);
  } finally {
    ch.close();
  }
}

main().catch((e) => {
  if (e instanceof CivicError) {
    console.error(`error: ${e.message} (after ${e.attempts} attempt${e.attempts === 1 ? '' : 's'})`);
  } else {
    console.error(`error: ${e.message}`);
  }
  process.exit(1);
});
