#!/usr/bin/env python3
"""A pod's servers for the VM suites: TCP :80, TCP :8080 (holding the
connection open until the client closes, for graceful-termination tests),
UDP :53 and, when the kernel has SCTP, SCTP :9, on IPv4 and IPv6, each
answering "NAME CLIENT-IP" (over HTTP/1.0 when the client sends a GET).
Usage (inside the pod's namespace): server.py NAME
"""
import socket
import sys
import threading

NAME = sys.argv[1]


def answer(peer):
    host = peer[0]
    if host.startswith("::ffff:"):
        host = host[7:]
    return f"{NAME} {host}\n".encode()


def listener(kind, proto, port):
    s = socket.socket(socket.AF_INET6, kind, proto)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.bind(("::", port))
    return s


def stream(s, hold=False):
    s.listen(128)
    while True:
        c, peer = s.accept()

        def serve(c=c, peer=peer):
            try:
                c.settimeout(0.3)
                try:
                    request = c.recv(4096)
                except OSError:
                    request = b""
                c.settimeout(None)
                body = answer(peer)
                if request.startswith(b"GET"):
                    body = b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
                c.sendall(body)
                if hold:
                    while c.recv(4096):
                        pass
            except OSError:
                pass
            finally:
                c.close()

        threading.Thread(target=serve, daemon=True).start()


def datagram(s):
    while True:
        _, peer = s.recvfrom(4096)
        s.sendto(answer(peer), peer)


def sctp_echo(s):
    """One-to-one SCTP: every message on a connection is answered."""
    s.listen(64)
    while True:
        c, peer = s.accept()

        def serve(c=c, peer=peer):
            try:
                while c.recv(4096):
                    c.sendall(answer(peer))
            except OSError:
                pass
            finally:
                c.close()

        threading.Thread(target=serve, daemon=True).start()


threads = [
    threading.Thread(target=stream, args=(listener(socket.SOCK_STREAM, 0, 80),), daemon=True),
    threading.Thread(target=stream, args=(listener(socket.SOCK_STREAM, 0, 8080), True), daemon=True),
    threading.Thread(target=datagram, args=(listener(socket.SOCK_DGRAM, 0, 53),), daemon=True),
]
try:
    threads.append(threading.Thread(
        target=sctp_echo, args=(listener(socket.SOCK_STREAM, socket.IPPROTO_SCTP, 9),), daemon=True))
except OSError:
    pass
for t in threads:
    t.start()
for t in threads:
    t.join()
