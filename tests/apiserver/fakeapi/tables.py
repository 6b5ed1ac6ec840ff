"""Server-side tables (``Accept: ...;as=Table;g=meta.k8s.io``), as kubectl
asks for them: the columns ``kubectl get`` shows for Services, Nodes and
EndpointSlices (NAME and AGE for the rest), rows carrying the object's
metadata as PartialObjectMetadata."""

import datetime


def wants_table(accept):
    """True when the Accept header asks for a meta.k8s.io Table first."""
    first = (accept or "").split(",")[0]
    params = {p.strip() for p in first.split(";")[1:]}
    return "as=Table" in params and "g=meta.k8s.io" in params


def _age(obj):
    stamp = (obj.get("metadata") or {}).get("creationTimestamp")
    try:
        then = datetime.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc)
    except (TypeError, ValueError):
        return "<unknown>"
    s = max(0, int((datetime.datetime.now(datetime.timezone.utc) - then).total_seconds()))
    if s < 120:
        return f"{s}s"
    if s < 7200:
        return f"{s // 60}m"
    if s < 172800:
        return f"{s // 3600}h"
    return f"{s // 86400}d"


def _svc_ports(spec):
    out = []
    for p in spec.get("ports") or []:
        node_port = f":{p['nodePort']}" if p.get("nodePort") else ""
        out.append(f"{p.get('port')}{node_port}/{p.get('protocol', 'TCP')}")
    return ",".join(out) or "<none>"


def _svc_external(obj):
    spec, status = obj.get("spec") or {}, obj.get("status") or {}
    if spec.get("type") == "ExternalName":
        return spec.get("externalName", "<none>")
    ips = [i.get("ip") or i.get("hostname") for i in (status.get("loadBalancer") or {}).get("ingress") or []]
    ips += spec.get("externalIPs") or []
    if ips:
        return ",".join(i for i in ips if i)
    return "<pending>" if spec.get("type") == "LoadBalancer" else "<none>"


def _service(obj):
    spec = obj.get("spec") or {}
    return [spec.get("type", "ClusterIP"), spec.get("clusterIP") or "<none>", _svc_external(obj), _svc_ports(spec)]


def _node(obj):
    conditions = (obj.get("status") or {}).get("conditions") or []
    ready = next((c for c in conditions if c.get("type") == "Ready"), None)
    status = "Ready" if ready and ready.get("status") == "True" else "NotReady" if ready else "Unknown"
    labels = (obj.get("metadata") or {}).get("labels") or {}
    roles = ",".join(sorted(k.split("/", 1)[1] for k in labels if k.startswith("node-role.kubernetes.io/"))) or "<none>"
    version = ((obj.get("status") or {}).get("nodeInfo") or {}).get("kubeletVersion", "")
    return [status, roles, AGE, version]


def _slice(obj):
    ports = ",".join(str(p.get("port")) for p in obj.get("ports") or []) or "<unset>"
    addrs = [a for e in obj.get("endpoints") or [] for a in e.get("addresses") or []]
    shown = ",".join(addrs[:3]) + (f" + {len(addrs) - 3} more..." if len(addrs) > 3 else "")
    return [obj.get("addressType", ""), ports, shown or "<unset>"]


AGE = object()  # where the Age cell goes when it is not last

# kind -> (the columns after NAME, the cells function); Age is last unless placed.
COLUMNS = {
    "Service": (["Type", "Cluster-IP", "External-IP", "Port(s)", "Age"], _service),
    "Node": (["Status", "Roles", "Age", "Version"], _node),
    "EndpointSlice": (["AddressType", "Ports", "Endpoints", "Age"], _slice),
}


def _columns(kind):
    names, _ = COLUMNS.get(kind, (["Age"], None))
    return [{"name": n, "type": "string", "format": "name" if n == "Name" else "", "description": n, "priority": 0}
            for n in ["Name"] + names]


def _row(kind, obj):
    _, cells = COLUMNS.get(kind, (["Age"], None))
    meta = obj.get("metadata") or {}
    values = cells(obj) if cells else []
    if AGE not in values:
        values.append(AGE)
    row = [meta.get("name", "")] + [_age(obj) if v is AGE else v for v in values]
    return {"cells": row, "object": {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}}


def table(kind, objs, list_meta):
    """A meta.k8s.io/v1 Table of objects of KIND."""
    return {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": list_meta,
            "columnDefinitions": _columns(kind), "rows": [_row(kind, o) for o in objs]}


def watch_object(kind, obj):
    """One object as a one-row Table (a GET, or a watch event's object)."""
    meta = obj.get("metadata") or {}
    return table(kind, [obj], {"resourceVersion": meta.get("resourceVersion", "")})
