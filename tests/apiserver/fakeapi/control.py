"""The control API for tests: plain HTTP on 127.0.0.1, JSON in and out.

  GET    /state                          resourceVersion, history, open watches
  PUT    /objects                        create or update an object or a List
  GET    /objects/KIND[/NS[/NAME]]       stored objects
  DELETE /objects/KIND/NS/NAME           delete (KIND/NAME when cluster-scoped)
  POST   /compact                        forget the history up to now
  POST   /drop-watches                   close every watch stream abruptly
  POST   /down[?seconds=N]   POST /up    stop / resume listening
  POST   /restart[?compact=1]            down and up, history compacted
  GET    /requests[?since=SEQ]           logged API requests; DELETE clears
  GET    /events                         stored Events (v1 and events.k8s.io)
  POST   /unsupported-field-selector?field=F   refuse field selectors on F
  DELETE /unsupported-field-selector[?field=F] accept them again
  POST   /bookmark-interval?seconds=S    BOOKMARK period of new watches
  POST   /rotate-token[?grace=S]         a new token; the old refused (after S s)
  POST   /forbid[?code=401][&resources=services,nodes]   403 (RBAC gone) or 401
  POST   /allow                          undo /forbid
  POST   /rotate-cert                    a new serving certificate, same CA
  POST   /inject?kind=KIND[&type=T]      send the body (any JSON, unchecked,
                                         not stored) to KIND's watches as
                                         one event of type T (ADDED)

KIND is a kind, plural or short name (``svc``, ``endpointslices``, ...).
"""

import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import certs, resources
from .objects import ApiError, apply_defaults, validate


class ControlError(Exception):
    """A bad control request (400 with {"error": ...})."""


def put_objects(app, doc):
    """Create or update every object of DOC (an object or a List, freshly
    parsed: its objects are stored as they are, without a copy)."""
    items = doc.get("items") if isinstance(doc, dict) and doc.get("kind", "").endswith("List") and "items" in doc else [doc]
    if not isinstance(items, list):
        raise ControlError("items is not a list")
    results = []
    for obj in items:
        if not isinstance(obj, dict):
            raise ControlError(f"not an object: {obj!r}")
        resource = resources.by_object(obj)
        if resource is None:
            raise ControlError(f"unknown apiVersion/kind {obj.get('apiVersion')!r}/{obj.get('kind')!r}")
        try:
            obj = validate(resource, obj)
            apply_defaults(resource, obj)
            type_, stored = app.store.put(resource, obj, owned=True)
        except ApiError as e:
            raise ControlError(e.message) from None
        meta = stored["metadata"]
        results.append({"kind": resource.kind, "namespace": meta.get("namespace"), "name": meta["name"],
                        "type": type_ or "UNCHANGED", "resourceVersion": meta["resourceVersion"]})
    return {"resourceVersion": str(app.store.rv), "results": results}


def _resource(name):
    r = resources.by_name(name)
    if r is None:
        raise ControlError(f"unknown kind {name!r}")
    return r


