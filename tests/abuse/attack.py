#!/usr/bin/env python3
"""Hostile HTTP clients for tests/abuse/run.sh (standard library only).

Usage: attack.py KIND [options] HOST:PORT[/PATH] ...

Every kind spreads its connections round robin over the targets, prints
"READY ..." once its attack is fully under way, and runs until SIGTERM (or
--seconds), then prints one line "REPORT key=value ..." with what it saw.
The kinds:

  idle       --conns N: N connections that send nothing, held open; counts
             those the server closed (EOF or reset).
  slowloris  --conns N: N connections sending a request head a byte a second
             per connection, never finishing it; a connection the server
             closes is opened again. Reports how long the longest one lived.
  bighead    --bytes N: one request whose head carries an N-byte header.
  bigbody    --bytes N: one POST with an N-byte body (Content-Length).
  garbage    malformed request lines, an HTTP/2 preface, a TLS ClientHello,
             binary noise... each on a fresh connection, round after round.
  flood      --conns N --depth D --procs P: P processes of N keep-alive
             connections each sending batches of D pipelined GETs as fast
             as the answers come back.

The kinds that send one thing (bighead, bigbody) report the status line
they got back (or "closed"), the bytes the server took before it answered
or closed, and the time.
"""

import argparse
import errno
import os
import random
import resource
import selectors
import signal
import socket
import sys
import time

STOP = False


def _stop(*_):
    global STOP
    STOP = True


signal.signal(signal.SIGTERM, _stop)
signal.signal(signal.SIGINT, _stop)


def say(*words):
    print(*words, flush=True)


def parse_target(text):
    hostport, _, path = text.partition("/")
    host, _, port = hostport.rpartition(":")
    return (host, int(port)), "/" + path


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = max(soft, n + 64)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, max(hard, want)))
    except (ValueError, OSError) as err:
        say(f"attack: cannot raise RLIMIT_NOFILE to {want}: {err}")


def deadline_passed(args, started):
    return STOP or (args.seconds and time.monotonic() - started >= args.seconds)


def connect_many(targets, n, in_flight=256, timeout=20.0):
    """n established connections (round robin over targets), connected in
    parallel; returns (sockets, failures)."""
    sel = selectors.DefaultSelector()
    done, failed, started, i = [], 0, {}, 0
    while (i < n or started) and not STOP:
        while i < n and len(started) < in_flight:
            addr, _ = targets[i % len(targets)]
            s = socket.socket()
            s.setblocking(False)
            err = s.connect_ex(addr)
            if err not in (0, errno.EINPROGRESS):
                failed += 1
                s.close()
            else:
                started[s] = time.monotonic()
                sel.register(s, selectors.EVENT_WRITE)
            i += 1
        for key, _ in sel.select(0.2):
            s = key.fileobj
            sel.unregister(s)
            del started[s]
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                done.append(s)
            else:
                failed += 1
                s.close()
        now = time.monotonic()
        for s, t in list(started.items()):
            if now - t > timeout:
                sel.unregister(s)
                del started[s]
                failed += 1
                s.close()
    sel.close()
    return done, failed


def closed_by_peer(s):
    """True when the server closed s (EOF or reset); reads what it sent."""
    try:
        while True:
            data = s.recv(65536)
            if not data:
                return True
    except BlockingIOError:
        return False
    except OSError:
        return True


def idle(args, targets):
    raise_nofile(args.conns)
    t0 = time.monotonic()
    socks, failed = connect_many(targets, args.conns)
    say(f"READY opened={len(socks)} failed={failed} seconds={time.monotonic() - t0:.1f}")
    started = time.monotonic()
    sel = selectors.DefaultSelector()
    for s in socks:
        sel.register(s, selectors.EVENT_READ)
    closed = 0
    while not deadline_passed(args, started):
        for key, _ in sel.select(0.5):
            if closed_by_peer(key.fileobj):
                sel.unregister(key.fileobj)
                closed += 1
    say(f"REPORT opened={len(socks)} failed={failed} closed_by_server={closed} "
        f"still_open={len(socks) - closed}")


