# Sourced by the end-to-end suites of API mode (tests/e2e/api.sh,
# tests/e2e/creds.sh, tests/e2e/badapi.sh) inside the test VM as
#   . "$(dirname "$0")/apilib.sh" NAME PROXIER_BINARY
# It sets ROOT (the repository) and PROXIER, sources pods.sh and check.sh,
# empties the suite's work directory W=/tmp/e2e-NAME, and gives the
# API-server double (D=$W/apiserver, on 127.0.0.1:6443, control 6444) and
# its objects, the proxier run as kubeadm runs kube-proxy (CFG, LOG), and
# helpers for checks.

[ -n "${2:-}" ] || { echo "usage: tests/e2e/$1.sh PROXIER_BINARY" >&2; exit 2; }
[ "${KPVS_IN_VM:-}" = 1 ] || { echo "$1: run me inside the VM (vm/run.sh)" >&2; exit 2; }
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
. "$ROOT/tests/e2e/pods.sh"
. "$ROOT/tests/e2e/check.sh"
PROXIER=$(realpath "$2")
W=/tmp/e2e-$1
D=$W/apiserver
LOG=$W/proxier.log
CFG=$W/config.yaml
rm -rf "$W"
mkdir -p "$W"
# eventually CMD...: within 15 s.
eventually() { within 15 "$@"; }
# slowly CMD...: within 60 s (after an outage the watchers reconnect with
# an exponential backoff of up to 30 s).
slowly() { within 60 "$@"; }
# after_relist CMD...: within 150 s, the time taken printed. A watch from a
# compacted resourceVersion gets a 410; kube-rs relists after its backoff,
# which grew during the outage (up to ~45 s with jitter), after a reconnect
# that waited as long.
after_relist() {
    local start=$SECONDS
    within 150 "$@" || return 1
    echo "     seen $((SECONDS - start)) s after the restart"
}
eq() { [ "$1" = "$2" ] || { echo "     expected [$2], got [$1]"; return 1; }; }
nonempty() { [ -n "$1" ] || { echo "     got nothing"; return 1; }; }

