// Checks deploy/k8s/ offline (run by tests/containers/test_manifests.sh from a
// directory holding this package's node_modules):
//  - every object validates against its Kubernetes schema (kubernetes-models:
//    types and required fields; it does not refuse unknown fields);
//  - every pod and container carries the "restricted" Pod Security fields
//    (non-root, read-only root filesystem, no privilege escalation, all
//    capabilities dropped, seccomp RuntimeDefault), requests and limits, and
//    probes on the admin port;
//  - each service is a StatefulSet of one with its own volume claim, updated
//    OnDelete, with a governing Service (headless for back ends);
//  - the NetworkPolicy lets only the gateway reach the back ends' RPC ports.
// And, so the checks are known to bite, broken copies must be refused.
//   node check.mjs DIR
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';

const dir = process.argv[2];
const BACKENDS = ['points', 'tasks', 'volunteers'];

function load(dir) {
  const objs = [];
  for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.yaml')).sort()) {
    if (f === 'kustomization.yaml') continue;
    for (const doc of YAML.parseAllDocuments(fs.readFileSync(path.join(dir, f), 'utf8'))) {
      if (doc.errors.length) throw new Error(`${f}: ${doc.errors[0].message}`);
      const o = doc.toJS();
      if (o) objs.push({ file: f, o });
    }
  }
  return objs;
}

async function validateSchema({ file, o }) {
  const mod = await import(`kubernetes-models/${o.apiVersion}`);
  const Model = mod[o.kind];
  if (!Model) return [`${file}: no schema for ${o.apiVersion} ${o.kind}`];
  try {
    new Model(o).validate();
  } catch (e) {
    return [`${file}: ${o.kind}/${o.metadata?.name}: ${e.message}`];
  }
  return [];
}

function checkPolicy(objs) {
  const errs = [];
  const where = (o) => `${o.kind}/${o.metadata?.name}`;
  const stss = objs.map((x) => x.o).filter((o) => o.kind === 'StatefulSet');
  const svcs = objs.map((x) => x.o).filter((o) => o.kind === 'Service');
  for (const name of [...BACKENDS, 'gateway']) {
    const s = stss.find((o) => o.metadata.name === `civic-${name}`);
    if (!s) { errs.push(`no StatefulSet civic-${name}`); continue; }
    const w = where(s);
    if (s.spec.replicas !== 1) errs.push(`${w}: replicas must be 1 (one LMDB writer)`);
    if (s.spec.updateStrategy?.type !== 'OnDelete') errs.push(`${w}: updateStrategy must be OnDelete`);
    if (!(s.spec.volumeClaimTemplates?.length > 0)) errs.push(`${w}: no volumeClaimTemplates`);
    const svc = svcs.find((o) => o.metadata.name === s.spec.serviceName);
    if (!svc) errs.push(`${w}: no Service ${s.spec.serviceName}`);
    else if (BACKENDS.includes(name) && svc.spec.clusterIP !== 'None') errs.push(`Service/${svc.metadata.name}: back ends' Services are headless`);
    const pod = s.spec.template.spec;
    const psc = pod.securityContext ?? {};
    if (pod.hostNetwork || pod.hostPID || pod.hostIPC) errs.push(`${w}: host namespaces`);
    for (const v of pod.volumes ?? []) if (v.hostPath) errs.push(`${w}: hostPath volume ${v.name}`);
    for (const c of [...(pod.initContainers ?? []), ...pod.containers]) {
      const cw = `${w} container ${c.name}`;
      const sc = c.securityContext ?? {};
      const nonRoot = sc.runAsNonRoot ?? psc.runAsNonRoot;
      const user = sc.runAsUser ?? psc.runAsUser;
      const seccomp = (sc.seccompProfile ?? psc.seccompProfile)?.type;
      if (nonRoot !== true) errs.push(`${cw}: runAsNonRoot must be true`);
      if (user === 0) errs.push(`${cw}: runAsUser 0`);
      if (sc.readOnlyRootFilesystem !== true) errs.push(`${cw}: readOnlyRootFilesystem must be true`);
      if (sc.allowPrivilegeEscalation !== false) errs.push(`${cw}: allowPrivilegeEscalation must be false`);
      if (sc.privileged) errs.push(`${cw}: privileged`);
      if (!(sc.capabilities?.drop ?? []).includes('ALL')) errs.push(`${cw}: capabilities must drop ALL`);
      for (const a of sc.capabilities?.add ?? []) if (a !== 'NET_BIND_SERVICE') errs.push(`${cw}: adds capability ${a}`);
      if (!['RuntimeDefault', 'Localhost'].includes(seccomp)) errs.push(`${cw}: seccompProfile must be RuntimeDefault`);
      for (const k of ['requests', 'limits'])
        for (const r of ['cpu', 'memory'])
          if (!c.resources?.[k]?.[r]) errs.push(`${cw}: no resources.${k}.${r}`);
      if (!c.ports?.some((p) => p.name === 'admin')) errs.push(`${cw}: no port named admin`);
      for (const p of ['readinessProbe', 'livenessProbe'])
        if (c[p]?.httpGet?.port !== 'admin') errs.push(`${cw}: ${p} must be an httpGet on the admin port`);
    }
  }
  // Only the gateway reaches the back ends' RPC ports.
  const pols = objs.map((x) => x.o).filter((o) => o.kind === 'NetworkPolicy');
  for (const name of BACKENDS) {
    const app = `civic-${name}`;
    const selects = (p) => {
      const sel = p.spec.podSelector ?? {};
      if (sel.matchLabels) return sel.matchLabels['app.kubernetes.io/name'] === app;
      return (sel.matchExpressions ?? []).some((e) => e.key === 'app.kubernetes.io/name' && e.operator === 'In' && e.values.includes(app));
    };
    const mine = pols.filter(selects);
    if (!mine.some((p) => (p.spec.policyTypes ?? []).includes('Ingress'))) { errs.push(`${app}: no Ingress NetworkPolicy`); continue; }
    for (const p of mine)
      for (const r of p.spec.ingress ?? []) {
        const rpc = !r.ports || r.ports.some((q) => q.port === 'rpc' || q.port === 7000 + BACKENDS.indexOf(name) + 1);
        if (!rpc) continue;
        const ok = (r.from ?? []).length > 0 && r.from.every((f) => !f.namespaceSelector && !f.ipBlock &&
          f.podSelector?.matchLabels?.['app.kubernetes.io/name'] === 'civic-gateway');
        if (!ok) errs.push(`NetworkPolicy/${p.metadata.name}: lets more than the gateway reach ${app}'s RPC port`);
      }
  }
  return errs;
}

