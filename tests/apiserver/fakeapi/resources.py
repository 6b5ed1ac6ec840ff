"""The resource types the double serves and its discovery documents.

Each ``Resource`` names a group, version, plural, kind, whether it is
namespaced, its short names and its verbs; ``/api``, ``/apis``,
``/api/v1`` and ``/apis/G/V`` are built from this table, so discovery and
serving cannot disagree.
"""

import hashlib
import base64

VERSION_INFO = {
    "major": "1",
    "minor": "35",
    "emulationMajor": "1",
    "emulationMinor": "35",
    "minCompatibilityMajor": "1",
    "minCompatibilityMinor": "34",
    "gitVersion": "v1.35.0-fake",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-12-17T00:00:00Z",
    "goVersion": "go1.25.5",
    "compiler": "gc",
    "platform": "linux/amd64",
}

RW = ["create", "delete", "get", "list", "patch", "update", "watch"]


class Resource:
    """One served resource type."""

    def __init__(self, group, version, plural, kind, namespaced, short=(), verbs=RW, categories=()):
        self.group = group
        self.version = version
        self.plural = plural
        self.kind = kind
        self.namespaced = namespaced
        self.short = list(short)
        self.verbs = list(verbs)
        self.categories = list(categories)

    @property
    def api_version(self):
        """The apiVersion of its objects ("v1", "discovery.k8s.io/v1")."""
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self):
        """The store key: (group, plural)."""
        return (self.group, self.plural)

    def discovery(self):
        """Its APIResource entry."""
        digest = hashlib.sha256(f"{self.api_version}/{self.kind}".encode()).digest()
        entry = {
            "name": self.plural,
            "singularName": self.kind.lower(),
            "namespaced": self.namespaced,
            "kind": self.kind,
            "verbs": self.verbs,
            "storageVersionHash": base64.b64encode(digest[:8]).decode(),
        }
        if self.short:
            entry["shortNames"] = self.short
        if self.categories:
            entry["categories"] = self.categories
        return entry


RESOURCES = [
    Resource("", "v1", "services", "Service", True, ["svc"], categories=["all"]),
    Resource("", "v1", "endpoints", "Endpoints", True, ["ep"]),
    Resource("", "v1", "nodes", "Node", False, ["no"]),
    Resource("", "v1", "namespaces", "Namespace", False, ["ns"]),
    Resource("", "v1", "events", "Event", True, ["ev"]),
    Resource("discovery.k8s.io", "v1", "endpointslices", "EndpointSlice", True),
    Resource("events.k8s.io", "v1", "events", "Event", True, ["ev"]),
]


def by_path(group, version, plural):
    """The resource served at /api(s)/GROUP/VERSION/PLURAL, or None."""
    for r in RESOURCES:
        if r.group == group and r.version == version and r.plural == plural:
            return r
    return None


def by_object(obj):
    """The resource of an object, from its apiVersion and kind, or None."""
    api_version, kind = obj.get("apiVersion", ""), obj.get("kind", "")
    for r in RESOURCES:
        if r.api_version == api_version and r.kind == kind:
            return r
    return None


def by_name(name):
    """A resource by kind, plural or short name (case-insensitive; "events"
    means v1 events, "events.events.k8s.io" the other group), or None."""
    name = name.lower()
    plural, _, group = name.partition(".")
    for r in RESOURCES:
        if group and r.group != group:
            continue
        if plural in (r.kind.lower(), r.plural, *r.short):
            return r
    return None


def groups():
    """The API groups (without the legacy core group), in table order."""
    seen = []
    for r in RESOURCES:
        if r.group and (r.group, r.version) not in seen:
            seen.append((r.group, r.version))
    return seen


def api_versions(address):
    """The /api document."""
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
    }


def api_group(group):
    """The /apis/GROUP document, or None."""
    versions = [v for g, v in groups() if g == group]
    if not versions:
        return None
    gvs = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": gvs, "preferredVersion": gvs[0]}


def api_group_list():
    """The /apis document."""
    names = []
    for g, _ in groups():
        if g not in names:
            names.append(g)
    docs = []
    for g in names:
        doc = api_group(g)
        del doc["kind"], doc["apiVersion"]
        docs.append(doc)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": docs}


def resource_list(group, version):
    """The /api/v1 or /apis/GROUP/VERSION document, or None."""
    items = [r.discovery() for r in RESOURCES if r.group == group and r.version == version]
    if not items:
        return None
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": items}
