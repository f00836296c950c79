#!/usr/bin/env node
// A correct Argus webhook consumer in Node.js, without packages.
//
// Written from the README's "Writing a consumer that passes" alone. Run it
// under the conformance runner:
//
//   bin/conformance run --exec "node examples/node/consumer.js"
'use strict';

const crypto = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');

const WEBHOOK_PATH = '/webhooks/argus';
const PROBE_PATH = '/_conformance/probe';
const TOLERANCE = 300; // seconds, either side of our clock
const MAX_BODY = 1 << 20;
const HANDLED = new Set(['case.created', 'case.updated', 'case.assigned', 'case.closed']);

function signingKey(secret) {
  if (!secret || !secret.startsWith('whsec_')) throw new Error('ARGUS_WEBHOOK_SECRET must start with whsec_');
  return Buffer.from(secret.slice('whsec_'.length), 'base64');
}

// verify returns null when the delivery is authentic and fresh, else why not.
function verify(key, headers, body, now = Date.now() / 1000) {
  const id = headers['webhook-id'];
  const stamp = headers['webhook-timestamp'];
  const sigs = headers['webhook-signature'];
  if (!id || !stamp || !sigs) return 'missing webhook headers';
  if (!/^[0-9]+$/.test(stamp)) return 'malformed webhook-timestamp';
  if (Math.abs(now - Number(stamp)) > TOLERANCE) return 'timestamp outside the tolerance';
  const content = Buffer.concat([Buffer.from(`${id}.${stamp}.`), body]);
  const expected = crypto.createHmac('sha256', key).update(content).digest();
  for (const entry of sigs.split(' ')) {
    const comma = entry.indexOf(',');
    if (comma < 0 || entry.slice(0, comma) !== 'v1') continue;
    const sig = Buffer.from(entry.slice(comma + 1), 'base64');
    if (sig.length === expected.length && crypto.timingSafeEqual(sig, expected)) return null;
  }
  return 'no valid v1 signature';
}

// Store is the durable state: an fsynced append-only log of applied events,
// each line holding the dedupe record and the effects together. Lines
// written together share one fsync (a group commit), so a burst of
// deliveries does not queue behind one disk flush each.
class Store {
  constructor(dir) {
    fs.mkdirSync(dir, { recursive: true });
    this.file = path.join(dir, 'applied.log');
    this.applied = new Map();
    this.cases = new Map();
    if (fs.existsSync(this.file)) {
      for (const line of fs.readFileSync(this.file, 'utf8').split('\n')) {
        try {
          this.replay(JSON.parse(line));
        } catch {
          // a torn last line: never acknowledged, Argus sends it again
        }
      }
    }
    this.fd = fs.openSync(this.file, 'a');
    this.queue = []; // lines waiting for the next commit, with their callbacks
    this.committing = false;
  }

  // replay applies a record to the state in memory. The case only moves
  // forward: a record carries the event's case state, and an older version
  // than the one held changes nothing (here and when the log is replayed).
  replay(rec) {
    this.applied.set(rec.event_id, (this.applied.get(rec.event_id) || 0) + 1);
    if (rec.case) {
      const cur = this.cases.get(rec.case_id);
      if (!cur || rec.case.version > cur.version) this.cases.set(rec.case_id, rec.case);
    }
  }

  isApplied(id) {
    return (this.applied.get(id) || 0) > 0;
  }

  // apply resolves once the record is on disk, and only then shows it.
  apply(id, caseId, state) {
    const rec = { event_id: id };
    if (caseId && state) Object.assign(rec, { case_id: caseId, case: state });
    return new Promise((resolve, reject) => {
      this.queue.push({ rec, resolve, reject });
      if (!this.committing) this.commit();
    });
  }

  commit() {
    this.committing = true;
    const batch = this.queue.splice(0);
    const text = batch.map((b) => JSON.stringify(b.rec) + '\n').join('');
    fs.write(this.fd, text, (err) => {
      const done = (err) => {
        for (const b of batch) {
          if (err) {
            b.reject(err);
          } else {
            this.replay(b.rec);
            b.resolve();
          }
        }
        if (this.queue.length) this.commit();
        else this.committing = false;
      };
      if (err) return done(err);
      fs.fsync(this.fd, done);
    });
  }
}

// Argus calls back into Argus with a client_credentials token.
class Argus {
  constructor(baseURL, clientID, clientSecret) {
    this.baseURL = baseURL.replace(/\/$/, '');
    this.basic = Buffer.from(`${encodeURIComponent(clientID)}:${encodeURIComponent(clientSecret)}`).toString('base64');
    this.token = null;
  }