def slowloris(args, targets):
    raise_nofile(args.conns)
    sel = selectors.DefaultSelector()
    live = {}  # socket -> (opened at, bytes sent, pending head)
    opened = cut = 0
    longest = 0.0
    most_bytes = 0

    def open_some(k):
        nonlocal opened
        socks, _ = connect_many([targets[(opened + j) % len(targets)] for j in range(k)], k)
        for s in socks:
            _, path = targets[opened % len(targets)]
            head = f"GET {path} HTTP/1.1\r\nHost: x\r\nUser-Agent: slowloris\r\nX-Trickle: ".encode()
            head += b"a" * 100000
            live[s] = [time.monotonic(), 0, head]
            sel.register(s, selectors.EVENT_READ)
            opened += 1

    open_some(args.conns)
    say(f"READY opened={opened}")
    started = time.monotonic()
    next_tick = time.monotonic()
    while not deadline_passed(args, started):
        timeout = max(0.0, next_tick - time.monotonic())
        for key, _ in sel.select(timeout):
            s = key.fileobj
            if closed_by_peer(s):
                t, sent, _ = live.pop(s)
                sel.unregister(s)
                s.close()
                cut += 1
                longest = max(longest, time.monotonic() - t)
                most_bytes = max(most_bytes, sent)
        if time.monotonic() >= next_tick:
            next_tick += 1.0
            for s, state in list(live.items()):
                try:
                    s.send(state[2][state[1]:state[1] + 1])
                    state[1] += 1
                except OSError:
                    live.pop(s)
                    sel.unregister(s)
                    s.close()
                    cut += 1
                    longest = max(longest, time.monotonic() - state[0])
                    most_bytes = max(most_bytes, state[1])
            if len(live) < args.conns:
                open_some(args.conns - len(live))
    now = time.monotonic()
    # Connections still trickling at the end count as living until now.
    for t, sent, _ in live.values():
        longest = max(longest, now - t)
        most_bytes = max(most_bytes, sent)
    say(f"REPORT opened={opened} cut_by_server={cut} still_open={len(live)} "
        f"longest_s={longest:.1f} most_bytes={most_bytes}")


def send_all_reading(s, data, deadline):
    """Sends data while reading any answer; returns (bytes sent, answer)."""
    s.setblocking(False)
    sent, answer = 0, b""
    sel = selectors.DefaultSelector()
    sel.register(s, selectors.EVENT_READ | selectors.EVENT_WRITE)
    view = memoryview(data)
    while time.monotonic() < deadline and not STOP:
        events = sel.select(0.5)
        for _, mask in events:
            if mask & selectors.EVENT_READ:
                try:
                    chunk = s.recv(65536)
                except BlockingIOError:
                    chunk = None
                except OSError:
                    return sent, answer
                if chunk == b"":
                    return sent, answer
                if chunk:
                    answer += chunk
            if mask & selectors.EVENT_WRITE and sent < len(data):
                try:
                    sent += s.send(view[sent:sent + 262144])
                except BlockingIOError:
                    pass
                except OSError:
                    return sent, answer
                if sent == len(data):
                    sel.modify(s, selectors.EVENT_READ)
        if sent == len(data) and b"\r\n\r\n" in answer:
            return sent, answer
    return sent, answer


def one_shot(args, targets, build):
    say("READY")
    rounds = []
    t_end = time.monotonic() + (args.seconds or 60)
    for addr, path in targets:
        s = socket.create_connection(addr, timeout=10)
        t0 = time.monotonic()
        data = build(path)
        sent, answer = send_all_reading(s, data, min(t_end, t0 + 60))
        s.close()
        status = answer.split(b"\r\n", 1)[0].decode(errors="replace") if answer else "closed"
        status = status.replace(" ", "_") or "closed"
        rounds.append(f"{addr[1]}:status={status},taken={sent},of={len(data)},"
                      f"seconds={time.monotonic() - t0:.1f}")
    say("REPORT " + " ".join(rounds))


def bighead(args, targets):
    one_shot(args, targets, lambda path: (
        f"GET {path} HTTP/1.1\r\nHost: x\r\nX-Big: ".encode() + b"a" * args.bytes + b"\r\n\r\n"))


def bigbody(args, targets):
    one_shot(args, targets, lambda path: (
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/octet-stream\r\n"
        f"Content-Length: {args.bytes}\r\n\r\n".encode() + b"\0" * args.bytes))


