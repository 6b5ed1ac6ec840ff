"""The Kubernetes API over HTTP/1.1 (TLS or plain): discovery, list,
get, watch, create, update, patch, delete, with bearer-token auth.

Paths: ``/api/v1/RES[/NAME]``, ``/api/v1/namespaces/NS/RES[/NAME]``,
``/apis/GROUP/VERSION/...`` alike, the legacy ``.../watch/...`` prefix and
the ``status`` subresource (served as the object). Errors are Status
documents. A watch is a chunked stream of one JSON event per line.
"""

import json
import socket
import ssl
import traceback
import urllib.parse
from http.server import BaseHTTPRequestHandler

from . import resources, tables
from .objects import ApiError, apply_defaults, json_patch, merge_patch, status, validate
from .selectors import Selector, SelectorError
from .store import Watch

MAX_BODY = 16 << 20


def _list_item(obj):
    return {k: v for k, v in obj.items() if k not in ("kind", "apiVersion")}


class ApiHandler(BaseHTTPRequestHandler):
    """One connection to the API (``self.server.app`` is the App)."""

    protocol_version = "HTTP/1.1"
    server_version = "fake-kube-apiserver"
    sys_version = ""
    timeout = 3600  # idle keep-alive connections are closed after an hour

    # --- connection ----------------------------------------------------------

    def setup(self):
        app = self.server.app
        self.control_sock = self.request.dup()
        app.track(self.control_sock)
        tls = getattr(self.server, "tls_state", None)
        self.cert_gen = None
        if tls is not None:
            ctx, self.cert_gen = tls
            self.request.settimeout(10)
            try:
                self.request = ctx.wrap_socket(self.request, server_side=True)
            except (OSError, ssl.SSLError) as e:
                app.log(f"tls handshake from {self.client_address[0]}: {e}")
                self.tls_failed = True
                return
        super().setup()

    def handle(self):
        if getattr(self, "tls_failed", False):
            return
        try:
            super().handle()
        except (OSError, ssl.SSLError):
            pass

    def finish(self):
        try:
            if not getattr(self, "tls_failed", False):
                super().finish()
        except (OSError, ssl.SSLError):
            pass
        self.server.app.untrack(self.control_sock)
        try:
            self.control_sock.close()
        except OSError:
            pass

    def log_message(self, fmt, *args):
        self.server.app.log(f"{self.client_address[0]} {fmt % args}")

    def abort(self):
        """Close the connection at once, whatever is in flight."""
        try:
            self.control_sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.close_connection = True

    # --- plumbing ----------------------------------------------------------------

    def do_GET(self):
        self.dispatch("GET")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def send_json(self, code, doc, headers=()):
        body = (json.dumps(doc) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-cache, private")
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)
        self.entry["status"] = code

    def send_text(self, code, text):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.entry["status"] = code

    def read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            chunks, total = [], 0
            while True:
                line = self.rfile.readline(64)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise ApiError(400, "BadRequest", "bad chunked request body") from None
                if size == 0:
                    self.rfile.readline(64)
                    break
                total += size
                if total > MAX_BODY:
                    raise ApiError(413, "RequestEntityTooLarge", "request body too large")
                chunks.append(self.rfile.read(size))
                self.rfile.readline(64)
            raw = b"".join(chunks)
        else:
            try:
                length = int(self.headers.get("Content-Length") or 0)
            except ValueError:
                raise ApiError(400, "BadRequest", "bad Content-Length") from None
            if length > MAX_BODY or length < 0:
                self.close_connection = True
                raise ApiError(413, "RequestEntityTooLarge", "request body too large")
            raw = self.rfile.read(length) if length else b""
        self.body_read = True
        return raw

    def json_body(self):
        raw = self.read_body()
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            raise ApiError(400, "BadRequest", f"the body is not valid JSON: {e}") from None

    def dispatch(self, method):
        app = self.server.app
        url = urllib.parse.urlsplit(self.path)
        query = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        self.body_read = method in ("GET", "DELETE") and not self.headers.get("Content-Length")
        self.entry = app.record(method, url.path, query, self.headers.get("User-Agent", ""))
        self.entry["cert"] = self.cert_gen
        try:
            accepted, self.entry["token"] = app.authenticate(self.headers.get("Authorization", ""))
            deny = app.deny
            if not accepted or (deny and deny["code"] == 401):
                raise ApiError(401, "Unauthorized", "Unauthorized")
            self.route(method, url.path, query)
        except ApiError as e:
            if not self.body_read:
                self.close_connection = True
            self.send_json(e.code, e.status())
        except (OSError, ssl.SSLError):
            self.close_connection = True
        except Exception as e:  # a bug must not kill the server
            app.log("internal error: " + traceback.format_exc())
            self.close_connection = True
            try:
                self.send_json(500, status(500, "InternalError", f"internal error: {e}"))
            except OSError:
                pass

    # --- routes ----------------------------------------------------------------------

    def route(self, method, path, query):
        app = self.server.app
        parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/") if p]
        if method == "GET":
            if parts == ["version"]:
                return self.send_json(200, resources.VERSION_INFO)
            if parts in (["healthz"], ["livez"], ["readyz"]):
                return self.send_text(200, "ok")
            if parts == ["api"]:
                return self.send_json(200, resources.api_versions(app.address))
            if parts == ["apis"]:
                return self.send_json(200, resources.api_group_list())
            if len(parts) == 2 and parts[0] == "apis":
                doc = resources.api_group(parts[1])
                if doc:
                    return self.send_json(200, doc)
            if parts == ["api", "v1"]:
                return self.send_json(200, resources.resource_list("", "v1"))
            if len(parts) == 3 and parts[0] == "apis":
                doc = resources.resource_list(parts[1], parts[2])
                if doc:
                    return self.send_json(200, doc)
        if len(parts) >= 3 and parts[:2] == ["api", "v1"]:
            return self.resource_route(method, "", "v1", parts[2:], query)
        if len(parts) >= 4 and parts[0] == "apis":
            return self.resource_route(method, parts[1], parts[2], parts[3:], query)
        raise ApiError(404, "NotFound", "the server could not find the requested resource")

    def resource_route(self, method, group, version, rest, query):
        watch = False
        if rest[0] == "watch":
            watch, rest = True, rest[1:]
        ns = None
        if len(rest) >= 3 and rest[0] == "namespaces":
            r = resources.by_path(group, version, rest[2])
            if r is not None and r.namespaced:
                ns, rest = rest[1], rest[2:]
        if not rest:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        resource = resources.by_path(group, version, rest[0])
        if resource is None:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if ns is None and len(rest) > 1 and resource.namespaced:
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if self.server.app.forbidden(resource):
            raise self.forbidden(method, resource, ns, rest, query, watch)
        name = rest[1] if len(rest) > 1 else None
        sub = rest[2] if len(rest) > 2 else None
        if len(rest) > 3 or sub not in (None, "status"):
            raise ApiError(404, "NotFound", "the server could not find the requested resource")
        if query.get("watch") in ("true", "1"):
            watch = True
        if name is None:
            if method == "GET":
                return self.watch(resource, ns, query) if watch else self.list(resource, ns, query)
            if method == "POST" and (ns is not None or not resource.namespaced):
                return self.create(resource, ns, query)
            raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")
        if watch:
            query = dict(query, fieldSelector=f"metadata.name={name}")
            return self.watch(resource, ns, query)
        store = self.server.app.store
        if method == "GET":
            obj = store.get(resource, ns, name)
            if tables.wants_table(self.headers.get("Accept")):
                return self.send_json(200, tables.watch_object(resource.kind, obj))
            return self.send_json(200, obj)
        if method == "PUT":
            return self.update(resource, ns, name, query)
        if method == "PATCH":
            return self.patch(resource, ns, name, query)
        if method == "DELETE":
            self.read_body()
            gone = store.delete(resource, ns, name)
            details = {"name": name, "group": resource.group, "kind": resource.plural,
                       "uid": gone["metadata"].get("uid")}
            return self.send_json(200, status(200, "", "", details))
        raise ApiError(405, "MethodNotAllowed", "the server does not allow this method on the requested resource")

    @staticmethod
    def forbidden(method, resource, ns, rest, query, watch):
        """kube-apiserver's 403 for a service account without the RBAC."""
        name = rest[1] if len(rest) > 1 else None
        if watch or query.get("watch") in ("true", "1"):
            verb = "watch"
        else:
            verb = {"GET": "get" if name else "list", "POST": "create", "PUT": "update",
                    "PATCH": "patch", "DELETE": "delete"}.get(method, method.lower())
        what = f'{resource.plural} "{name}"' if name else resource.plural
        scope = f'in the namespace "{ns}"' if ns else "at the cluster scope"
        message = (f'{what} is forbidden: User "system:serviceaccount:kube-system:kube-proxy" cannot '
                   f'{verb} resource "{resource.plural}" in API group "{resource.group}" {scope}')
        details = {"group": resource.group, "kind": resource.plural}
        if name:
            details["name"] = name
        return ApiError(403, "Forbidden", message, details)

    # --- verbs ------------------------------------------------------------------

    def selector(self, query):
        try:
            return Selector(query.get("labelSelector"), query.get("fieldSelector"),
                            self.server.app.store.unsupported_fields)
        except SelectorError as e:
            raise ApiError(400, "BadRequest", str(e)) from None

    def list(self, resource, ns, query):
        store = self.server.app.store
        sel = self.selector(query)
        try:
            limit = int(query.get("limit") or 0)
        except ValueError:
            raise ApiError(400, "BadRequest", f"invalid limit: {query.get('limit')!r}") from None
        rv = query.get("resourceVersion")
        if rv not in (None, "", "0"):
            try:
                want = int(rv)
            except ValueError:
                raise ApiError(400, "BadRequest", f"invalid resource version: {rv!r}") from None
            if want > store.rv:
                raise ApiError(504, "Timeout", f"Timeout: Too large resource version: {want}, current: {store.rv}")
        text = f"{query.get('labelSelector', '')}|{query.get('fieldSelector', '')}"
        items, list_rv, cont, remaining = store.list(resource, ns, sel, max(limit, 0), query.get("continue"), text)
        meta = {"resourceVersion": str(list_rv)}
        if cont:
            meta["continue"] = cont
            if remaining is not None:
                meta["remainingItemCount"] = remaining
        if tables.wants_table(self.headers.get("Accept")):
            return self.send_json(200, tables.table(resource.kind, items, meta))
        self.send_json(200, {"kind": resource.kind + "List", "apiVersion": resource.api_version,
                             "metadata": meta, "items": [_list_item(o) for o in items]})

    def watch(self, resource, ns, query):
        app = self.server.app
        sel = self.selector(query)
        try:
            timeout = float(query.get("timeoutSeconds") or app.watch_timeout)
        except ValueError:
            raise ApiError(400, "BadRequest", f"invalid timeoutSeconds: {query.get('timeoutSeconds')!r}") from None
        bookmarks = query.get("allowWatchBookmarks") in ("true", "1") and app.bookmark_interval > 0
        send_initial = query.get("sendInitialEvents") in ("true", "1")
        w = Watch(app.store, resource, ns, sel, bookmarks, app.bookmark_interval, min(timeout, app.watch_timeout))
        try:
            first = w.start(query.get("resourceVersion"), send_initial)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Cache-Control", "no-cache, private")
            self.end_headers()
            self.entry["status"] = 200
            self.close_connection = True
            events, end = first, None
            as_table = tables.wants_table(self.headers.get("Accept"))
            while True:
                for ev in events:
                    if as_table and ev["type"] in ("ADDED", "MODIFIED", "DELETED") and isinstance(ev["object"], dict) \
                            and ev["object"].get("kind") == resource.kind:
                        ev = {"type": ev["type"], "object": tables.watch_object(resource.kind, ev["object"])}
                    data = (json.dumps(ev) + "\n").encode()
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
                self.wfile.flush()
                if end is not None:
                    break
                events, end = w.next_batch()
            if end == "dropped":
                self.abort()
            else:
                self.wfile.write(b"0\r\n\r\n")
                self.wfile.flush()
        finally:
            w.close()

    def create(self, resource, ns, query):
        app = self.server.app
        obj = validate(resource, self.json_body(), ns)
        apply_defaults(resource, obj)
        if query.get("dryRun"):
            return self.send_json(201, obj)
        _, stored = app.store.put(resource, obj, create=True, update=False)
        self.send_json(201, stored)

    def update(self, resource, ns, name, query):
        app = self.server.app
        obj = validate(resource, self.json_body(), ns, name)
        apply_defaults(resource, obj)
        expect = obj["metadata"].get("resourceVersion")
        creatable = resource.plural == "events"
        type_, stored = app.store.put(resource, obj, expect_rv=expect, create=creatable)
        self.send_json(201 if type_ == "ADDED" else 200, stored)

    def patch(self, resource, ns, name, query):
        app = self.server.app
        ctype = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        body = self.json_body()
        try:
            current = app.store.get(resource, ns, name)
        except ApiError:
            if ctype != "application/apply-patch+yaml":
                raise
            current = None
        if ctype in ("application/merge-patch+json", "application/strategic-merge-patch+json",
                     "application/apply-patch+yaml"):
            result = merge_patch(current or {}, body)
        elif ctype == "application/json-patch+json":
            if current is None:
                raise ApiError(404, "NotFound", f'{resource.plural} "{name}" not found')
            result = json_patch(current, body)
        else:
            raise ApiError(415, "UnsupportedMediaType", f"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json (got {ctype!r})")
        obj = validate(resource, result, ns, name)
        apply_defaults(resource, obj)
        expect = None
        if isinstance(body, dict):
            expect = (body.get("metadata") or {}).get("resourceVersion")
        _, stored = app.store.put(resource, obj, expect_rv=expect, create=current is None)
        self.send_json(200 if current is not None else 201, stored)
