#!/usr/bin/env python3
"""One request per line of output: probe.py PROTO HOST PORT [COUNT]
(PROTO tcp, udp or sctp; a new connection or datagram socket each time).
Prints the server's answer ("POD CLIENT-IP") or "-" when nothing came."""
import socket
import sys

proto, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
count = int(sys.argv[4]) if len(sys.argv) > 4 else 1
family = socket.AF_INET6 if ":" in host else socket.AF_INET
for _ in range(count):
    try:
        if proto == "udp":
            s = socket.socket(family, socket.SOCK_DGRAM)
            s.settimeout(2)
            s.sendto(b"?", (host, port))
            data = s.recvfrom(256)[0]
        else:
            s = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_SCTP if proto == "sctp" else 0)
            s.settimeout(3)
            s.connect((host, port))
            if proto == "sctp":
                s.sendall(b"?")
            data = s.recv(256)
        s.close()
        print(data.decode().strip() or "-", flush=True)
    except OSError:
        print("-", flush=True)