# A TLS 1.2 ClientHello record (random, session id, a few cipher suites, SNI
# "x"), as a TLS client sends it first on connecting.
def client_hello():
    rnd = os.urandom(32)
    suites = bytes.fromhex("c02fc030c02bc02c009c009d002f0035")
    sni_name = b"x"
    sni = (b"\x00\x00" + (len(sni_name) + 5).to_bytes(2, "big") + (len(sni_name) + 3).to_bytes(2, "big")
           + b"\x00" + len(sni_name).to_bytes(2, "big") + sni_name)
    body = (b"\x03\x03" + rnd + b"\x20" + os.urandom(32) + len(suites).to_bytes(2, "big") + suites
            + b"\x01\x00" + len(sni).to_bytes(2, "big") + sni)
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return b"\x16\x03\x01" + len(hs).to_bytes(2, "big") + hs


GARBAGE = [
    ("no-version", lambda p: f"GET {p}\r\n\r\n".encode()),
    ("bad-version", lambda p: f"GET {p} HTTP/9.9\r\n\r\n".encode()),
    ("bad-method", lambda p: f"G(E)T {p} HTTP/1.1\r\nHost: x\r\n\r\n".encode()),
    ("words", lambda p: b"hello there, this is not http\r\n\r\n"),
    ("empty-lines", lambda p: b"\r\n" * 5000),
    ("nul-bytes", lambda p: b"\0" * 4096),
    ("no-colon", lambda p: f"GET {p} HTTP/1.1\r\nHost x\r\n\r\n".encode()),
    ("bad-header-name", lambda p: f"GET {p} HTTP/1.1\r\nHo st: x\r\n\r\n".encode()),
    ("two-lengths", lambda p: f"POST {p} HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                              "Content-Length: 2\r\n\r\nab".encode()),
    ("negative-length", lambda p: f"POST {p} HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n".encode()),
    ("bad-chunk", lambda p: f"POST {p} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                            "zz\r\nhello\r\n0\r\n\r\n".encode()),
    ("long-line", lambda p: b"GET /" + b"a" * 200000 + b" HTTP/1.1\r\n\r\n"),
    ("h2-preface", lambda p: b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
                             + bytes.fromhex("000000040000000000")),
    ("tls-client-hello", lambda p: client_hello()),
    ("random", lambda p: os.urandom(8192)),
]


def garbage(args, targets):
    """Round after round of every malformed payload on every target; each
    must get an answer or be closed within --answer-within seconds."""
    say("READY")
    started = time.monotonic()
    outcomes = {}  # name -> {outcome: count}
    slowest = 0.0
    rounds = 0
    while not deadline_passed(args, started):
        rounds += 1
        for name, build in GARBAGE:
            for addr, path in targets:
                if STOP:
                    break
                t0 = time.monotonic()
                try:
                    s = socket.create_connection(addr, timeout=5)
                except OSError:
                    outcome = "connect-failed"
                else:
                    _, answer = send_all_reading(s, build(path), t0 + args.answer_within)
                    s.close()
                    took = time.monotonic() - t0
                    slowest = max(slowest, took)
                    if took >= args.answer_within:
                        outcome = "held"
                    elif answer:
                        outcome = answer.split(b" ", 2)[1].decode(errors="replace") \
                            if answer.startswith(b"HTTP/1.") else "non-http"
                    else:
                        outcome = "closed"
                outcomes.setdefault(name, {}).setdefault(outcome, 0)
                outcomes[name][outcome] += 1
        if args.rounds and rounds >= args.rounds:
            break
    held = sum(o.get("held", 0) + o.get("connect-failed", 0) for o in outcomes.values())
    detail = ",".join(f"{n}:" + "+".join(f"{k}{v}" for k, v in sorted(o.items()))
                      for n, o in outcomes.items())
    say(f"REPORT rounds={rounds} held_or_refused={held} slowest_s={slowest:.1f} outcomes={detail}")


def flood(args, targets):
    """--procs processes of --conns connections each; one READY, one REPORT."""
    import json
    if args.procs <= 1:
        result = flood_one(args, targets, lambda: say(f"READY conns={args.conns} depth={args.depth}"))
    else:
        children = []
        for _ in range(args.procs):
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:
                os.close(r)
                signal.signal(signal.SIGTERM, _stop)
                out = flood_one(args, targets, lambda: os.write(w, b"R"))
                os.write(w, json.dumps(out).encode())
                os._exit(0)
            os.close(w)
            children.append((pid, r))
        for _, r in children:
            os.read(r, 1)
        say(f"READY procs={args.procs} conns={args.conns} depth={args.depth}")
        started = time.monotonic()
        while not deadline_passed(args, started):
            time.sleep(0.2)
        result = {"answered": 0, "seconds": 0.0, "statuses": {}, "errors": 0, "reconnects": 0}
        for pid, r in children:
            os.kill(pid, signal.SIGTERM)
            data = b""
            while chunk := os.read(r, 65536):
                data += chunk
            os.waitpid(pid, 0)
            one = json.loads(data)
            for k in ("answered", "errors", "reconnects"):
                result[k] += one[k]
            result["seconds"] = max(result["seconds"], one["seconds"])
            for k, v in one["statuses"].items():
                result["statuses"][k] = result["statuses"].get(k, 0) + v
    codes = ",".join(f"{k}:{v}" for k, v in sorted(result["statuses"].items()))
    say(f"REPORT answered={result['answered']} "
        f"per_s={result['answered'] / max(result['seconds'], 1e-9):.0f} "
        f"seconds={result['seconds']:.1f} statuses={codes} errors={result['errors']} "
        f"reconnects={result['reconnects']}")


def flood_one(args, targets, ready):
    """One process's flood: a dict of what it saw."""
    raise_nofile(args.conns)
    sel = selectors.DefaultSelector()
    answered = errors = reconnects = 0
    statuses = {}

    def open_one(i):
        addr, path = targets[i % len(targets)]
        s = socket.create_connection(addr, timeout=5)
        s.setblocking(False)
        batch = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode() * args.depth
        state = {"i": i, "batch": batch, "buf": b"", "waiting": 0}
        sel.register(s, selectors.EVENT_READ, state)
        send_batch(s, state)

    def send_batch(s, state):
        s.setblocking(True)
        s.sendall(state["batch"])
        s.setblocking(False)
        state["waiting"] = args.depth

    for i in range(args.conns):
        open_one(i)
    ready()
    started = time.monotonic()
    while not deadline_passed(args, started):
        for key, _ in sel.select(0.5):
            s, state = key.fileobj, key.data
            try:
                chunk = s.recv(1 << 20)
            except BlockingIOError:
                continue
            except OSError:
                chunk = b""
            if chunk:
                state["buf"] += chunk
                while True:
                    taken = take_response(state["buf"])
                    if taken is None:
                        break
                    code, rest = taken
                    statuses[code] = statuses.get(code, 0) + 1
                    answered += 1
                    state["waiting"] -= 1
                    state["buf"] = rest
                if state["waiting"] == 0:
                    try:
                        send_batch(s, state)
                    except OSError:
                        chunk = b""
            if not chunk:
                # Closed (the connection lifetime, or an error): open again.
                sel.unregister(s)
                s.close()
                if state["waiting"]:
                    errors += 1
                reconnects += 1
                try:
                    open_one(state["i"])
                except OSError:
                    errors += 1
    statuses = {k.decode(errors="replace"): v for k, v in statuses.items()}
    return {"answered": answered, "seconds": time.monotonic() - started,
            "statuses": statuses, "errors": errors, "reconnects": reconnects}


def take_response(buf):
    """(status code, the bytes after it) when buf starts with one whole
    response (head and Content-Length body), else None."""
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return None
    length = 0
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    if len(body) < length:
        return None
    return head[9:12], body[length:]


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("kind", choices=["idle", "slowloris", "bighead", "bigbody", "garbage", "flood"])
    p.add_argument("targets", nargs="+")
    p.add_argument("--conns", type=int, default=100)
    p.add_argument("--bytes", type=int, default=1 << 20)
    p.add_argument("--depth", type=int, default=32)
    p.add_argument("--procs", type=int, default=1)
    p.add_argument("--seconds", type=float, default=0)
    p.add_argument("--rounds", type=int, default=0)
    p.add_argument("--answer-within", type=float, default=7.0)
    args = p.parse_args()
    targets = [parse_target(t) for t in args.targets]
    random.seed(1)
    globals()[args.kind](args, targets)


if __name__ == "__main__":
    sys.exit(main())