class ControlHandler(BaseHTTPRequestHandler):
    """One control request (``self.server.app`` is the App)."""

    protocol_version = "HTTP/1.1"
    timeout = 60

    def log_message(self, fmt, *args):
        self.server.app.log(f"control: {fmt % args}")

    def send_json(self, code, doc):
        body = (json.dumps(doc, indent=1) + "\n").encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise ControlError("bad Content-Length") from None
        if length > 64 << 20:
            raise ControlError("body too large")
        raw = self.rfile.read(length) if length else b""
        if not raw.strip():
            raise ControlError("empty body")
        try:
            return json.loads(raw)
        except ValueError as e:
            raise ControlError(f"the body is not JSON: {e}") from None

    def do_GET(self):
        self.dispatch("GET")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_POST(self):
        self.dispatch("POST")

    def do_DELETE(self):
        self.dispatch("DELETE")

    def dispatch(self, method):
        url = urllib.parse.urlsplit(self.path)
        q = {k: v[-1] for k, v in urllib.parse.parse_qs(url.query).items()}
        parts = [urllib.parse.unquote(p) for p in url.path.strip("/").split("/") if p]
        try:
            code, doc = self.route(method, parts, q)
        except ControlError as e:
            self.close_connection = True
            code, doc = 400, {"error": str(e)}
        except ApiError as e:
            code, doc = e.code, {"error": e.message}
        except Exception as e:  # a bug must not kill the server
            import traceback

            self.server.app.log("control: internal error: " + traceback.format_exc())
            code, doc = 500, {"error": f"internal error: {e}"}
        try:
            self.send_json(code, doc)
        except OSError:
            pass

    def _seconds(self, q, name):
        try:
            return float(q[name]) if name in q else None
        except ValueError:
            raise ControlError(f"{name} is not a number: {q[name]!r}") from None

    def route(self, method, parts, q):
        app = self.server.app
        store = app.store
        head = parts[0] if parts else ""
        if method == "GET" and head == "state":
            return 200, dict(store.state(), up=app.is_up, port=app.port, **app.credentials_state())
        if head == "objects":
            if method in ("PUT", "POST") and len(parts) == 1:
                return 200, put_objects(app, self.body())
            if method == "GET" and len(parts) in (2, 3, 4):
                r = _resource(parts[1])
                objs = store.all_objects(r)
                if len(parts) >= 3:
                    ns_or_name = parts[2]
                    if r.namespaced:
                        objs = [o for o in objs if o["metadata"].get("namespace") == ns_or_name]
                    else:
                        objs = [o for o in objs if o["metadata"]["name"] == ns_or_name]
                if len(parts) == 4:
                    objs = [o for o in objs if o["metadata"]["name"] == parts[3]]
                if len(parts) == 4 or (len(parts) == 3 and not r.namespaced):
                    if not objs:
                        return 404, {"error": f"{r.kind} {'/'.join(parts[2:])} not found"}
                    return 200, objs[0]
                return 200, {"kind": "List", "apiVersion": "v1", "items": objs}
            if method == "DELETE" and len(parts) in (3, 4):
                r = _resource(parts[1])
                if r.namespaced and len(parts) != 4:
                    raise ControlError(f"{r.kind} is namespaced: DELETE /objects/{parts[1]}/NS/NAME")
                if not r.namespaced and len(parts) != 3:
                    raise ControlError(f"{r.kind} is cluster-scoped: DELETE /objects/{parts[1]}/NAME")
                ns, name = (parts[2], parts[3]) if r.namespaced else (None, parts[2])
                gone = store.delete(r, ns, name)
                return 200, {"resourceVersion": gone["metadata"]["resourceVersion"], "deleted": name}
        if method == "POST" and head == "compact":
            return 200, {"compacted": str(store.compact())}
        if method == "POST" and head == "drop-watches":
            n = store.state()["openWatches"]
            store.drop_watches()
            return 200, {"dropped": n}
        if method == "POST" and head == "down":
            app.down(self._seconds(q, "seconds"))
            return 200, {"up": False}
        if method == "POST" and head == "up":
            app.up()
            return 200, {"up": True}
        if method == "POST" and head == "restart":
            app.restart(compact=q.get("compact") in ("1", "true"))
            return 200, dict(store.state(), up=app.is_up)
        if head == "requests":
            if method == "GET":
                try:
                    since = int(q.get("since") or 0)
                except ValueError:
                    raise ControlError("since is not an integer") from None
                return 200, {"requests": app.request_log(since)}
            if method == "DELETE":
                app.clear_requests()
                return 200, {"cleared": True}
        if method == "GET" and head == "events":
            items = []
            for r in resources.RESOURCES:
                if r.kind == "Event":
                    items += store.all_objects(r)
            return 200, {"kind": "List", "apiVersion": "v1", "items": items}
        if head == "unsupported-field-selector":
            field = q.get("field")
            with store.cond:
                if method == "POST":
                    if not field:
                        raise ControlError("field= is required")
                    store.unsupported_fields.add(field)
                elif method == "DELETE":
                    if field:
                        store.unsupported_fields.discard(field)
                    else:
                        store.unsupported_fields.clear()
                else:
                    raise ControlError("POST or DELETE")
                return 200, {"unsupported": sorted(store.unsupported_fields)}
        if method == "POST" and head == "bookmark-interval":
            seconds = self._seconds(q, "seconds")
            if seconds is None or seconds < 0:
                raise ControlError("seconds= (>= 0) is required")
            app.bookmark_interval = seconds
            return 200, {"bookmarkInterval": seconds}
        if method == "POST" and head == "rotate-token":
            grace = self._seconds(q, "grace")
            if grace is not None and grace < 0:
                raise ControlError("grace= must be >= 0")
            return 200, app.rotate_token(grace)
        if method == "POST" and head == "forbid":
            code = q.get("code", "403")
            if code not in ("401", "403"):
                raise ControlError("code= is 401 or 403")
            names = [n for n in (q.get("resources") or "").split(",") if n]
            return 200, app.forbid(int(code), [_resource(n).plural for n in names])
        if method == "POST" and head == "allow":
            return 200, app.allow()
        if method == "POST" and head == "rotate-cert":
            try:
                return 200, app.rotate_cert()
            except certs.CertError as e:
                return 500, {"error": str(e)}
        if method == "POST" and head == "inject":
            if not q.get("kind"):
                raise ControlError("kind= is required")
            r = _resource(q["kind"])
            type_ = q.get("type") or "ADDED"
            if type_ not in ("ADDED", "MODIFIED", "DELETED", "BOOKMARK", "ERROR"):
                raise ControlError(f"type {type_!r} is not a watch event type")
            rv = store.inject(r, type_, self.body())
            return 200, {"resourceVersion": str(rv), "injected": type_, "resource": r.plural}
        return 404, {"error": f"no control endpoint {method} /{'/'.join(parts)}"}


class ControlServer(ThreadingHTTPServer):
    """The control listener."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, port, app):
        self.app = app
        super().__init__(("127.0.0.1", port), ControlHandler)

    def start(self):
        """Serve in a daemon thread."""
        threading.Thread(target=self.serve_forever, daemon=True).start()
