#!/usr/bin/env python3
"""Checks the double's wire protocol where kubectl does not reach: watch
replay through selectors, BOOKMARKs, timeoutSeconds, the in-stream 410
after a compaction, drop-watches (no final chunk), down/up and restart with
the same objects and resourceVersion, expired continue tokens, initial
events, optimistic concurrency, Events POST/PATCH, and bad input.
Starts its own double; prints ok/FAIL lines and "protocol: N passed, N failed".
"""

import http.client
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time
import urllib.parse

HERE = os.path.dirname(os.path.abspath(__file__))
results = {"passed": 0, "failed": 0}


def check(name, ok, detail=""):
    key = "passed" if ok else "failed"
    results[key] += 1
    print(f"{'ok  ' if ok else 'FAIL'} - {name}")
    if not ok and detail:
        print(f"     {detail}")


class Client:
    """Requests to the double's API and control ports."""

    def __init__(self, d):
        self.d = d
        ready = json.load(open(os.path.join(d, "ready")))
        self.port, self.control = ready["port"], ready["controlPort"]
        self.token = open(os.path.join(d, "token")).read().strip()
        self.ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.crt"))

    def conn(self, timeout=10):
        return http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=timeout)

    def api(self, method, path, body=None, ctype="application/json"):
        c = self.conn()
        headers = {"Authorization": f"Bearer {self.token}"}
        if body is not None:
            headers["Content-Type"] = ctype
            body = json.dumps(body).encode() if not isinstance(body, bytes) else body
        c.request(method, path, body=body, headers=headers)
        r = c.getresponse()
        doc = json.loads(r.read() or b"null")
        c.close()
        return r.status, doc

    def watch(self, path, timeout=10):
        """An open watch: (connection, response)."""
        c = self.conn(timeout)
        c.request("GET", path, headers={"Authorization": f"Bearer {self.token}"})
        return c, c.getresponse()

    def ctl(self, method, path, body=None):
        c = http.client.HTTPConnection("127.0.0.1", self.control, timeout=30)
        c.request(method, path, body=json.dumps(body).encode() if body is not None else None)
        r = c.getresponse()
        doc = json.loads(r.read())
        c.close()
        if r.status != 200:
            raise RuntimeError(f"control {method} {path}: {r.status} {doc}")
        return doc


def events(resp, n, deadline=5.0):
    """Up to n watch events (fewer if the stream ends); ('END', 'clean') marks
    the final chunk, ('END', 'abrupt') a stream cut without it."""
    out = []
    end = time.monotonic() + deadline
    buf = getattr(resp, "pending", b"")
    while len(out) < n and time.monotonic() < end:
        if b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            out.append(json.loads(line))
            continue
        try:
            data = resp.read1(65536)
        except http.client.IncompleteRead:
            out.append(("END", "abrupt"))
            break
        except (socket.timeout, TimeoutError):
            break
        except (OSError, http.client.HTTPException):
            out.append(("END", "abrupt"))
            break
        if not data:
            out.append(("END", "clean" if not buf else "abrupt"))
            break
        buf += data
    resp.pending = buf
    return out


def svc(name, ns="p", labels=None, ip="10.96.5.1"):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": ns, "labels": labels or {}},
            "spec": {"clusterIP": ip, "ports": [{"port": 80}]}}


def kinds(evs):
    return [e["type"] if isinstance(e, dict) else e[0] for e in evs]


