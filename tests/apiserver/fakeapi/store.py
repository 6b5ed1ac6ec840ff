"""Objects, the global resourceVersion, the event history and watches.

One counter, like etcd's revision: every create, update and delete bumps it
and stamps ``metadata.resourceVersion``. Every change is kept in a bounded
history (``(rv, resource, type, object, previous object)``), so a watch
from resourceVersion N replays the changes after N, seen through its
selectors the way the real server's watch cache sees them (an object that
stops matching on update is sent as DELETED, one that starts matching as
ADDED). History older than ``compacted`` is gone: a watch from before it
gets an in-stream 410 Expired. Lists page through a frozen snapshot
addressed by the ``continue`` token.
"""

import base64
import bisect
import collections
import copy
import json
import threading
import time
import uuid

from .objects import ApiError, now_rfc3339


class Change:
    """One history entry."""

    __slots__ = ("rv", "rkey", "type", "obj", "prev", "raw")

    def __init__(self, rv, rkey, type_, obj, prev, raw=False):
        self.rv = rv
        self.rkey = rkey
        self.type = type_
        self.obj = obj
        self.prev = prev
        self.raw = raw


def _meta(obj):
    return obj.get("metadata") or {}


def _key(obj):
    meta = _meta(obj)
    return (meta.get("namespace") or "", meta.get("name"))


def _with_rv(obj, rv):
    out = dict(obj)
    out["metadata"] = dict(_meta(obj), resourceVersion=str(rv))
    return out


def _comparable(obj):
    out = copy.deepcopy(obj)
    out.get("metadata", {}).pop("resourceVersion", None)
    return out


