#!/usr/bin/env python3
"""Clients looping until STOP-FILE exists: loop.py OUT STOP-FILE TARGET...
TARGET is tcp:HOST:PORT (a new connection per request), or
lb:HC-PORT:NODE-PORT:NODE-IP,NODE-IP,... (a load balancer: health-checks
GET http://NODE:HC-PORT/ every 0.3 s and sends each request to a NodePort
of a node that last answered 200, round robin). Each target runs in its own
thread, a request every 0.1 s. At the end OUT gets JSON per target:
{"ok": N, "failed": N, "answers": {POD: N}, "nodes": {NODE: N}, "errors": [...]}"""
import json
import os
import socket
import sys
import threading
import time
import urllib.error
import urllib.request

out, stop = sys.argv[1], sys.argv[2]
results = {}


def request(host, port):
    s = socket.create_connection((host, port), timeout=3)
    try:
        return s.recv(256).decode().strip()
    finally:
        s.close()


def record(r, target, fn):
    try:
        answer = fn()
        if not answer:
            raise OSError("empty answer")
        r["ok"] += 1
        pod = answer.split()[0]
        r["answers"][pod] = r["answers"].get(pod, 0) + 1
    except OSError as e:
        r["failed"] += 1
        r["errors"].append(f"{time.time():.3f} {target}: {e}")


def tcp(target, host, port):
    r = results[target]
    while not os.path.exists(stop):
        record(r, target, lambda: request(host, int(port)))
        time.sleep(0.1)


def lb(target, hc_port, node_port, nodes):
    r = results[target]
    healthy = {}

    def check():
        while not os.path.exists(stop):
            for n in nodes:
                try:
                    with urllib.request.urlopen(f"http://{n}:{hc_port}/", timeout=1) as resp:
                        healthy[n] = resp.status == 200
                except (urllib.error.URLError, OSError):
                    healthy[n] = False
            time.sleep(0.3)

    threading.Thread(target=check, daemon=True).start()
    i = 0
    while not os.path.exists(stop):
        up = [n for n in nodes if healthy.get(n)]
        if up:
            n = up[i % len(up)]
            i += 1
            r["nodes"][n] = r["nodes"].get(n, 0) + 1
            record(r, f"{target} via {n}", lambda: request(n, int(node_port)))
        time.sleep(0.1)


threads = []
for target in sys.argv[3:]:
    results[target] = {"ok": 0, "failed": 0, "answers": {}, "nodes": {}, "errors": []}
    if target.startswith("lb:"):
        _, hc_port, node_port, nodes = target.split(":", 3)
        t = threading.Thread(target=lb, args=(target, hc_port, node_port, nodes.split(",")))
    else:
        _, host, port = target.split(":")
        t = threading.Thread(target=tcp, args=(target, host, port))
    t.start()
    threads.append(t)
for t in threads:
    t.join()
with open(out, "w") as f:
    json.dump(results, f)
