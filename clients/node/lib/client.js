'use strict';
// A civicgrid channel in Node: the civic.rpc.v1 envelope (from the .proto
// files, loaded at run time by protobufjs) over SP/TCP (sp.js), with the
// deadlines, status codes and retries of clients/README.md. Nothing here
// comes from the C code.
const crypto = require('node:crypto');
const fs = require('node:fs');
const path = require('node:path');
const protobuf = require('protobufjs');
const { SpReqConnection } = require('./sp');

const CODE_NAMES = [
  'OK', 'CANCELLED', 'UNKNOWN', 'INVALID_ARGUMENT', 'DEADLINE_EXCEEDED', 'NOT_FOUND', 'ALREADY_EXISTS',
  'PERMISSION_DENIED', 'RESOURCE_EXHAUSTED', 'FAILED_PRECONDITION', 'ABORTED', 'OUT_OF_RANGE',
  'UNIMPLEMENTED', 'INTERNAL', 'UNAVAILABLE', 'DATA_LOSS', 'UNAUTHENTICATED',
];
const Code = Object.fromEntries(CODE_NAMES.map((n, i) => [n, i]));
const DEFAULT_TIMEOUT_MS = 10000; // what timeout_ms = 0 means on the wire
const MAX_TIMEOUT_MS = 300000; // the servers cap deadlines here
const MAX_MSG = 4 << 20; // a larger request makes the server drop the connection

// CivicError is a call that did not end OK: code (number), codeName
// ('UNAVAILABLE'), message, violations [{field, description}], attempts.
class CivicError extends Error {
  constructor(code, message, violations = [], attempts = 0) {
    const codeName = CODE_NAMES[code] || `CODE_${code}`;
    const extra = violations.map((v) => `; ${v.field}: ${v.description}`).join('');
    super(`${codeName}: ${message}${extra}`);
    this.code = code;
    this.codeName = codeName;
    this.rawMessage = message;
    this.violations = violations;
    this.attempts = attempts;
  }
}

// defaultProtoDir: $CIVIC_PROTO_DIR, else the repository's proto/ next to
// clients/, else an installed share/civicgrid/proto.
function defaultProtoDir() {
  if (process.env.CIVIC_PROTO_DIR) return process.env.CIVIC_PROTO_DIR;
  const repo = path.resolve(__dirname, '..', '..', '..', 'proto');
  if (fs.existsSync(path.join(repo, 'civic'))) return repo;
  for (const prefix of ['/usr/local', '/usr']) {
    const p = path.join(prefix, 'share', 'civicgrid', 'proto');
    if (fs.existsSync(p)) return p;
  }
  throw new Error('no proto/ found: set CIVIC_PROTO_DIR');
}

// loadProtos reads every .proto file under proto/civic (not proto/released)
// into one protobufjs Root. google/protobuf/*.proto come bundled with
// protobufjs.
function loadProtos(protoDir = defaultProtoDir()) {
  const files = [];
  const walk = (dir) => {
    for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory() && e.name !== 'released') walk(path.join(dir, e.name));
      else if (e.name.endsWith('.proto')) files.push(path.relative(protoDir, path.join(dir, e.name)));
    }
  };
  walk(path.join(protoDir, 'civic'));
  const root = new protobuf.Root();
  root.resolvePath = (origin, target) => path.join(protoDir, target);
  root.loadSync(files.sort(), { keepCase: false });
  root.resolveAll();
  return root;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

class Channel {
  // url: tcp://HOST:PORT of the gateway; token: a bearer token, or null for
  // the public methods; root: from loadProtos().
  constructor(url, { token = null, root = null, maxAttempts = 5, connectTimeoutMs = 2000 } = {}) {
    this.url = url;
    this.token = token;
    this.root = root || loadProtos();
    this.maxAttempts = maxAttempts;
    this.connectTimeoutMs = connectTimeoutMs;
    this.Request = this.root.lookupType('civic.rpc.v1.Request');
    this.Response = this.root.lookupType('civic.rpc.v1.Response');
    this.conn = new SpReqConnection(url, { maxMsg: MAX_MSG });
    // call_id: 64-bit, random start, one per attempt.
    this.nextCallId = crypto.randomBytes(8).readBigUInt64BE(0) >> 8n;
    this.lastAttempts = 0; // how many attempts the last call took
  }

  close() {
    this.conn.close();
  }

