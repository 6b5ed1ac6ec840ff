#!/usr/bin/env python3
"""A Kubernetes API-server test double that kube-rs and kubectl talk to.

  fake_apiserver.py serve --state-dir D [--port P] [--control-port C]
        [--http-port H] [--token T | --token-file F] [--bookmark-interval S]
        [--watch-timeout S] [--history-limit N] [--objects FILE.json]
        [--unsupported-field-selector FIELD]...
  fake_apiserver.py ctl [-d D] COMMAND ...     (see ``ctl --help``)

``serve`` listens on https://127.0.0.1:P (self-signed CA made in D, SAN
127.0.0.1 and localhost; bearer token from D/token), the control API on
http://127.0.0.1:C, and writes D/kubeconfig (server, certificate-authority,
tokenFile), D/ca.crt, D/token, D/serviceaccount/{ca.crt,token,namespace},
D/apiserver.log, and D/ready (JSON with the ports) once listening. Port 0
picks a free port (read it from D/ready). Python 3 standard library and the
openssl command only. See README.md beside this file.
"""

import argparse
import json
import os
import signal
import sys
import threading
import time
import urllib.error
import urllib.request

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from fakeapi import certs  # noqa: E402
from fakeapi.control import ControlError, ControlServer, put_objects  # noqa: E402
from fakeapi.server import App  # noqa: E402


def serve(args):
    ready = os.path.join(args.state_dir, "ready")
    os.makedirs(args.state_dir, exist_ok=True)
    if os.path.exists(ready):
        os.unlink(ready)
    try:
        app = App(args.state_dir, port=args.port, http_port=args.http_port, token=args.token,
                  token_file=args.token_file, bookmark_interval=args.bookmark_interval,
                  watch_timeout=args.watch_timeout, history_limit=args.history_limit,
                  unsupported_fields=args.unsupported_field_selector)
    except (certs.CertError, OSError) as e:
        print(f"fake_apiserver: {e}", file=sys.stderr)
        return 1
    if args.objects:
        try:
            with open(args.objects) as f:
                put_objects(app, json.load(f))
        except (OSError, ValueError, ControlError) as e:
            print(f"fake_apiserver: --objects {args.objects}: {e}", file=sys.stderr)
            return 1
    try:
        app.up()
        control = ControlServer(args.control_port, app)
    except OSError as e:
        print(f"fake_apiserver: listen: {e}", file=sys.stderr)
        return 1
    control.start()
    app.write_client_files(control.server_address[1])
    app.log(f"ready: control on {control.server_address[1]}")
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    while not stop.wait(1):
        pass
    if os.path.exists(ready):
        os.unlink(ready)
    app.log("stopped")
    return 0


def _control_url(state_dir):
    try:
        with open(os.path.join(state_dir, "ready")) as f:
            return f"http://127.0.0.1:{json.load(f)['controlPort']}"
    except (OSError, ValueError, KeyError) as e:
        raise SystemExit(f"ctl: no ready file in {state_dir} ({e}): is the double running?")


def _call(state_dir, method, path, body=None):
    url = _control_url(state_dir) + path
    data = body if body is None or isinstance(body, bytes) else json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        try:
            msg = json.loads(e.read()).get("error")
        except ValueError:
            msg = e.reason
        raise SystemExit(f"ctl: {method} {path}: {e.code} {msg}")
    except urllib.error.URLError as e:
        raise SystemExit(f"ctl: {method} {path}: {e.reason}")