class Store:
    """All objects of every resource, behind one condition variable."""

    def __init__(self, history_limit=10000, snapshot_limit=32, first_rv=1):
        self.cond = threading.Condition()
        self.rv = first_rv
        self.compacted = first_rv
        self.objects = collections.defaultdict(dict)
        self.history = []
        self.history_rvs = []
        self.history_limit = history_limit
        self.snapshots = collections.OrderedDict()
        self.snapshot_limit = snapshot_limit
        self.next_snapshot = 1
        self.epoch = 0
        self.open_watches = 0
        self.unsupported_fields = set()

    # --- changes -----------------------------------------------------------

    def _record(self, rkey, type_, obj, prev, raw=False):
        self.history.append(Change(self.rv, rkey, type_, obj, prev, raw))
        self.history_rvs.append(self.rv)
        if len(self.history) > self.history_limit:
            drop = len(self.history) - self.history_limit
            self.compacted = self.history[drop - 1].rv
            del self.history[:drop]
            del self.history_rvs[:drop]
        self.cond.notify_all()

    def put(self, resource, obj, expect_rv=None, create=True, update=True, owned=False):
        """Create or update an object (validated by the caller). Returns
        (event type or None for a no-op, the stored object). ``expect_rv``
        is the optimistic-concurrency check of an update. ``owned``: the
        caller gives OBJ away (freshly parsed, not used again), so it is
        stored without a copy (bulk puts)."""
        if not owned:
            obj = copy.deepcopy(obj)
        with self.cond:
            objs = self.objects[resource.key]
            key = _key(obj)
            old = objs.get(key)
            meta = obj["metadata"]
            if old is None:
                if not create:
                    raise ApiError(404, "NotFound", f'{resource.plural} "{key[1]}" not found',
                                   {"name": key[1], "kind": resource.plural})
                if expect_rv:
                    raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {resource.plural} "{key[1]}": the object has been modified; please apply your changes to the latest version and try again')
                meta["uid"] = str(uuid.uuid4())
                meta["creationTimestamp"] = now_rfc3339()
                meta.pop("deletionTimestamp", None)
                type_ = "ADDED"
            else:
                if not update:
                    raise ApiError(409, "AlreadyExists", f'{resource.plural} "{key[1]}" already exists',
                                   {"name": key[1], "kind": resource.plural})
                old_meta = _meta(old)
                if expect_rv and expect_rv != old_meta.get("resourceVersion"):
                    raise ApiError(409, "Conflict", f'Operation cannot be fulfilled on {resource.plural} "{key[1]}": the object has been modified; please apply your changes to the latest version and try again')
                meta["uid"] = old_meta.get("uid")
                meta["creationTimestamp"] = old_meta.get("creationTimestamp")
                meta["resourceVersion"] = old_meta.get("resourceVersion")
                if _comparable(obj) == _comparable(old):
                    return None, old
                type_ = "MODIFIED"
            self.rv += 1
            meta["resourceVersion"] = str(self.rv)
            objs[key] = obj
            self._record(resource.key, type_, obj, old)
            return type_, obj

    def delete(self, resource, namespace, name):
        """Delete an object; returns it as deleted (with the deletion's
        resourceVersion). Raises 404 when absent."""
        with self.cond:
            objs = self.objects[resource.key]
            key = (namespace or "", name)
            old = objs.pop(key, None)
            if old is None:
                raise ApiError(404, "NotFound", f'{resource.plural} "{name}" not found',
                               {"name": name, "kind": resource.plural})
            self.rv += 1
            gone = _with_rv(old, self.rv)
            self._record(resource.key, "DELETED", gone, old)
            return gone

    def inject(self, resource, type_, obj):
        """Send OBJ (any JSON value, not checked and not stored) to every
        watch of RESOURCE as one event of TYPE, as a broken or hostile
        server would: a wrong kind, a malformed object. The change bumps
        the resourceVersion (stamped into OBJ's metadata when it has one)
        and is replayed like any other. Returns the resourceVersion."""
        obj = copy.deepcopy(obj)
        with self.cond:
            self.rv += 1
            if isinstance(obj, dict) and isinstance(obj.get("metadata"), dict):
                obj["metadata"]["resourceVersion"] = str(self.rv)
            self._record(resource.key, type_, obj, None, raw=True)
            return self.rv

    def get(self, resource, namespace, name):
        """One object, or a 404 ApiError."""
        with self.cond:
            obj = self.objects[resource.key].get((namespace or "", name))
        if obj is None:
            raise ApiError(404, "NotFound", f'{resource.plural} "{name}" not found',
                           {"name": name, "kind": resource.plural})
        return obj

    def all_objects(self, resource):
        """Every object of a resource, sorted by namespace and name."""
        with self.cond:
            return [o for _, o in sorted(self.objects[resource.key].items())]

    # --- lists -------------------------------------------------------------

    def list(self, resource, namespace, selector, limit=0, token=None, selector_text=""):
        """(items, resourceVersion, continue token, remaining count)."""
        with self.cond:
            if token:
                snap_id, offset = self._decode(token)
                snap = self.snapshots.get(snap_id)
                if snap is None:
                    raise ApiError(410, "Expired", "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.")
                if snap["what"] != (resource.key, namespace, selector_text):
                    raise ApiError(400, "BadRequest", "the continue token was issued for another list (resource, namespace or selectors differ)")
                self.snapshots.move_to_end(snap_id)
                items, rv = snap["items"], snap["rv"]
            else:
                snap_id, offset = None, 0
                items = [o for k, o in sorted(self.objects[resource.key].items())
                         if (namespace is None or k[0] == namespace) and selector.matches(o)]
                rv = self.rv
            if not limit or offset + limit >= len(items):
                if snap_id is not None:
                    self.snapshots.pop(snap_id, None)
                return items[offset:], rv, None, None
            if snap_id is None:
                snap_id = self.next_snapshot
                self.next_snapshot += 1
                self.snapshots[snap_id] = {"what": (resource.key, namespace, selector_text), "items": items, "rv": rv}
                while len(self.snapshots) > self.snapshot_limit:
                    self.snapshots.popitem(last=False)
            end = offset + limit
            remaining = len(items) - end if selector.empty() else None
            return items[offset:end], rv, self._encode(snap_id, end, rv), remaining

    @staticmethod
    def _encode(snap_id, offset, rv):
        raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "id": snap_id, "off": offset})
        return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")

    @staticmethod
    def _decode(token):
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            doc = json.loads(raw)
            return int(doc["id"]), int(doc["off"])
        except (ValueError, KeyError, TypeError):
            raise ApiError(400, "BadRequest", f"continue key is not valid: {token!r}") from None

    # --- history -----------------------------------------------------------

    def compact(self):
        """Forget the history up to now (and every list snapshot)."""
        with self.cond:
            self.history.clear()
            self.history_rvs.clear()
            self.compacted = self.rv
            self.snapshots.clear()
            self.cond.notify_all()
            return self.rv

    def drop_watches(self):
        """End every open watch abruptly."""
        with self.cond:
            self.epoch += 1
            self.cond.notify_all()

    def changes_after(self, rv):
        """History entries with resourceVersion > rv (caller holds cond)."""
        return self.history[bisect.bisect_right(self.history_rvs, rv):]

    def state(self):
        """A summary for the control API."""
        with self.cond:
            return {
                "resourceVersion": str(self.rv),
                "compacted": str(self.compacted),
                "history": len(self.history),
                "openWatches": self.open_watches,
                "unsupportedFieldSelectors": sorted(self.unsupported_fields),
                "objects": {f"{g or 'core'}/{p}": len(o) for (g, p), o in sorted(self.objects.items())},
            }


