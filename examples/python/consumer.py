#!/usr/bin/env python3
"""A correct Argus webhook consumer in Python, standard library only.

Written from the README's "Writing a consumer that passes" alone. Run it
under the conformance runner:

    bin/conformance run --exec "python3 examples/python/consumer.py"
"""

import base64
import hashlib
import hmac
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

WEBHOOK_PATH = "/webhooks/argus"
PROBE_PATH = "/_conformance/probe"
TOLERANCE = 300  # seconds, either side of our clock
MAX_BODY = 1 << 20
HANDLED = {"case.created", "case.updated", "case.assigned", "case.closed"}


def signing_key(secret):
    if not secret.startswith("whsec_"):
        raise ValueError("ARGUS_WEBHOOK_SECRET must start with whsec_")
    return base64.b64decode(secret[len("whsec_"):])


def verify(key, headers, body, now=None):
    """Returns None when the delivery is authentic and fresh, else why not."""
    msg_id = headers.get("webhook-id")
    stamp = headers.get("webhook-timestamp")
    sigs = headers.get("webhook-signature")
    if not msg_id or not stamp or not sigs:
        return "missing webhook headers"
    try:
        ts = int(stamp)
    except ValueError:
        return "malformed webhook-timestamp"
    now = time.time() if now is None else now
    if abs(now - ts) > TOLERANCE:
        return "timestamp outside the tolerance"
    content = msg_id.encode() + b"." + stamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest())
    for entry in sigs.split(" "):
        version, _, sig = entry.partition(",")
        if version == "v1" and hmac.compare_digest(sig.encode(), expected):
            return None
    return "no valid v1 signature"


class Store:
    """The durable state: an fsynced append-only log of applied events,
    each line holding the dedupe record and the effects together. Records
    waiting together share one write and fsync (a group commit: the first
    waiting thread writes for all), so a burst does not queue behind one
    disk flush per delivery."""

    def __init__(self, state_dir):
        os.makedirs(state_dir, exist_ok=True)
        self.path = os.path.join(state_dir, "applied.log")
        self.mu = threading.Lock()
        self.flushed_cond = threading.Condition(self.mu)
        self.applied = {}
        self.cases = {}
        self.waiting = []  # records not yet written
        self.enqueued = 0  # records handed to apply so far
        self.flushed = 0  # records on disk so far
        self.failed = {}  # record number -> the error that kept it off disk
        self.flushing = False
        if os.path.exists(self.path):
            with open(self.path, "rb") as f:
                for line in f:
                    try:
                        self._replay(json.loads(line))
                    except ValueError:
                        pass  # a torn last line: never acknowledged, Argus sends it again
        self.f = open(self.path, "ab")

    def _replay(self, rec):
        # The case only moves forward: an older version changes nothing,
        # here and when the log is replayed.
        self.applied[rec["event_id"]] = self.applied.get(rec["event_id"], 0) + 1
        case = rec.get("case")
        if case:
            cur = self.cases.get(rec["case_id"])
            if cur is None or case["version"] > cur["version"]:
                self.cases[rec["case_id"]] = case

    def is_applied(self, event_id):
        with self.mu:
            return self.applied.get(event_id, 0) > 0

    def apply(self, event_id, case_id, state):
        """Returns once the record is on disk (and only then shows it)."""
        rec = {"event_id": event_id}
        if case_id and state:
            rec["case_id"], rec["case"] = case_id, state
        with self.mu:
            self.waiting.append(rec)
            self.enqueued += 1
            mine = self.enqueued
            while self.flushed < mine:
                if self.flushing:
                    self.flushed_cond.wait()
                    continue
                self.flushing = True
                batch, self.waiting, upto = self.waiting, [], self.enqueued
                self.mu.release()
                err = None
                try:
                    self.f.write(b"".join(json.dumps(r).encode() + b"\n" for r in batch))
                    self.f.flush()
                    os.fsync(self.f.fileno())
                except OSError as e:
                    err = e
                finally:
                    self.mu.acquire()
                first = upto - len(batch) + 1
                for n, r in enumerate(batch, first):
                    if err is None:
                        self._replay(r)
                    else:
                        self.failed[n] = err
                self.flushing, self.flushed = False, upto
                self.flushed_cond.notify_all()
            err = self.failed.pop(mine, None)
        if err is not None:
            raise err

    def snapshot(self):
        with self.mu:
            return dict(self.applied), {k: dict(v) for k, v in self.cases.items()}


class KeyedLocks:
    """One lock per event id, so copies of one event run one at a time."""

    def __init__(self):
        self.mu = threading.Lock()
        self.locks = {}

    def acquire(self, key):
        with self.mu:
            entry = self.locks.setdefault(key, [threading.Lock(), 0])
            entry[1] += 1
        entry[0].acquire()

    def release(self, key):
        with self.mu:
            entry = self.locks[key]
            entry[0].release()
            entry[1] -= 1
            if entry[1] == 0:
                del self.locks[key]


