"""Object helpers: Status documents, validation, defaulting, patches.

Defaulting is the small part of the real server's that a proxy relies on:
Service type, session affinity, port protocols and target ports,
clusterIPs, IP families, traffic policies; EndpointSlice port protocols.
"""

import copy
import datetime
import random


class ApiError(Exception):
    """An error the API answers with a Status document."""

    def __init__(self, code, reason, message, details=None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.details = details

    def status(self):
        """The Status document."""
        return status(self.code, self.reason, self.message, self.details)


def status(code, reason, message, details=None):
    """A metav1.Status (Failure unless code is 2xx)."""
    doc = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Success" if 200 <= code < 300 else "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        doc["details"] = details
    if not reason:
        del doc["reason"]
    return doc


def now_rfc3339():
    """The current time, RFC 3339 seconds in UTC (as creationTimestamp)."""
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def validate(resource, obj, namespace=None, name=None):
    """Check an object sent for RESOURCE; fills kind, apiVersion and the
    namespace of the path. Raises ApiError (400/422) on bad input."""
    if not isinstance(obj, dict):
        raise ApiError(400, "BadRequest", "the body is not a JSON object")
    kind, api_version = obj.get("kind"), obj.get("apiVersion")
    if kind is None:
        obj["kind"] = resource.kind
    elif kind != resource.kind:
        raise ApiError(400, "BadRequest", f"kind {kind!r} does not match the resource {resource.plural} ({resource.kind})")
    if api_version is None:
        obj["apiVersion"] = resource.api_version
    elif api_version != resource.api_version:
        raise ApiError(400, "BadRequest", f"apiVersion {api_version!r} does not match {resource.api_version!r}")
    meta = obj.setdefault("metadata", {})
    if not isinstance(meta, dict):
        raise ApiError(400, "BadRequest", f"{resource.kind}: metadata is not an object")
    for field in ("labels", "annotations"):
        value = meta.get(field)
        if value is not None and (
            not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values())
        ):
            raise ApiError(422, "Invalid", f"{resource.kind}: metadata.{field} must map strings to strings")
    if resource.namespaced:
        ns = meta.get("namespace") or namespace or "default"
        if namespace and ns != namespace:
            raise ApiError(400, "BadRequest", f"the namespace of the object ({ns}) does not match the namespace of the request ({namespace})")
        meta["namespace"] = ns
    else:
        meta.pop("namespace", None)
    if name is not None:
        if meta.get("name") not in (None, name):
            raise ApiError(400, "BadRequest", f"the name of the object ({meta.get('name')}) does not match the name in the URL ({name})")
        meta["name"] = name
    if not meta.get("name") and isinstance(meta.get("generateName"), str) and meta["generateName"]:
        meta["name"] = meta["generateName"] + "".join(random.choice("bcdfghjklmnpqrstvwxz2456789") for _ in range(5))
    if not isinstance(meta.get("name"), str) or not meta.get("name"):
        raise ApiError(422, "Invalid", f"{resource.kind} is invalid: metadata.name: Required value: name or generateName is required")
    return obj


def apply_defaults(resource, obj):
    """The real server's defaults for Services and EndpointSlices."""
    if resource.kind == "Service" and resource.group == "":
        spec = obj.setdefault("spec", {})
        if not isinstance(spec, dict):
            raise ApiError(422, "Invalid", "Service: spec is not an object")
        stype = spec.setdefault("type", "ClusterIP")
        spec.setdefault("sessionAffinity", "None")
        ports = spec.get("ports") or []
        if not isinstance(ports, list):
            raise ApiError(422, "Invalid", "Service: spec.ports is not a list")
        for port in ports:
            if not isinstance(port, dict) or "port" not in port:
                raise ApiError(422, "Invalid", "Service: spec.ports[]: port is required")
            port.setdefault("protocol", "TCP")
            if stype != "ExternalName":
                port.setdefault("targetPort", port["port"])
        if stype != "ExternalName":
            ip = spec.get("clusterIP")
            if ip and "clusterIPs" not in spec:
                spec["clusterIPs"] = [ip]
            if ip and ip != "None" and "ipFamilies" not in spec:
                spec["ipFamilies"] = ["IPv6" if ":" in ip else "IPv4"]
            spec.setdefault("ipFamilyPolicy", "SingleStack")
            spec.setdefault("internalTrafficPolicy", "Cluster")
        if stype in ("NodePort", "LoadBalancer"):
            spec.setdefault("externalTrafficPolicy", "Cluster")
    if resource.kind == "EndpointSlice":
        for port in obj.get("ports") or []:
            if isinstance(port, dict):
                port.setdefault("protocol", "TCP")
    return obj


def merge_patch(target, patch):
    """RFC 7386 JSON merge patch (also used for strategic merge patches:
    lists are replaced, which is close enough for tests)."""
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _pointer(path):
    if path == "":
        return []
    if not path.startswith("/"):
        raise ApiError(422, "Invalid", f"json patch: bad path {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc, parts):
    cur = doc
    for p in parts:
        if isinstance(cur, list):
            try:
                cur = cur[int(p)]
            except (ValueError, IndexError):
                raise ApiError(422, "Invalid", f"json patch: no element {p!r}") from None
        elif isinstance(cur, dict) and p in cur:
            cur = cur[p]
        else:
            raise ApiError(422, "Invalid", f"json patch: no member {p!r}")
    return cur


def json_patch(target, ops):
    """RFC 6902 JSON patch: add, remove, replace, test."""
    if not isinstance(ops, list):
        raise ApiError(400, "BadRequest", "json patch: the body is not a list of operations")
    doc = copy.deepcopy(target)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise ApiError(400, "BadRequest", f"json patch: bad operation {op!r}")
        parts = _pointer(op["path"])
        if not parts:
            raise ApiError(422, "Invalid", "json patch: the root cannot be patched")
        parent = _walk(doc, parts[:-1])
        last = parts[-1]
        kind = op["op"]
        if kind == "test":
            if _walk(doc, parts) != op.get("value"):
                raise ApiError(422, "Invalid", f"json patch: test failed at {op['path']}")
        elif kind in ("add", "replace"):
            if isinstance(parent, list):
                idx = len(parent) if last == "-" else int(last) if last.isdigit() else -1
                if not 0 <= idx <= len(parent):
                    raise ApiError(422, "Invalid", f"json patch: bad index {last!r}")
                if kind == "add":
                    parent.insert(idx, op.get("value"))
                elif idx < len(parent):
                    parent[idx] = op.get("value")
                else:
                    raise ApiError(422, "Invalid", f"json patch: bad index {last!r}")
            elif isinstance(parent, dict):
                if kind == "replace" and last not in parent:
                    raise ApiError(422, "Invalid", f"json patch: no member {last!r}")
                parent[last] = op.get("value")
            else:
                raise ApiError(422, "Invalid", f"json patch: {op['path']} is not in a container")
        elif kind == "remove":
            if isinstance(parent, list) and last.isdigit() and int(last) < len(parent):
                del parent[int(last)]
            elif isinstance(parent, dict) and last in parent:
                del parent[last]
            else:
                raise ApiError(422, "Invalid", f"json patch: nothing at {op['path']}")
        else:
            raise ApiError(400, "BadRequest", f"json patch: unsupported op {kind!r}")
    return doc