def ctl(args):
    d = args.state_dir
    c = args.command
    a = args.args
    if c == "wait-ready":
        limit = float(a[0]) if a else 30
        end = time.monotonic() + limit
        while time.monotonic() < end:
            if os.path.exists(os.path.join(d, "ready")):
                out = _call(d, "GET", "/state")
                break
            time.sleep(0.1)
        else:
            raise SystemExit(f"ctl: the double in {d} was not ready within {limit:g}s")
    elif c == "put":
        if len(a) != 1:
            raise SystemExit("ctl put FILE.json|-")
        raw = sys.stdin.buffer.read() if a[0] == "-" else open(a[0], "rb").read()
        out = _call(d, "PUT", "/objects", raw)
    elif c == "inject":
        if len(a) not in (2, 3):
            raise SystemExit("ctl inject KIND FILE.json|- [TYPE]")
        raw = sys.stdin.buffer.read() if a[1] == "-" else open(a[1], "rb").read()
        typ = f"&type={a[2]}" if len(a) == 3 else ""
        out = _call(d, "POST", f"/inject?kind={a[0]}{typ}", raw)
    elif c == "delete":
        if len(a) not in (2, 3):
            raise SystemExit("ctl delete KIND NS NAME | ctl delete KIND NAME")
        out = _call(d, "DELETE", "/objects/" + "/".join(a))
    elif c in ("get", "post", "del"):
        if len(a) != 1:
            raise SystemExit(f"ctl {c} /PATH[?QUERY]")
        out = _call(d, {"get": "GET", "post": "POST", "del": "DELETE"}[c], "/" + a[0].lstrip("/"))
    elif c in ("state", "requests", "events"):
        out = _call(d, "GET", "/" + c)
    elif c in ("compact", "drop-watches", "up"):
        out = _call(d, "POST", "/" + c)
    elif c == "down":
        out = _call(d, "POST", "/down" + (f"?seconds={a[0]}" if a else ""))
    elif c == "restart":
        out = _call(d, "POST", "/restart" + ("?compact=1" if "--compact" in a else ""))
    elif c == "rotate-token":
        if a not in ([], ["--grace"]) and not (len(a) == 2 and a[0] == "--grace"):
            raise SystemExit("ctl rotate-token [--grace SECONDS]")
        out = _call(d, "POST", "/rotate-token" + (f"?grace={a[1]}" if a else ""))
    elif c == "forbid":
        code = "401" if "--401" in a else "403"
        names = [x for x in a if x != "--401"]
        out = _call(d, "POST", f"/forbid?code={code}" + (f"&resources={','.join(names)}" if names else ""))
    elif c in ("allow", "rotate-cert"):
        out = _call(d, "POST", "/" + c)
    elif c == "unsupported-field-selector":
        if len(a) != 1:
            raise SystemExit("ctl unsupported-field-selector FIELD")
        out = _call(d, "POST", f"/unsupported-field-selector?field={a[0]}")
    else:
        raise SystemExit(f"ctl: unknown command {c!r} (see ctl --help)")
    json.dump(out, sys.stdout, indent=1)
    print()
    return 0


CTL_HELP = """commands:
  wait-ready [SECONDS]        until D/ready exists and the control API answers
  put FILE.json|-             create or update an object or a List
  delete KIND NS NAME         delete (KIND NAME when cluster-scoped)
  inject KIND FILE.json|- [TYPE]  send any JSON to KIND's watches as one
                              event (ADDED by default), unchecked, not stored
  state | requests | events   GET /state, /requests, /events
  compact | drop-watches | up | down [SECONDS] | restart [--compact]
  unsupported-field-selector FIELD
  rotate-token [--grace SECONDS]  a new token in D/token and D/serviceaccount/token
                              (atomic, as the kubelet); the old one refused now
                              (or after SECONDS)
  forbid [--401] [KIND...]    403 Forbidden for KIND (default: every resource),
                              as with the RBAC removed; --401: every request 401
  allow                       undo forbid
  rotate-cert                 a new serving certificate from the same CA; every
                              connection closed
  get PATH | post PATH | del PATH   any control endpoint
"""


def main(argv=None):
    p = argparse.ArgumentParser(description="Kubernetes API-server test double")
    sub = p.add_subparsers(dest="verb", required=True)
    s = sub.add_parser("serve", help="run the double")
    s.add_argument("--state-dir", required=True)
    s.add_argument("--port", type=int, default=0, help="HTTPS port (0: any free port)")
    s.add_argument("--http-port", type=int, default=None, help="also serve plain HTTP here")
    s.add_argument("--control-port", type=int, default=0)
    s.add_argument("--token")
    s.add_argument("--token-file")
    s.add_argument("--bookmark-interval", type=float, default=3.0, help="seconds; 0 disables bookmarks")
    s.add_argument("--watch-timeout", type=float, default=1800.0, help="longest watch, seconds")
    s.add_argument("--history-limit", type=int, default=10000)
    s.add_argument("--objects", help="a JSON object or List to start with")
    s.add_argument("--unsupported-field-selector", action="append", default=[], metavar="FIELD")
    c = sub.add_parser("ctl", help="call the control API", epilog=CTL_HELP,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    c.add_argument("-d", "--state-dir", default=os.environ.get("FAKE_APISERVER_DIR"))
    c.add_argument("command")
    c.add_argument("args", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.verb == "serve":
        return serve(args)
    if not args.state_dir:
        p.error("ctl needs -d STATE_DIR or FAKE_APISERVER_DIR")
    return ctl(args)


if __name__ == "__main__":
    sys.exit(main())