# --- the API-server double ------------------------------------------------
API_PID=
ctl() { "$ROOT/tests/apiserver/ctl.sh" -d "$D" "$@"; }
start_apiserver() { # start_apiserver [SERVE-OPTION...]
    python3 "$ROOT/tests/apiserver/fake_apiserver.py" serve --state-dir "$D" --port 6443 \
        --control-port 6444 --bookmark-interval 2 "$@" >"$W/apiserver.out" 2>&1 &
    API_PID=$!
    ctl wait-ready 60 >/dev/null
}
put() { ctl put - >/dev/null; } # put: a JSON object or List on stdin
list() { # list OBJECT...: a v1 List
    local sep= item
    printf '{"kind":"List","apiVersion":"v1","items":['
    for item in "$@"; do printf '%s%s' "$sep" "$item"; sep=,; done
    printf ']}\n'
}
# svc NAME CLUSTER-IP PORT TARGET-PORT PROTO [NODE-PORT|-] [SPEC-JSON-FIELDS] [LABELS-JSON]
# (a node port makes it type NodePort unless SPEC-JSON-FIELDS sets a type)
svc() {
    local name=$1 ip=$2 port=$3 target=$4 proto=$5 node_port=${6:--} extra=${7:-} labels=${8:-"{}"}
    local np= type='"type":"ClusterIP",'
    if [ "$node_port" != - ]; then np=",\"nodePort\":$node_port"; type='"type":"NodePort",'; fi
    case $extra in *'"type"'*) type= ;; esac
    local ipfield="\"clusterIP\":\"$ip\","
    [ "$ip" = - ] && ipfield=
    printf '{"apiVersion":"v1","kind":"Service","metadata":{"name":"%s","namespace":"e2e","labels":%s},' "$name" "$labels"
    printf '"spec":{%s%s"ports":[{"name":"p","port":%s,"targetPort":%s,"protocol":"%s"%s}]%s}}' \
        "$type" "$ipfield" "$port" "$target" "$proto" "$np" "${extra:+,$extra}"
}
# slice SERVICE PORT PROTO POD[@NODE]...: a ready endpoint per pod.
slice() {
    local svc=$1 port=$2 proto=$3 sep= ep pod node; shift 3
    printf '{"apiVersion":"discovery.k8s.io/v1","kind":"EndpointSlice","metadata":{"name":"%s-1","namespace":"e2e",' "$svc"
    printf '"labels":{"kubernetes.io/service-name":"%s"}},"addressType":"IPv4",' "$svc"
    printf '"ports":[{"name":"p","port":%s,"protocol":"%s"}],"endpoints":[' "$port" "$proto"
    for ep in "$@"; do
        pod=${ep%@*} node=node-1
        [ "$ep" != "$pod" ] && node=${ep#*@}
        printf '%s{"addresses":["%s"],"conditions":{"ready":true},"nodeName":"%s"}' "$sep" "$(pod_ip "$pod")" "$node"
        sep=,
    done
    printf ']}'
}
node_obj() {
    printf '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1","labels":{"kubernetes.io/hostname":"node-1"}},'
    printf '"spec":{"podCIDR":"10.244.0.0/24","podCIDRs":["10.244.0.0/24"]},'
    printf '"status":{"addresses":[{"type":"InternalIP","address":"%s"},{"type":"Hostname","address":"node-1"}]}}' "$NODE_IP"
}
# requests_since SEQ: the API requests logged after SEQ, one "METHOD PATH QUERY-JSON" a line.
requests_since() {
    ctl get "requests?since=$1" | python3 -c '
import json, sys
for r in json.load(sys.stdin)["requests"]:
    print(r["method"], r["path"], json.dumps(r["query"], sort_keys=True))'
}
last_seq() { ctl get requests | python3 -c 'import json,sys; r=json.load(sys.stdin)["requests"]; print(r[-1]["seq"] if r else 0)'; }

# --- the proxier ------------------------------------------------------------
# write_config [SYNC_PERIOD]: the KubeProxyConfiguration kubeadm would give,
# the double's kubeconfig in clientConnection (ipvs.syncPeriod 30s by default).
write_config() {
    cat >"$CFG" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: ipvs
clientConnection:
  kubeconfig: $D/kubeconfig
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
ipvs:
  syncPeriod: ${1:-30s}
  minSyncPeriod: 0s
clusterCIDR: 10.244.0.0/16
EOF
}
PROXIER_PID=
start_proxier() {
    "$PROXIER" --config="$CFG" --hostname-override=node-1 >>"$LOG" 2>&1 &
    PROXIER_PID=$!
}
stop_proxier() {
    [ -n "$PROXIER_PID" ] && kill "$PROXIER_PID" 2>/dev/null && wait "$PROXIER_PID" 2>/dev/null
    PROXIER_PID=
}
cleanup() {
    stop_proxier
    [ -n "$API_PID" ] && kill "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null
}
trap cleanup EXIT
alive() { [ -n "$PROXIER_PID" ] && kill -0 "$PROXIER_PID" 2>/dev/null; }

# --- helpers for checks -------------------------------------------------------
names() { # names NETNS IP PORT N: the pods answering N requests, sorted
    for _ in $(seq "$4"); do tcp_get "$1" "$2" "$3" | cut -d' ' -f1; done | sort | tr '\n' ' '
}
has_vs() { ipvsadm -Ln | grep -q "$1"; }
no_vs() { ! ipvsadm -Ln | grep -q "$1"; }
has_rs() { ipvsadm -Ln -t "$1" 2>/dev/null | grep -q -- "-> $2"; }
no_rs() { ! has_rs "$@"; }
# http_get URL: "STATUS BODY" (STATUS 0 when nothing answers).
http_get() {
    if command -v curl >/dev/null; then
        local out
        out=$(curl -s -m 5 -w '\n%{http_code}' "$1")
        echo "${out##*$'\n'} ${out%$'\n'*}"
        return
    fi
    python3 - "$1" <<'PY'
import sys, urllib.error, urllib.request
try:
    with urllib.request.urlopen(sys.argv[1], timeout=5) as r:
        print(r.status, r.read().decode(errors="replace"))
except urllib.error.HTTPError as e:
    print(e.code, e.read().decode(errors="replace"))
except OSError as e:
    print(0, e)
PY
}
# json_fields JSON-TEXT: the sorted top-level keys, then the values of healthy and nodeEligible.
json_fields() {
    python3 -c '
import json, sys
try:
    d = json.loads(sys.argv[1])
except ValueError:
    print("not JSON:", sys.argv[1][:200]); sys.exit()
print(" ".join(sorted(d)), "healthy=%s" % d.get("healthy"), "nodeEligible=%s" % d.get("nodeEligible"))' "$1"
}
now_ms() { date +%s%3N; }
ipvs_rules() { ipvsadm -Sn | sort; }
# plain_log: the proxier's log without colour codes.
plain_log() { sed 's/\x1b\[[0-9;]*m//g' "$LOG"; }