  // call(method, requestType, request, responseType, opts) resolves with the
  // decoded response message or rejects with a CivicError. method is
  // '/pkg.Service/Method'; the types are names ('civic.gateway.v1.SignUpRequest')
  // or protobufjs Types; request a plain object. opts: timeoutMs (the whole
  // call's deadline, retries included; each attempt carries what is left of
  // it as the envelope's timeout_ms), read (retried on UNAVAILABLE),
  // idempotencyKey (a write with one is retried, with the same key),
  // requestId, metadata, token.
  async call(method, requestType, request, responseType, opts = {}) {
    const reqT = typeof requestType === 'string' ? this.root.lookupType(requestType) : requestType;
    const respT = typeof responseType === 'string' ? this.root.lookupType(responseType) : responseType;
    const payload = Buffer.from(reqT.encode(reqT.fromObject(request)).finish());
    const t = Math.min(opts.timeoutMs || DEFAULT_TIMEOUT_MS, MAX_TIMEOUT_MS);
    const deadline = Date.now() + t;
    const retryable = Boolean(opts.read || opts.idempotencyKey);
    const md = {};
    for (const [k, v] of Object.entries(opts.metadata || {})) {
      if (!k.toLowerCase().startsWith('x-civic-')) md[k.toLowerCase()] = String(v);
    }
    const token = opts.token !== undefined ? opts.token : this.token;
    if (token) md.authorization = `Bearer ${token}`;
    if (opts.idempotencyKey) md['idempotency-key'] = opts.idempotencyKey;
    if (opts.requestId) md['request-id'] = opts.requestId;
    for (let attempt = 1; ; attempt++) {
      let last;
      this.lastAttempts = attempt;
      try {
        return await this.attempt(method, payload, md, deadline, respT);
      } catch (e) {
        if (!(e instanceof CivicError)) throw e;
        last = e;
      }
      last.attempts = attempt;
      if (last.code === Code.UNAVAILABLE && retryable && attempt < this.maxAttempts) {
        // 100 ms doubling to 1 s, with jitter: half of it fixed, half random.
        const base = Math.min(100 * 2 ** (attempt - 1), 1000);
        const delay = base / 2 + Math.random() * (base / 2);
        if (Date.now() + delay < deadline) {
          await sleep(delay);
          continue;
        }
      }
      throw last;
    }
  }

  async attempt(method, payload, md, deadline, respT) {
    let left = deadline - Date.now();
    if (left <= 0) throw new CivicError(Code.DEADLINE_EXCEEDED, 'deadline exceeded before sending');
    if (!this.conn.connected) {
      try {
        await this.conn.connect(Math.min(left, this.connectTimeoutMs));
      } catch (e) {
        throw new CivicError(Code.UNAVAILABLE, `cannot connect: ${e.message}`);
      }
      left = deadline - Date.now();
      if (left <= 0) throw new CivicError(Code.DEADLINE_EXCEEDED, 'deadline exceeded before sending');
    }
    this.nextCallId = (this.nextCallId + 1n) & 0xffffffffffffffffn;
    const callId = this.nextCallId;
    const env = this.Request.encode(this.Request.fromObject({
      method,
      callId: callId.toString(),
      timeoutMs: Math.max(1, Math.floor(left)),
      metadata: md,
      payload,
    })).finish();
    if (env.length > MAX_MSG) {
      throw new CivicError(Code.RESOURCE_EXHAUSTED,
        `request of ${env.length} bytes is over the ${MAX_MSG}-byte message limit`);
    }
    let raw;
    try {
      raw = await this.conn.request(Buffer.from(env), left);
    } catch (e) {
      if (e.kind === 'timeout') throw new CivicError(Code.DEADLINE_EXCEEDED, 'deadline exceeded');
      throw new CivicError(Code.UNAVAILABLE, e.message);
    }
    let resp;
    try {
      resp = this.Response.decode(raw);
    } catch (e) {
      throw new CivicError(Code.INTERNAL, 'malformed response envelope');
    }
    const got = BigInt(resp.callId.toString());
    if (got !== callId) throw new CivicError(Code.INTERNAL, `response for call ${got}, expected ${callId}`);
    if (resp.status && resp.status.code) {
      const v = (resp.status.violations || []).map((x) => ({ field: x.field, description: x.description }));
      throw new CivicError(resp.status.code, resp.status.message || '', v);
    }
    return respT.decode(resp.payload || Buffer.alloc(0));
  }
}

function newIdempotencyKey() {
  return `node-${crypto.randomBytes(12).toString('hex')}`;
}

// toObject: a decoded message as a plain object with canonical-JSON-like
// values (64-bit integers and enums as strings).
function toObject(type, msg) {
  return type.toObject(msg, { longs: String, enums: String, defaults: false, json: true });
}

module.exports = { Channel, CivicError, Code, CODE_NAMES, loadProtos, defaultProtoDir, newIdempotencyKey, toObject };