def main():
    work = tempfile.mkdtemp()
    d = os.path.join(work, "state")
    proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_apiserver.py"), "serve", "--state-dir", d,
                             "--bookmark-interval", "0.5"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        for _ in range(300):
            if os.path.exists(os.path.join(d, "ready")):
                break
            time.sleep(0.1)
        cl = Client(d)
        run(cl)
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)
    print(f"protocol: {results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


def run(cl):
    code, lst = cl.api("GET", "/api/v1/services")
    check("list: a ServiceList with a string resourceVersion",
          code == 200 and lst["kind"] == "ServiceList" and lst["metadata"]["resourceVersion"].isdigit(), lst)
    rv0 = lst["metadata"]["resourceVersion"]

    # selector transitions, live
    q = urllib.parse.urlencode({"watch": "true", "resourceVersion": rv0, "labelSelector": "app=x"})
    c, r = cl.watch(f"/api/v1/services?{q}")
    check("watch: 200, chunked, application/json",
          r.status == 200 and r.getheader("Transfer-Encoding") == "chunked"
          and r.getheader("Content-Type") == "application/json")
    cl.ctl("PUT", "/objects", svc("t", labels={"app": "x"}))
    cl.ctl("PUT", "/objects", svc("t", labels={"app": "z"}))
    cl.ctl("PUT", "/objects", svc("t", labels={"app": "x"}))
    cl.ctl("PUT", "/objects", svc("other", labels={"app": "z"}))
    cl.ctl("DELETE", "/objects/svc/p/t")
    live = events(r, 4)
    c.close()
    check("watch: an object leaving the selector is DELETED, re-entering ADDED",
          kinds(live) == ["ADDED", "DELETED", "ADDED", "DELETED"], kinds(live))
    rvs = [int(e["object"]["metadata"]["resourceVersion"]) for e in live if isinstance(e, dict)]
    check("watch: events carry increasing resourceVersions", rvs == sorted(rvs) and len(set(rvs)) == 4, rvs)
    check("watch: event objects have kind and apiVersion",
          all(e["object"].get("kind") == "Service" and e["object"].get("apiVersion") == "v1" for e in live))

    # replay from the old resourceVersion
    c, r = cl.watch(f"/api/v1/services?{q}")
    replay = events(r, 4)
    c.close()
    check("watch from resourceVersion N replays the same history", replay == live, kinds(replay))

    # no resourceVersion: current objects as ADDED
    c, r = cl.watch("/api/v1/namespaces/p/services?watch=1")
    first = events(r, 1)
    c.close()
    check("watch without resourceVersion starts with ADDED for current objects",
          kinds(first) == ["ADDED"] and first[0]["object"]["metadata"]["name"] == "other", first)

    # bookmarks
    _, lst = cl.api("GET", "/api/v1/services")
    c, r = cl.watch(f"/api/v1/services?watch=true&allowWatchBookmarks=true&resourceVersion={lst['metadata']['resourceVersion']}")
    bm = events(r, 1, 3)
    c.close()
    check("allowWatchBookmarks: a BOOKMARK of kind Service at the current resourceVersion",
          kinds(bm) == ["BOOKMARK"] and bm[0]["object"]["kind"] == "Service"
          and bm[0]["object"]["metadata"] == {"resourceVersion": lst["metadata"]["resourceVersion"]}, bm)

    # timeoutSeconds
    t0 = time.monotonic()
    c, r = cl.watch(f"/api/v1/services?watch=true&timeoutSeconds=1&resourceVersion={lst['metadata']['resourceVersion']}")
    end = events(r, 5, 5)
    took = time.monotonic() - t0
    c.close()
    check(f"timeoutSeconds=1 ends the stream cleanly ({took:.1f}s)", end == [("END", "clean")] and took < 3, end)

    # initial events (streaming list)
    c, r = cl.watch("/api/v1/services?watch=true&sendInitialEvents=true&allowWatchBookmarks=true"
                    "&resourceVersionMatch=NotOlderThan&resourceVersion=0")
    init = events(r, 2)
    c.close()
    check("sendInitialEvents: ADDED then a BOOKMARK marked k8s.io/initial-events-end",
          kinds(init) == ["ADDED", "BOOKMARK"]
          and init[1]["object"]["metadata"].get("annotations") == {"k8s.io/initial-events-end": "true"}, init)

    # drop-watches: no final chunk
    c, r = cl.watch(f"/api/v1/services?watch=true&resourceVersion={lst['metadata']['resourceVersion']}")
    time.sleep(0.3)
    cl.ctl("POST", "/drop-watches")
    dropped = events(r, 1)
    c.close()
    check("drop-watches closes the stream without a final chunk", dropped == [("END", "abrupt")], dropped)

    # paging and continue tokens
    for i in range(5):
        cl.ctl("PUT", "/objects", svc(f"page-{i}", ns="pg"))
    _, p1 = cl.api("GET", "/api/v1/namespaces/pg/services?limit=2")
    cl.ctl("PUT", "/objects", svc("page-9", ns="pg"))
    tok = p1["metadata"].get("continue")
    _, p2 = cl.api("GET", f"/api/v1/namespaces/pg/services?limit=2&continue={tok}")
    _, p3 = cl.api("GET", f"/api/v1/namespaces/pg/services?limit=2&continue={p2['metadata'].get('continue')}")
    names = [o["metadata"]["name"] for p in (p1, p2, p3) for o in p["items"]]
    check("paging: pages come from one snapshot (a later create is not in it)",
          names == [f"page-{i}" for i in range(5)] and "continue" not in p3["metadata"]
          and p1["metadata"]["resourceVersion"] == p3["metadata"]["resourceVersion"]
          and p1["metadata"].get("remainingItemCount") == 3, (names, p3["metadata"]))
    check("list items carry no kind/apiVersion (as the real server)",
          all("kind" not in o and "apiVersion" not in o for o in p1["items"]))
    _, p1 = cl.api("GET", "/api/v1/namespaces/pg/services?limit=2")
    old_rv = p1["metadata"]["resourceVersion"]
    cl.ctl("PUT", "/objects", svc("page-8", ns="pg"))
    cl.ctl("POST", "/compact")
    code, doc = cl.api("GET", f"/api/v1/namespaces/pg/services?limit=2&continue={p1['metadata']['continue']}")
    check("a continue token from before a compaction gets 410 Expired",
          code == 410 and doc.get("reason") == "Expired", (code, doc))

    # 410 in-stream
    c, r = cl.watch(f"/api/v1/services?watch=true&resourceVersion={old_rv}")
    expired = events(r, 2)
    c.close()
    e0 = expired[0] if expired and isinstance(expired[0], dict) else {}
    obj = e0.get("object", {})
    check("watch from a compacted resourceVersion: in-stream ERROR 410 Expired in a 200, then the end",
          r.status == 200 and e0.get("type") == "ERROR" and obj.get("code") == 410
          and obj.get("reason") == "Expired" and obj.get("kind") == "Status"
          and obj.get("message", "").startswith(f"too old resource version: {old_rv} (")
          and expired[1] == ("END", "clean"), expired)

    # down / up: same objects and resourceVersion
    _, before = cl.api("GET", "/api/v1/services")
    cl.ctl("POST", "/down?seconds=1.5")
    try:
        s = socket.create_connection(("127.0.0.1", cl.port), timeout=2)
        s.close()
        refused = False
    except OSError:
        refused = True
    check("down: connections are refused", refused)
    time.sleep(2)
    _, after = cl.api("GET", "/api/v1/services")
    check("down?seconds: back up with the same objects and resourceVersion",
          after == before, (before["metadata"], after["metadata"]))

    # restart with compaction
    rv_before = before["metadata"]["resourceVersion"]
    cl.ctl("DELETE", "/objects/svc/pg/page-0")
    c, r = cl.watch(f"/api/v1/services?watch=true&resourceVersion={rv_before}")
    cl.ctl("POST", "/restart?compact=1")
    gone = events(r, 2)
    c.close()
    check("restart closes open watches", gone and gone[-1] == ("END", "abrupt") or ("END", "clean") in gone, gone)
    c, r = cl.watch(f"/api/v1/services?watch=true&resourceVersion={rv_before}")
    after_restart = events(r, 1)
    c.close()
    check("restart?compact=1: a watch from before the restart gets 410",
          kinds(after_restart) == ["ERROR"] and after_restart[0]["object"]["code"] == 410, after_restart)
    _, now = cl.api("GET", "/api/v1/services")
    check("restart keeps the resourceVersion counter",
          int(now["metadata"]["resourceVersion"]) == int(rv_before) + 1, now["metadata"])

    # field selectors
    code, doc = cl.api("GET", "/api/v1/services?fieldSelector=" + urllib.parse.quote("spec.clusterIP!=None,metadata.namespace=p"))
    check("field selector spec.clusterIP!=None,metadata.namespace=p", code == 200
          and [o["metadata"]["name"] for o in doc["items"]] == ["other"], doc)
    cl.ctl("POST", "/unsupported-field-selector?field=spec.clusterIP")
    code, doc = cl.api("GET", "/api/v1/services?fieldSelector=" + urllib.parse.quote("spec.clusterIP!=None"))
    check("an unsupported field selector: 400 BadRequest Status", code == 400 and doc.get("reason") == "BadRequest"
          and "spec.clusterIP" in doc.get("message", ""), (code, doc))
    cl.ctl("DELETE", "/unsupported-field-selector")

    # writes
    code, made = cl.api("POST", "/api/v1/namespaces/w/services", svc("m", ns="w"))
    check("POST creates (201) with uid, resourceVersion, creationTimestamp and defaults",
          code == 201 and made["metadata"].get("uid") and made["spec"].get("type") == "ClusterIP"
          and made["spec"]["ports"][0].get("targetPort") == 80, (code, made))
    code, doc = cl.api("POST", "/api/v1/namespaces/w/services", svc("m", ns="w"))
    check("POST of an existing name: 409 AlreadyExists", code == 409 and doc["reason"] == "AlreadyExists", doc)
    stale = json.loads(json.dumps(made))
    stale["metadata"]["labels"] = {"v": "1"}
    cl.api("PUT", "/api/v1/namespaces/w/services/m", stale)
    stale["metadata"]["labels"] = {"v": "2"}
    code, doc = cl.api("PUT", "/api/v1/namespaces/w/services/m", stale)
    check("PUT with a stale resourceVersion: 409 Conflict", code == 409 and doc["reason"] == "Conflict", doc)
    ev = {"apiVersion": "events.k8s.io/v1", "kind": "Event", "metadata": {"name": "e1", "namespace": "default"},
          "reason": "Starting", "type": "Normal", "regarding": {"kind": "Node", "name": "node-1"},
          "reportingController": "kube-proxy", "action": "StartKubeProxy",
          "eventTime": "2025-01-01T00:00:00.000000Z"}
    code1, _ = cl.api("POST", "/apis/events.k8s.io/v1/namespaces/default/events", ev)
    code2, _ = cl.api("PATCH", "/apis/events.k8s.io/v1/namespaces/default/events/e1",
                      {"series": {"count": 2, "lastObservedTime": "2025-01-01T00:00:01.000000Z"}},
                      "application/merge-patch+json")
    code3, _ = cl.api("POST", "/api/v1/namespaces/default/events",
                      {"apiVersion": "v1", "kind": "Event", "metadata": {"name": "e2"}, "reason": "Old",
                       "involvedObject": {"kind": "Node", "name": "node-1"}})
    stored = cl.ctl("GET", "/events")["items"]
    check("Events: POST and merge PATCH (events.k8s.io/v1), POST (v1), listed by the control API",
          (code1, code2, code3) == (201, 200, 201)
          and sorted((e["metadata"]["name"], (e.get("series") or {}).get("count")) for e in stored)
          == [("e1", 2), ("e2", None)], (code1, code2, code3, stored))

    # an injected raw event (a wrong kind in the Services stream): every
    # watch of the resource gets it as sent, with the next resourceVersion;
    # lists and GETs do not show it
    c, resp = cl.watch("/api/v1/services?watch=true&resourceVersion=" + cl.ctl("GET", "/state")["resourceVersion"])
    wrong = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "intruder", "namespace": "p"},
             "data": {"k": "v"}}
    out = cl.ctl("POST", "/inject?kind=svc&type=MODIFIED", wrong)
    evs = events(resp, 1)
    c.close()
    _, lst = cl.api("GET", "/api/v1/services")
    check("inject: a raw event reaches the watch as sent (type, kind, next resourceVersion), not the list",
          kinds(evs) == ["MODIFIED"] and evs[0]["object"]["kind"] == "ConfigMap"
          and evs[0]["object"]["metadata"]["resourceVersion"] == out["resourceVersion"]
          and all(i["metadata"]["name"] != "intruder" for i in lst["items"]), (out, evs))

    # bad input
    code, doc = cl.api("POST", "/api/v1/namespaces/w/services", b"{not json")
    check("a body that is not JSON: 400 Status", code == 400 and doc["kind"] == "Status", doc)
    code, doc = cl.api("GET", "/api/v1/services?labelSelector=" + urllib.parse.quote("a in (b"))
    check("a bad label selector: 400 Status", code == 400 and doc["reason"] == "BadRequest", doc)
    code, doc = cl.api("GET", "/api/v1/nopes")
    check("an unknown resource: 404 Status", code == 404 and doc["reason"] == "NotFound", doc)
    s = socket.create_connection(("127.0.0.1", cl.port), timeout=5)
    s.sendall(b"GET / HTTP/1.1\r\n\r\n" + os.urandom(512))
    try:
        s.recv(100)
    except OSError:
        pass
    s.close()
    code, _ = cl.api("GET", "/version")
    check("garbage on the TLS port does not hurt the server", code == 200)


if __name__ == "__main__":
    sys.exit(main())
