#!/usr/bin/env python3
"""JSON objects for the API-server double, from short arguments; prints a
v1 List of every object given (objects separated by "--"):

  objs.py node N IP4 IP6                    Node node-N (InternalIPs, podCIDRs)
  objs.py svc NAME [key=value...]           Service in namespace "cluster"
      type=ClusterIP|NodePort|LoadBalancer  ip=CLUSTER-IP[,CLUSTER-IP6]
      policy=SingleStack|RequireDualStack   port=80 target=80 proto=TCP np=NODE-PORT
      etp=Local hc=HEALTH-CHECK-NODE-PORT   lb=LB-IP[,...] ranges=CIDR[,...]
      eip=EXTERNAL-IP[,...]
  objs.py slice SVC [key=value...] EP...    EndpointSlice SVC-4 (or SVC-6 with v6=1)
      port=80 proto=TCP v6=1; EP = ADDRESS@NODE-N[~] (~: terminating, serving)
"""
import ipaddress
import json
import sys

NS = "cluster"


def node(n, ip4, ip6):
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": f"node-{n}", "labels": {"kubernetes.io/hostname": f"node-{n}"}},
            "spec": {"podCIDR": f"10.244.{n}.0/24", "podCIDRs": [f"10.244.{n}.0/24", f"fd00:244:{n}::/64"]},
            "status": {"addresses": [{"type": "InternalIP", "address": ip4},
                                     {"type": "InternalIP", "address": ip6},
                                     {"type": "Hostname", "address": f"node-{n}"}]}}


def family(ip):
    return "IPv6" if ipaddress.ip_address(ip).version == 6 else "IPv4"


def svc(name, **kv):
    port = {"name": "p", "port": int(kv.get("port", 80)), "targetPort": int(kv.get("target", kv.get("port", 80))),
            "protocol": kv.get("proto", "TCP")}
    if "np" in kv:
        port["nodePort"] = int(kv["np"])
    ips = kv["ip"].split(",")
    spec = {"type": kv.get("type", "NodePort" if "np" in kv else "ClusterIP"),
            "clusterIP": ips[0], "clusterIPs": ips, "ipFamilies": [family(i) for i in ips],
            "ipFamilyPolicy": kv.get("policy", "RequireDualStack" if len(ips) > 1 else "SingleStack"),
            "ports": [port]}
    if "etp" in kv:
        spec["externalTrafficPolicy"] = kv["etp"]
    if "hc" in kv:
        spec["healthCheckNodePort"] = int(kv["hc"])
    if "eip" in kv:
        spec["externalIPs"] = kv["eip"].split(",")
    if "ranges" in kv:
        spec["loadBalancerSourceRanges"] = kv["ranges"].split(",")
    obj = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NS}, "spec": spec}
    if "lb" in kv:
        obj["status"] = {"loadBalancer": {"ingress": [{"ip": ip} for ip in kv["lb"].split(",")]}}
    return obj


def endpoint(ep):
    terminating = ep.endswith("~")
    addr, node_name = ep.rstrip("~").split("@")
    return {"addresses": [addr], "nodeName": node_name,
            "conditions": {"ready": not terminating, "serving": True, "terminating": terminating}}


def slice_(svc_name, *eps, **kv):
    v6 = kv.get("v6") == "1"
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{svc_name}-{6 if v6 else 4}", "namespace": NS,
                         "labels": {"kubernetes.io/service-name": svc_name}},
            "addressType": "IPv6" if v6 else "IPv4",
            "ports": [{"name": "p", "port": int(kv.get("port", 80)), "protocol": kv.get("proto", "TCP")}],
            "endpoints": [endpoint(ep) for ep in eps]}


def build(args):
    kind, rest = args[0], args[1:]
    pos = [a for a in rest if "=" not in a]
    kv = dict(a.split("=", 1) for a in rest if "=" in a)
    if kind == "node":
        return node(*pos)
    if kind == "svc":
        return svc(pos[0], **kv)
    if kind == "slice":
        return slice_(pos[0], *pos[1:], **kv)
    raise SystemExit(f"objs.py: unknown kind {kind}")


items, cur = [], []
for a in sys.argv[1:] + ["--"]:
    if a == "--":
        if cur:
            items.append(build(cur))
        cur = []
    else:
        cur.append(a)
print(json.dumps({"kind": "List", "apiVersion": "v1", "items": items}))
