'use strict';
// One call with clients/node's library, for example_client.sh:
//   node node_probe.js URL TOKEN KIND TIMEOUT_MS [MAX_ATTEMPTS]  →  prints "CODE_NAME ATTEMPTS ELAPSED_MS"
// KIND as in py_probe.py.
const path = require('node:path');
const { Channel, CivicError } = require(path.join(__dirname, '..', '..', 'clients', 'node', 'lib'));

const [url, token, kind, timeoutMs, maxAttempts = '5'] = process.argv.slice(2);
const calls = {
  dashboard: ['/civic.gateway.v1.GatewayService/GetDashboard', 'civic.gateway.v1.GetDashboardRequest', {},
    'civic.gateway.v1.GetDashboardResponse', true],
  problems: ['/civic.tasks.v1.TasksService/ListProblems', 'civic.tasks.v1.ListProblemsRequest', {},
    'civic.tasks.v1.ListProblemsResponse', true],
  activities: ['/civic.volunteers.v1.VolunteersService/ListActivities', 'civic.volunteers.v1.ListActivitiesRequest',
    {}, 'civic.volunteers.v1.ListActivitiesResponse', true],
  'signup-nokey': ['/civic.gateway.v1.GatewayService/SignUp', 'civic.gateway.v1.SignUpRequest',
    { activityId: 2, volunteerId: 1 }, 'civic.gateway.v1.SignUpResponse', false],
};
const [method, reqT, req, respT, read] = calls[kind];
const ch = new Channel(url, { token: token || null, maxAttempts: Number(maxAttempts) });
const start = Date.now();
ch.call(method, reqT, req, respT, { timeoutMs: Number(timeoutMs), read })
  .then(() => console.log('OK', ch.lastAttempts, Date.now() - start))
  .catch((e) => {
    if (!(e instanceof CivicError)) throw e;
    console.error(`  node: ${e.message}`);
    console.log(e.codeName, e.attempts, Date.now() - start);
  })
  .finally(() => ch.close());