class Argus:
    """Calls back into Argus with a client_credentials token."""

    def __init__(self, base_url, client_id, client_secret, timeout=5):
        self.base_url, self.client_id, self.client_secret = base_url.rstrip("/"), client_id, client_secret
        self.timeout = timeout
        self.mu = threading.Lock()
        self.token = None

    def _token(self, fresh):
        with self.mu:
            if self.token and not fresh:
                return self.token
            form = urllib.parse.urlencode({"grant_type": "client_credentials", "scope": "cases:read cases:write"}).encode()
            basic = base64.b64encode(
                (urllib.parse.quote(self.client_id, safe="") + ":" + urllib.parse.quote(self.client_secret, safe="")).encode()
            ).decode()
            req = urllib.request.Request(self.base_url + "/v1/oauth/token", data=form, method="POST", headers={
                "Content-Type": "application/x-www-form-urlencoded", "Authorization": "Basic " + basic})
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                self.token = json.load(resp)["access_token"]
            return self.token

    def add_case_note(self, case_id, body, key):
        query = "mutation($id: ID!, $body: String!) { addCaseNote(caseId: $id, body: $body) { id } }"
        payload = json.dumps({"query": query, "variables": {"id": case_id, "body": body}}).encode()
        for fresh in (False, True):
            req = urllib.request.Request(self.base_url + "/v1/graphql", data=payload, method="POST", headers={
                "Content-Type": "application/json", "Authorization": "Bearer " + self._token(fresh),
                "Idempotency-Key": key})
            try:
                with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                    out = json.load(resp)
            except urllib.error.HTTPError as e:
                if e.code == 401 and not fresh:
                    continue
                raise
            if out.get("errors"):
                raise RuntimeError("graphql: " + out["errors"][0].get("message", ""))
            return


class Consumer:
    def __init__(self, env):
        self.key = signing_key(env["ARGUS_WEBHOOK_SECRET"])
        self.store = Store(env.get("ARGUS_STATE_DIR") or "consumer-state")
        self.locks = KeyedLocks()
        self.argus = None
        if env.get("ARGUS_BASE_URL") and env.get("ARGUS_CLIENT_ID"):
            self.argus = Argus(env["ARGUS_BASE_URL"], env["ARGUS_CLIENT_ID"], env.get("ARGUS_CLIENT_SECRET", ""))
        self.pending_mu = threading.Lock()
        self.pending = 0  # deliveries received and still being processed

    def receive(self, headers, body):
        """Returns the HTTP status to answer."""
        if verify(self.key, headers, body) is not None:
            return 401
        event_id = headers.get("webhook-id")
        try:
            event = json.loads(body)
        except ValueError:
            return 400
        if not isinstance(event, dict):
            return 400
        if event.get("type") not in HANDLED:
            return 204  # acknowledge what we do not handle
        self.locks.acquire(event_id)
        try:
            if self.store.is_applied(event_id):
                return 204  # a duplicate
            case = (event.get("data") or {}).get("case") or {}
            case_id = case.get("id")
            state = None
            if case_id and "version" in case:
                state = {"status": case.get("status"), "version": case["version"]}
            if event["type"] == "case.closed" and self.argus and case_id:
                try:
                    self.argus.add_case_note(case_id, "Closure synced to the connector (event %s)." % event_id,
                                             "case.closed:" + event_id)
                except Exception as e:  # the effect failed: not applied, Argus retries
                    print("write-back of %s failed: %s" % (event_id, e), file=sys.stderr, flush=True)
                    return 503
            try:
                self.store.apply(event_id, case_id, state)
            except OSError as e:  # not recorded: not applied, Argus retries
                print("recording %s failed: %s" % (event_id, e), file=sys.stderr, flush=True)
                return 503
            return 204
        finally:
            self.locks.release(event_id)

    def probe(self):
        with self.pending_mu:
            pending = self.pending  # read first: what it no longer counts is in the snapshot
        applied, cases = self.store.snapshot()
        return {"applied": applied, "cases": cases, "pending": pending}


def handler(consumer):
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            if self.path != WEBHOOK_PATH:
                return self.answer(404)
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                return self.answer(413)
            body = self.rfile.read(length)
            with consumer.pending_mu:
                consumer.pending += 1
            try:
                status = consumer.receive({k.lower(): v for k, v in self.headers.items()}, body)
            finally:
                with consumer.pending_mu:
                    consumer.pending -= 1
            self.answer(status)

        def do_GET(self):
            if self.path != PROBE_PATH:
                return self.answer(404)
            self.answer(200, json.dumps(consumer.probe()).encode(), "application/json")

        def answer(self, status, body=b"", ctype="text/plain"):
            try:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # Argus gave up waiting: it retries

        def log_message(self, fmt, *args):
            pass

    return Handler


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # deliveries come in bursts, many connections at once


def main():
    consumer = Consumer(os.environ)
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "8000"))
    server = Server((host, port), handler(consumer))
    print("consumer listening on %s:%d" % (host, port), file=sys.stderr, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