class Watch:
    """One watch stream's position and filters; ``next_batch`` blocks."""

    def __init__(self, store, resource, namespace, selector, bookmarks, bookmark_interval, timeout):
        self.store = store
        self.resource = resource
        self.namespace = namespace
        self.selector = selector
        self.bookmarks = bookmarks
        self.bookmark_interval = bookmark_interval
        self.deadline = time.monotonic() + timeout
        self.next_bookmark = time.monotonic() + bookmark_interval
        self.pos = 0
        self.epoch = None
        self.done = False

    def _mine(self, obj):
        return self.namespace is None or _meta(obj).get("namespace") == self.namespace

    def _event(self, type_, obj):
        return {"type": type_, "object": obj}

    def bookmark(self, initial_end=False):
        """A BOOKMARK event at the current position."""
        meta = {"resourceVersion": str(self.pos)}
        if initial_end:
            meta["annotations"] = {"k8s.io/initial-events-end": "true"}
        return self._event("BOOKMARK", {"kind": self.resource.kind, "apiVersion": self.resource.api_version, "metadata": meta})

    def expired(self, rv):
        """The in-stream 410 of a watch from a compacted resourceVersion."""
        return self._event("ERROR", {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": f"too old resource version: {rv} ({self.store.compacted})",
            "reason": "Expired", "code": 410,
        })

    def convert(self, ch):
        """A history entry as this watcher sees it, or None."""
        if ch.rkey != self.resource.key:
            return None
        if ch.raw:
            return self._event(ch.type, ch.obj)
        sel = self.selector
        if ch.type == "DELETED":
            return self._event("DELETED", ch.obj) if self._mine(ch.obj) and sel.matches(ch.obj) else None
        if not self._mine(ch.obj):
            return None
        now_in = sel.matches(ch.obj)
        was_in = ch.prev is not None and sel.matches(ch.prev)
        if now_in and was_in:
            return self._event("MODIFIED", ch.obj)
        if now_in:
            return self._event("ADDED", ch.obj)
        if was_in:
            return self._event("DELETED", _with_rv(ch.prev, ch.rv))
        return None

    def start(self, rv_text, send_initial=False):
        """The first events: ADDED for the current objects (no or "0"
        resourceVersion, or sendInitialEvents), the replay after N, or the
        410 for a compacted N. Raises ApiError for a bad or future N."""
        store = self.store
        with store.cond:
            self.epoch = store.epoch
            store.open_watches += 1
            if rv_text in (None, "", "0") or send_initial:
                if rv_text not in (None, "", "0"):
                    self._parse_rv(rv_text)
                objs = [o for k, o in sorted(store.objects[self.resource.key].items())
                        if self._mine(o) and self.selector.matches(o)]
                self.pos = store.rv
                out = [self._event("ADDED", o) for o in objs]
                if send_initial:
                    out.append(self.bookmark(initial_end=True))
                return out
            rv = self._parse_rv(rv_text)
            if rv < store.compacted:
                self.done = True
                return [self.expired(rv)]
            end = time.monotonic() + 3
            while rv > store.rv and time.monotonic() < end:
                store.cond.wait(0.1)
            if rv > store.rv:
                raise ApiError(504, "Timeout", f"Timeout: Too large resource version: {rv}, current: {store.rv}")
            self.pos = rv
            out = [e for e in map(self.convert, store.changes_after(rv)) if e]
            self.pos = store.rv
            return out

    def _parse_rv(self, text):
        try:
            rv = int(text)
            if rv < 0:
                raise ValueError
            return rv
        except ValueError:
            self.close()
            raise ApiError(400, "BadRequest", f"invalid resource version: {text!r}") from None

    def next_batch(self):
        """(events, end) where end is None, "timeout", "dropped" or
        "expired"; blocks until there is something to send."""
        store = self.store
        if self.done:
            return [], "expired"
        with store.cond:
            while True:
                if store.epoch != self.epoch:
                    return [], "dropped"
                now = time.monotonic()
                if now >= self.deadline:
                    return [], "timeout"
                if self.pos < store.compacted:
                    self.done = True
                    return [self.expired(self.pos)], "expired"
                out = [e for e in map(self.convert, store.changes_after(self.pos)) if e]
                self.pos = store.rv
                if out:
                    return out, None
                if self.bookmarks and now >= self.next_bookmark:
                    self.next_bookmark = now + self.bookmark_interval
                    return [self.bookmark()], None
                wake = self.deadline
                if self.bookmarks:
                    wake = min(wake, self.next_bookmark)
                store.cond.wait(max(0.01, wake - now))

    def close(self):
        """Unregister (once)."""
        with self.store.cond:
            if self.epoch is not None:
                self.store.open_watches -= 1
                self.epoch = None
