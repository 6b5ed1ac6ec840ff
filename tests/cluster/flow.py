#!/usr/bin/env python3
"""One long-lived flow: flow.py PROTO HOST PORT SPORT INTERVAL OUT
UDP: datagrams from the fixed source port SPORT every INTERVAL seconds; SCTP:
one association from SPORT, a message every INTERVAL, reconnected (from the
same port) when it breaks. Every answer is appended to OUT as
"EPOCH-SECONDS POD CLIENT-IP"; runs until killed."""
import select
import socket
import sys
import time

proto, host, port, sport, interval, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), \
    int(sys.argv[4]), float(sys.argv[5]), sys.argv[6]
family = socket.AF_INET6 if ":" in host else socket.AF_INET
log = open(out, "a", buffering=1)


def connect():
    while True:
        s = socket.socket(family, socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM,
                          0 if proto == "udp" else socket.IPPROTO_SCTP)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("::" if family == socket.AF_INET6 else "0.0.0.0", sport))
        if proto == "udp":
            s.connect((host, port))  # only datagrams from this address come in
            return s
        # A short connect timeout: the kernel's first INIT retransmission
        # comes after 3 s (rto_initial), so a Service that gets its first
        # endpoint is tried again within INTERVAL + 0.5 s, not seconds later.
        s.settimeout(0.5)
        try:
            s.connect((host, port))
            s.settimeout(2)
            return s
        except OSError:
            s.close()
            time.sleep(interval)


s = connect()
next_send = time.time()
while True:
    now = time.time()
    if now >= next_send:
        try:
            s.send(b"?")
        except OSError:
            if proto != "udp":
                s.close()
                s = connect()
        next_send = now + interval
    r, _, _ = select.select([s], [], [], max(0.0, next_send - time.time()))
    if r:
        try:
            data = s.recv(256)
        except OSError:
            data = b""
        if data:
            log.write(f"{time.time():.3f} {data.decode().strip()}\n")
        elif proto != "udp":
            s.close()
            s = connect()
