#!/usr/bin/env python3
"""Manifests for the proxier benchmarks (bench/proxier.sh, bench/scale.sh).

    proxier-gen.py manifests DIR N R [SPLIT]
                                       N ClusterIP TCP Services (port 80) x R
                                       ready endpoints on node-2, port 80
    proxier-gen.py change DIR N R      rewrite Service 0's EndpointSlice file
                                       with its first endpoint replaced
    proxier-gen.py restore N R         `ipvsadm -R` input of the same table
    proxier-gen.py objects FILE N R [NODE-IP]
                                       the same Services and EndpointSlices
                                       and a Node node-1 (InternalIP NODE-IP,
                                       default 192.168.100.1) as one JSON v1
                                       List, for the API-server double
                                       (tests/apiserver: `serve --objects`)

Service i gets ClusterIP 10.96.x.y (k = i + 10, x = k >> 8, y = k & 255),
endpoint j of Service i is 10.(244 + (e >> 16)).x.y with e = i * R + j + 1.
Files: services.yaml (every Service), slices.yaml (the EndpointSlices of
Services SPLIT..N-1), slice-I.yaml for I < SPLIT (default 1: slice-0.yaml,
Service 0's, the one `change` rewrites; bench/churn.py rewrites the others).
Every file is written to a temporary name and renamed into place.
"""

import json
import os
import sys

NEW_ENDPOINT = "10.250.0.1"


def vip(i):
    k = i + 10
    assert k < 65536, "too many Services for 10.96.0.0/16"
    return f"10.96.{k >> 8}.{k & 255}"


def endpoint(i, j, r):
    e = i * r + j + 1
    return f"10.{244 + (e >> 16)}.{(e >> 8) & 255}.{e & 255}"


def service(i):
    return (
        "---\napiVersion: v1\nkind: Service\n"
        f"metadata: {{name: svc-{i}, namespace: bench}}\n"
        f"spec:\n  type: ClusterIP\n  clusterIP: {vip(i)}\n"
        "  ports:\n  - {name: http, port: 80, targetPort: 80, protocol: TCP}\n"
    )


def endpoint_slice(i, addresses):
    out = [
        "---\napiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\n"
        f"metadata: {{name: svc-{i}-1, namespace: bench, "
        f"labels: {{kubernetes.io/service-name: svc-{i}}}}}\n"
        "addressType: IPv4\n"
        "ports: [{name: http, port: 80, protocol: TCP}]\n"
        "endpoints:\n"
    ]
    for address in addresses:
        out.append(
            f'- {{addresses: ["{address}"], conditions: {{ready: true}}, nodeName: node-2}}\n'
        )
    return "".join(out)


def service_object(i):
    """Service i as a JSON object (the API form of `service`)."""
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": f"svc-{i}", "namespace": "bench"},
        "spec": {
            "type": "ClusterIP",
            "clusterIP": vip(i),
            "ports": [{"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP"}],
        },
    }


def endpoint_slice_object(i, addresses):
    """The API form of `endpoint_slice`."""
    return {
        "apiVersion": "discovery.k8s.io/v1",
        "kind": "EndpointSlice",
        "metadata": {
            "name": f"svc-{i}-1",
            "namespace": "bench",
            "labels": {"kubernetes.io/service-name": f"svc-{i}"},
        },
        "addressType": "IPv4",
        "ports": [{"name": "http", "port": 80, "protocol": "TCP"}],
        "endpoints": [
            {"addresses": [address], "conditions": {"ready": True}, "nodeName": "node-2"}
            for address in addresses
        ],
    }


def node_object(ip):
    """Node node-1 with InternalIP IP."""
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {"name": "node-1", "labels": {"kubernetes.io/hostname": "node-1"}},
        "status": {
            "addresses": [
                {"type": "InternalIP", "address": ip},
                {"type": "Hostname", "address": "node-1"},
            ]
        },
    }


def objects(n, r, node_ip):
    """One v1 List of the Node, the N Services and their EndpointSlices, in chunks."""
    yield '{"kind": "List", "apiVersion": "v1", "items": [\n'
    yield json.dumps(node_object(node_ip))
    for i in range(n):
        yield ",\n" + json.dumps(service_object(i))
        yield ",\n" + json.dumps(endpoint_slice_object(i, endpoints(i, r)))
    yield "\n]}\n"


def write(path, chunks):
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "w") as f:
        for chunk in chunks:
            f.write(chunk)
    os.rename(tmp, path)


def endpoints(i, r):
    return [endpoint(i, j, r) for j in range(r)]


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    what = argv[0]
    if what == "restore":
        n, r = int(argv[1]), int(argv[2])
        out = sys.stdout
        for i in range(n):
            out.write(f"-A -t {vip(i)}:80 -s rr\n")
            for address in endpoints(i, r):
                out.write(f"-a -t {vip(i)}:80 -r {address}:80 -m -w 1\n")
        return
    if what == "objects":
        n, r = int(argv[2]), int(argv[3])
        write(argv[1], objects(n, r, argv[4] if len(argv) > 4 else "192.168.100.1"))
        return
    directory, n, r = argv[1], int(argv[2]), int(argv[3])
    os.makedirs(directory, exist_ok=True)
    if what == "manifests":
        write(os.path.join(directory, "services.yaml"), (service(i) for i in range(n)))
        split = int(argv[4]) if len(argv) > 4 else 1
        write(
            os.path.join(directory, "slices.yaml"),
            (endpoint_slice(i, endpoints(i, r)) for i in range(split, n)),
        )
        for i in range(min(split, n)):
            write(os.path.join(directory, f"slice-{i}.yaml"), [endpoint_slice(i, endpoints(i, r))])
    elif what == "change":
        write(
            os.path.join(directory, "slice-0.yaml"),
            [endpoint_slice(0, [NEW_ENDPOINT] + endpoints(0, r)[1:])],
        )
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv[1:])
