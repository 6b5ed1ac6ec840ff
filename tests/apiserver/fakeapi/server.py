"""The running double: listeners, connections, down/up/restart, the
request log, and the files clients use (kubeconfig, in-cluster layout).

``App.down()`` closes the listening sockets and every open connection
(clients then get "connection refused"); ``App.up()`` binds the same ports
again with the same objects and resourceVersion; ``App.restart(compact)``
is both, optionally forgetting the history as an apiserver restart after an
etcd compaction does.
"""

import collections
import json
import os
import secrets
import socket
import ssl
import threading
import time
from http.server import ThreadingHTTPServer

from . import certs
from .api import ApiHandler
from .store import Store


class Listener(ThreadingHTTPServer):
    """An API listener (TLS when ``tls_context`` is set)."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port, app, tls_context):
        self.app = app
        self.tls_context = tls_context
        super().__init__(("127.0.0.1", port), ApiHandler)

    def handle_error(self, request, client_address):
        import traceback

        self.app.log(f"connection from {client_address[0]}: {traceback.format_exc()}")


class App:
    """The double's state and its API listeners."""

    def __init__(self, state_dir, port=0, http_port=None, token=None, token_file=None,
                 bookmark_interval=3.0, watch_timeout=1800.0, history_limit=10000,
                 request_log_limit=20000, unsupported_fields=()):
        self.state_dir = os.path.abspath(state_dir)
        os.makedirs(self.state_dir, exist_ok=True)
        self.store = Store(history_limit=history_limit)
        self.store.unsupported_fields.update(unsupported_fields)
        self.bookmark_interval = bookmark_interval
        self.watch_timeout = watch_timeout
        self.port, self.http_port = port, http_port
        self.logfile = open(os.path.join(self.state_dir, "apiserver.log"), "a", buffering=1)
        self.log_lock = threading.Lock()
        self.requests = collections.deque(maxlen=request_log_limit)
        self.request_seq = 0
        self.conns = set()
        self.conns_lock = threading.Lock()
        self.listeners = []
        self.is_up = False
        self.up_lock = threading.RLock()
        self.up_timer = None
        self.token = self._token(token, token_file)
        ca, crt, key = certs.ensure(self.state_dir)
        self.ca = ca
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(crt, key)
        self.tls.set_alpn_protocols(["http/1.1"])

    def _token(self, token, token_file):
        path = os.path.join(self.state_dir, "token")
        if token_file:
            with open(token_file) as f:
                token = f.read().strip()
        if not token and os.path.exists(path):
            with open(path) as f:
                token = f.read().strip()
        token = token or secrets.token_hex(16)
        with open(path, "w") as f:
            f.write(token)
        return token

    # --- logging -----------------------------------------------------------

    def log(self, line):
        """One line to the log file."""
        with self.log_lock:
            self.logfile.write(time.strftime("%H:%M:%S ") + line.rstrip("\n") + "\n")

    def record(self, method, path, query, agent):
        """Append a request to the log; returns the entry (status filled
        in when the answer is sent)."""
        with self.conns_lock:
            self.request_seq += 1
            entry = {"seq": self.request_seq, "time": round(time.time(), 3), "method": method,
                     "path": path, "query": query, "userAgent": agent, "status": None}
            self.requests.append(entry)
        return entry

    def request_log(self, since=0):
        """Logged requests with seq > since."""
        with self.conns_lock:
            return [dict(e) for e in self.requests if e["seq"] > since]

    def clear_requests(self):
        """Forget the request log."""
        with self.conns_lock:
            self.requests.clear()

    def authorized(self, header):
        """True for ``Bearer <the token>``."""
        scheme, _, value = header.partition(" ")
        return scheme.lower() == "bearer" and secrets.compare_digest(value.strip().encode(), self.token.encode())

    # --- connections ---------------------------------------------------------

    def track(self, sock):
        """Register an open API connection."""
        with self.conns_lock:
            self.conns.add(sock)

    def untrack(self, sock):
        """Forget a closed API connection."""
        with self.conns_lock:
            self.conns.discard(sock)

    def close_connections(self):
        """Shut every open API connection down (no TLS close, no final chunk)."""
        with self.conns_lock:
            conns = list(self.conns)
        for s in conns:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(conns)

    @property
    def address(self):
        """host:port of the TLS listener."""
        return f"127.0.0.1:{self.port}"

    # --- up and down -----------------------------------------------------------

    def up(self):
        """Listen again (idempotent)."""
        with self.up_lock:
            if self.up_timer:
                self.up_timer.cancel()
                self.up_timer = None
            if self.is_up:
                return
            tls = Listener(self.port, self, self.tls)
            self.port = tls.server_address[1]
            self.listeners = [tls]
            if self.http_port is not None:
                plain = Listener(self.http_port, self, None)
                self.http_port = plain.server_address[1]
                self.listeners.append(plain)
            for srv in self.listeners:
                threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()
            self.is_up = True
            self.log(f"up: https on {self.port}" + (f", http on {self.http_port}" if self.http_port is not None else ""))

    def down(self, seconds=None):
        """Stop listening and close every connection; up again after
        ``seconds`` if given."""
        with self.up_lock:
            if self.up_timer:
                self.up_timer.cancel()
                self.up_timer = None
            if self.is_up:
                for srv in self.listeners:
                    srv.shutdown()
                    srv.server_close()
                self.listeners = []
                self.is_up = False
            self.store.drop_watches()
            n = self.close_connections()
            self.log(f"down: closed {n} connections" + (f", up again in {seconds}s" if seconds else ""))
            if seconds:
                self.up_timer = threading.Timer(seconds, self.up)
                self.up_timer.daemon = True
                self.up_timer.start()

    def restart(self, compact=False):
        """Down then up, the history forgotten when ``compact``."""
        with self.up_lock:
            self.down()
            if compact:
                self.store.compact()
            self.up()

    # --- client files ------------------------------------------------------------

    def write_client_files(self, control_port):
        """kubeconfig, the in-cluster layout and the ready file."""
        d = self.state_dir
        token_path = os.path.join(d, "token")
        for name, scheme, port in (("kubeconfig", "https", self.port), ("kubeconfig-http", "http", self.http_port)):
            if port is None:
                continue
            ca_line = f"    certificate-authority: {self.ca}\n" if scheme == "https" else ""
            text = (
                "apiVersion: v1\nkind: Config\n"
                "clusters:\n- name: fake\n  cluster:\n"
                f"    server: {scheme}://127.0.0.1:{port}\n{ca_line}"
                "contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\n"
                "current-context: fake\n"
                f"users:\n- name: fake\n  user:\n    tokenFile: {token_path}\n"
            )
            self._write(name, text)
        sa = os.path.join(d, "serviceaccount")
        os.makedirs(sa, exist_ok=True)
        with open(self.ca) as f:
            ca_text = f.read()
        for name, text in (("ca.crt", ca_text), ("token", self.token), ("namespace", "default")):
            self._write(os.path.join("serviceaccount", name), text)
        self._write("ready", json.dumps({
            "pid": os.getpid(), "port": self.port, "httpPort": self.http_port,
            "controlPort": control_port, "server": f"https://127.0.0.1:{self.port}",
            "kubeconfig": os.path.join(d, "kubeconfig"),
        }) + "\n")

    def _write(self, name, text):
        path = os.path.join(self.state_dir, name)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