  async accessToken(fresh) {
    if (this.token && !fresh) return this.token;
    const resp = await fetch(`${this.baseURL}/v1/oauth/token`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Authorization: `Basic ${this.basic}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'cases:read cases:write' }),
      signal: AbortSignal.timeout(5000),
    });
    const out = await resp.json();
    if (!resp.ok || !out.access_token) throw new Error(`token: status ${resp.status}`);
    this.token = out.access_token;
    return this.token;
  }

  async addCaseNote(caseId, body, key) {
    const query = 'mutation($id: ID!, $body: String!) { addCaseNote(caseId: $id, body: $body) { id } }';
    for (const fresh of [false, true]) {
      const resp = await fetch(`${this.baseURL}/v1/graphql`, {
        method: 'POST',
        headers: {
          'Content-Type': 'application/json',
          Authorization: `Bearer ${await this.accessToken(fresh)}`,
          'Idempotency-Key': key,
        },
        body: JSON.stringify({ query, variables: { id: caseId, body } }),
        signal: AbortSignal.timeout(5000),
      });
      if (resp.status === 401 && !fresh) continue;
      if (!resp.ok) throw new Error(`graphql: status ${resp.status}`);
      const out = await resp.json();
      if (out.errors && out.errors.length) throw new Error(`graphql: ${out.errors[0].message}`);
      return;
    }
  }
}

class Consumer {
  constructor(env) {
    this.key = signingKey(env.ARGUS_WEBHOOK_SECRET);
    this.store = new Store(env.ARGUS_STATE_DIR || 'consumer-state');
    this.argus = env.ARGUS_BASE_URL && env.ARGUS_CLIENT_ID
      ? new Argus(env.ARGUS_BASE_URL, env.ARGUS_CLIENT_ID, env.ARGUS_CLIENT_SECRET || '') : null;
    this.inFlight = new Map(); // event id -> the processing of its first copy
    this.pending = 0; // deliveries received and still being processed
  }

  // receive returns the HTTP status to answer.
  async receive(headers, body) {
    if (verify(this.key, headers, body) !== null) return 401;
    const id = headers['webhook-id'];
    let event;
    try {
      event = JSON.parse(body.toString('utf8'));
    } catch {
      return 400;
    }
    if (!event || typeof event !== 'object') return 400;
    if (!HANDLED.has(event.type)) return 204; // acknowledge what we do not handle
    // One copy of an event at a time: later copies wait for the first.
    while (this.inFlight.has(id)) await this.inFlight.get(id).catch(() => {});
    if (this.store.isApplied(id)) return 204; // a duplicate
    const work = this.apply(id, event);
    this.inFlight.set(id, work);
    try {
      await work;
      return 204;
    } catch (err) {
      console.error(`apply ${id} failed: ${err.message}`);
      return 503; // not applied: Argus retries
    } finally {
      this.inFlight.delete(id);
    }
  }

  async apply(id, event) {
    const c = (event.data && event.data.case) || {};
    const state = c.id && typeof c.version === 'number' ? { status: c.status, version: c.version } : null;
    if (event.type === 'case.closed' && this.argus && c.id) {
      await this.argus.addCaseNote(c.id, `Closure synced to the connector (event ${id}).`, `case.closed:${id}`);
    }
    await this.store.apply(id, c.id, state);
  }

  probe() {
    return {
      applied: Object.fromEntries(this.store.applied),
      cases: Object.fromEntries(this.store.cases),
      pending: this.pending,
    };
  }
}

function serve(consumer, host, port) {
  const server = http.createServer((req, res) => {
    const answer = (status, body = '', type = 'text/plain') => {
      // One request per connection: a restarted consumer leaves Argus no
      // kept-alive connection to a dead process.
      res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(body), Connection: 'close' });
      res.end(body);
    };
    if (req.method === 'GET' && req.url === PROBE_PATH) return answer(200, JSON.stringify(consumer.probe()), 'application/json');
    if (req.method !== 'POST' || req.url !== WEBHOOK_PATH) return answer(404);
    const chunks = [];
    let size = 0;
    req.on('data', (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY) return req.destroy();
      chunks.push(chunk);
    });
    req.on('end', async () => {
      consumer.pending++;
      try {
        answer(await consumer.receive(req.headers, Buffer.concat(chunks)));
      } finally {
        consumer.pending--;
      }
    });
  });
  server.listen(port, host, () => console.error(`consumer listening on ${host}:${port}`));
}

serve(new Consumer(process.env), process.env.HOST || '127.0.0.1', Number(process.env.PORT || 8000));
