"""The running double: listeners, connections, down/up/restart, the
request log, and the files clients use (kubeconfig, in-cluster layout).

``App.down()`` closes the listening sockets and every open connection
(clients then get "connection refused"); ``App.up()`` binds the same ports
again with the same objects and resourceVersion; ``App.restart(compact)``
is both, optionally forgetting the history as an apiserver restart after an
etcd compaction does.

Credentials change as in a cluster: ``App.rotate_token()`` publishes a new
token (the kubelet's way: the token file replaced by a rename, the
``serviceaccount/`` directory a projected volume whose ``..data`` symlink is
swapped) and from then accepts only it (or the old one too for a grace);
``App.forbid()`` answers 403 Forbidden for the resources (RBAC removed) or
401 for everything (the token revoked) until ``App.allow()``;
``App.rotate_cert()`` serves a new certificate from the same CA and closes
every connection, so clients reconnect and verify it.
"""

import collections
import json
import os
import secrets
import shutil
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

    def __init__(self, port, app, tls_state):
        self.app = app
        # (ssl context, certificate generation), None for plain HTTP;
        # replaced as a whole when the certificate is rotated.
        self.tls_state = tls_state
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
        # token -> [generation, accepted until (monotonic) or None]
        self.tokens = {self.token: [1, None]}
        self.token_gen = 1
        self.rotated_at = None
        self.deny = None  # {"code": 401|403, "resources": set of plurals (empty: all)}
        ca, crt, key = certs.ensure(self.state_dir)
        self.ca = ca
        self.cert_gen = 1
        self.tls = self._tls_context(crt, key)
        self.cert_fingerprint = certs.fingerprint(crt)

    @staticmethod
    def _tls_context(crt, key):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(crt, key)
        ctx.set_alpn_protocols(["http/1.1"])
        return ctx

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

    def authenticate(self, header):
        """(accepted, generation) for an Authorization header: the
        generation of the token presented (1 the first, 0 an unknown one,
        None without a bearer token), accepted if it is the current token
        or an old one within its grace."""
        scheme, _, value = header.partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            return False, None
        now = time.monotonic()
        with self.conns_lock:
            for token, (gen, until) in self.tokens.items():
                if secrets.compare_digest(value.encode(), token.encode()):
                    return until is None or now < until, gen
        return False, 0

    # --- credentials ---------------------------------------------------------------

    def rotate_token(self, grace=None):
        """A new token, written to the files clients read; the old ones are
        refused from now on, or after ``grace`` seconds."""
        token = secrets.token_hex(16)
        now = time.monotonic()
        until = now + (grace or 0)
        with self.conns_lock:
            for entry in self.tokens.values():
                if entry[1] is None or entry[1] > until:
                    entry[1] = until
            self.token_gen += 1
            self.tokens[token] = [self.token_gen, None]
            # keep the last few for the generation in the request log
            for old in sorted(self.tokens, key=lambda t: self.tokens[t][0])[:-8]:
                del self.tokens[old]
            self.token = token
            gen = self.token_gen
            self.rotated_at = time.time()
        self._write("token", token)
        self._write_serviceaccount()
        self.log(f"token rotated: generation {gen}" + (f", the old accepted for {grace:g}s" if grace else ""))
        return {"tokenGeneration": gen, "rotatedAt": round(self.rotated_at, 3), "grace": grace or 0}

    def forbid(self, code=403, resources=()):
        """403 Forbidden for RESOURCES (plurals; all when empty), as when
        RBAC is removed, or with code 401 every request refused (the token
        revoked). Open watches continue, as on a real API server."""
        if code not in (401, 403):
            raise ValueError("code is 401 or 403")
        with self.conns_lock:
            self.deny = {"code": code, "resources": set(resources)}
        self.log(f"forbid: {code} for {', '.join(sorted(resources)) or 'every resource'}")
        return self.deny_state()

    def allow(self):
        """Undo ``forbid``."""
        with self.conns_lock:
            self.deny = None
        self.log("allow: access restored")
        return self.deny_state()

    def deny_state(self):
        """The forbid state for the control API."""
        deny = self.deny
        if deny is None:
            return {"deny": None}
        return {"deny": {"code": deny["code"], "resources": sorted(deny["resources"])}}

    def forbidden(self, resource):
        """True when a request for RESOURCE gets 403."""
        deny = self.deny
        return bool(deny) and deny["code"] == 403 and (not deny["resources"] or resource.plural in deny["resources"])

    def rotate_cert(self):
        """A new serving certificate from the same CA; every connection
        closed, so clients reconnect and verify it."""
        crt, key = certs.rotate(self.state_dir)
        ctx = self._tls_context(crt, key)
        with self.up_lock:
            self.cert_gen += 1
            self.tls = ctx
            self.cert_fingerprint = certs.fingerprint(crt)
            for srv in self.listeners:
                if srv.tls_state is not None:
                    srv.tls_state = (ctx, self.cert_gen)
            self.store.drop_watches()
            n = self.close_connections()
        self.log(f"certificate rotated: generation {self.cert_gen}, closed {n} connections")
        return {"certGeneration": self.cert_gen, "fingerprint": self.cert_fingerprint, "closed": n}

    def credentials_state(self):
        """Token and certificate generations for GET /state."""
        return dict(self.deny_state(), tokenGeneration=self.token_gen,
                    tokenRotatedAt=self.rotated_at and round(self.rotated_at, 3),
                    certGeneration=self.cert_gen, certFingerprint=self.cert_fingerprint)

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
            tls = Listener(self.port, self, (self.tls, self.cert_gen))
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
        self._write_serviceaccount()
        self._write("ready", json.dumps({
            "pid": os.getpid(), "port": self.port, "httpPort": self.http_port,
            "controlPort": control_port, "server": f"https://127.0.0.1:{self.port}",
            "kubeconfig": os.path.join(d, "kubeconfig"),
        }) + "\n")

    def _write_serviceaccount(self):
        """serviceaccount/{ca.crt,token,namespace} as the kubelet's
        projected volume: the files in a timestamped directory, ``..data``
        a symlink to it swapped by a rename, each name a symlink through
        ``..data``; the previous directory removed after the swap."""
        sa = os.path.join(self.state_dir, "serviceaccount")
        os.makedirs(sa, exist_ok=True)
        with open(self.ca) as f:
            files = (("ca.crt", f.read()), ("token", self.token), ("namespace", "default"))
        now = time.time_ns()
        stamp = time.strftime("..%Y_%m_%d_%H_%M_%S.", time.gmtime(now / 1e9)) + f"{now % 10**9:09d}"
        os.mkdir(os.path.join(sa, stamp))
        for name, text in files:
            with open(os.path.join(sa, stamp, name), "w") as f:
                f.write(text)
        data, tmp = os.path.join(sa, "..data"), os.path.join(sa, "..data_tmp")
        old = os.readlink(data) if os.path.islink(data) else None
        if os.path.lexists(tmp):
            os.unlink(tmp)
        os.symlink(stamp, tmp)
        os.replace(tmp, data)
        for name, _ in files:
            link = os.path.join(sa, name)
            if not os.path.islink(link):
                if os.path.lexists(link):  # a regular file of an older layout
                    os.unlink(link)
                os.symlink(os.path.join("..data", name), link)
        if old and old != stamp:
            shutil.rmtree(os.path.join(sa, old), ignore_errors=True)

    def _write(self, name, text):
        path = os.path.join(self.state_dir, name)
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            f.write(text)
        os.replace(tmp, path)
