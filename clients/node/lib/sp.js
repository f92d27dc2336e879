'use strict';
// A minimal SP (scalability protocols) REQ client over TCP, as nng's rep0
// speaks it: no nng, no native code.
//
// On connect each side sends 8 bytes: 00 'S' 'P' 00, its protocol id as a
// 16-bit big-endian number (req0 = 0x30, rep0 = 0x31) and two zero bytes.
// Then every message is framed as an 8-byte big-endian length and that many
// bytes. A REQ message starts with a 4-byte request id whose high bit is set;
// the REP peer sends that same id back in front of its reply. Several
// requests may be outstanding on one connection: replies are matched by id.
const net = require('node:net');

const PROTO_REQ0 = 0x30;
const PROTO_REP0 = 0x31;

class SpError extends Error {
  // kind: 'unavailable' (not connected, refused, lost) or 'timeout'.
  constructor(kind, message) {
    super(message);
    this.kind = kind;
  }
}

function parseTcpUrl(url) {
  const m = /^tcp:\/\/(\[[^\]]+\]|[^:/]+):(\d+)$/.exec(url);
  if (!m) throw new Error(`only tcp://HOST:PORT addresses are supported: ${url}`);
  return { host: m[1].replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

class SpReqConnection {
  constructor(url, { maxMsg = 4 << 20 } = {}) {
    this.url = url;
    this.addr = parseTcpUrl(url);
    this.maxMsg = maxMsg;
    this.sock = null;
    this.ready = false;
    this.connecting = null;
    this.pending = new Map(); // request id → { resolve, reject, timer }
    this.nextId = (Math.random() * 0x7fffffff) >>> 0;
    this.buf = Buffer.alloc(0);
  }

  get connected() {
    return this.ready;
  }

  // connect resolves once the handshake is done; rejects with
  // SpError('unavailable') when refused, reset or not done in timeoutMs.
  connect(timeoutMs) {
    if (this.ready) return Promise.resolve();
    if (this.connecting) return this.connecting;
    this.connecting = new Promise((resolve, reject) => {
      const sock = net.connect(this.addr.port, this.addr.host);
      sock.setNoDelay(true);
      let handshaken = false;
      const fail = (why) => {
        clearTimeout(timer);
        sock.destroy();
        this.connecting = null;
        reject(new SpError('unavailable', `${this.url}: ${why}`));
      };
      const timer = setTimeout(() => fail('connect timed out'), Math.max(1, timeoutMs));
      sock.once('connect', () => {
        const hs = Buffer.from([0x00, 0x53, 0x50, 0x00, 0x00, PROTO_REQ0, 0x00, 0x00]);
        sock.write(hs);
      });
      sock.on('error', (err) => {
        if (!handshaken) fail(err.code || err.message);
        // After the handshake, 'close' follows and fails what is pending.
      });
      sock.on('close', () => {
        if (!handshaken) {
          fail('closed during the handshake');
          return;
        }
        if (this.sock === sock) this.lost('connection closed');
      });
      sock.on('data', (chunk) => {
        this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
        if (!handshaken) {
          if (this.buf.length < 8) return;
          const h = this.buf.subarray(0, 8);
          if (h[0] !== 0 || h[1] !== 0x53 || h[2] !== 0x50 || h[3] !== 0 || h.readUInt16BE(4) !== PROTO_REP0 ||
              h[6] !== 0 || h[7] !== 0) {
            fail('the peer is not an SP rep0 socket');
            return;
          }
          this.buf = this.buf.subarray(8);
          handshaken = true;
          clearTimeout(timer);
          this.sock = sock;
          this.ready = true;
          this.connecting = null;
          resolve();
        }
        this.drain();
      });
    });
    return this.connecting;
  }

  // drain takes every whole frame out of the buffer.
  drain() {
    while (this.ready && this.buf.length >= 8) {
      const len = this.buf.readBigUInt64BE(0);
      if (len > BigInt(this.maxMsg + 64) || len < 4n) {
        this.lost(`bad frame of ${len} bytes`);
        return;
      }
      const n = Number(len);
      if (this.buf.length < 8 + n) return;
      const id = this.buf.readUInt32BE(8);
      const body = Buffer.from(this.buf.subarray(12, 8 + n));
      this.buf = this.buf.subarray(8 + n);
      const p = this.pending.get(id);
      if (p) { // a reply nobody waits for any more (timed out) is dropped
        this.pending.delete(id);
        clearTimeout(p.timer);
        p.resolve(body);
      }
    }
  }

  // lost fails every pending request: the connection is gone, and whether
  // the server ran them is unknown.
  lost(why) {
    if (this.sock) this.sock.destroy();
    this.sock = null;
    this.ready = false;
    this.buf = Buffer.alloc(0);
    const pend = [...this.pending.values()];
    this.pending.clear();
    for (const p of pend) {
      clearTimeout(p.timer);
      p.reject(new SpError('unavailable', `${this.url}: ${why}`));
    }
  }

  // request sends body and resolves with the reply's body; rejects with
  // SpError('timeout') after timeoutMs, SpError('unavailable') if the
  // connection is not there or goes.
  request(body, timeoutMs) {
    if (!this.ready) return Promise.reject(new SpError('unavailable', `${this.url}: not connected`));
    this.nextId = (this.nextId + 1) & 0x7fffffff;
    const id = (this.nextId | 0x80000000) >>> 0;
    const head = Buffer.alloc(12);
    head.writeBigUInt64BE(BigInt(body.length + 4), 0);
    head.writeUInt32BE(id, 8);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new SpError('timeout', 'deadline exceeded'));
      }, Math.max(1, timeoutMs));
      this.pending.set(id, { resolve, reject, timer });
      this.sock.write(Buffer.concat([head, body]));
    });
  }

  close() {
    if (this.sock) this.sock.destroy();
    this.sock = null;
    this.ready = false;
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
  }
}

module.exports = { SpReqConnection, SpError, parseTcpUrl };