async function checkAll(objs) {
  const errs = [];
  for (const x of objs) errs.push(...(await validateSchema(x)));
  errs.push(...checkPolicy(objs));
  return errs;
}

const objs = load(dir);
const errs = await checkAll(objs);
if (errs.length) {
  for (const e of errs) console.error(`FAIL: ${e}`);
  process.exit(1);
}

// The checks bite: each broken copy must be refused.
const clone = () => structuredClone(objs);
const sts = (c, n) => c.find((x) => x.o.kind === 'StatefulSet' && x.o.metadata.name === n).o;
const breakages = {
  // Caught by the schemas alone.
  'a containerPort as a string': (c) => { sts(c, 'civic-points').spec.template.spec.containers[0].ports[0].containerPort = 'rpc'; },
  'a StatefulSet without its selector': (c) => { delete sts(c, 'civic-tasks').spec.selector; },
  'a Service port without its number': (c) => { delete c.find((x) => x.o.kind === 'Service').o.spec.ports[0].port; },
  // Caught by the policy checks.
  'allowPrivilegeEscalation removed': (c) => { delete sts(c, 'civic-gateway').spec.template.spec.containers[0].securityContext.allowPrivilegeEscalation; },
  'a writable root filesystem': (c) => { sts(c, 'civic-volunteers').spec.template.spec.containers[0].securityContext.readOnlyRootFilesystem = false; },
  'two replicas': (c) => { sts(c, 'civic-tasks').spec.replicas = 2; },
  'rolling updates': (c) => { sts(c, 'civic-points').spec.updateStrategy = { type: 'RollingUpdate' }; },
  'back ends open to every pod': (c) => { c.find((x) => x.o.metadata.name === 'civicgrid-backends').o.spec.ingress[0].from = [{ podSelector: {} }]; },
};
for (const [what, f] of Object.entries(breakages)) {
  const c = clone();
  f(c);
  if ((await checkAll(c)).length === 0) {
    console.error(`FAIL: a copy with ${what} passed the checks`);
    process.exit(1);
  }
}
const n = objs.length;
console.log(`k8s: ${n} objects valid; restricted profile, StatefulSets of one, OnDelete, gateway-only NetworkPolicy; ${Object.keys(breakages).length} broken copies refused`);
