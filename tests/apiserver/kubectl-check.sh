#!/usr/bin/env bash
# Checks the API-server double: first its wire protocol where kubectl does
# not reach (protocol-check.py: watch replay, bookmarks, 410, drops,
# down/up, restart), then with a real kubectl (TLS + bearer token, a
# per-run --cache-dir): lists across namespaces, get -o json, endpointslices,
# nodes, paging with --chunk-size, label and field selectors, an unsupported
# field selector refused, create/delete through the API, a watch printing
# ADDED/MODIFIED/DELETED for changes made through the control API, a
# wrong token or CA refused, and credentials changing: a token rotation (the
# old token refused, the new one read from the files), a grace, 403 and 401
# (forbid/allow), and a new serving certificate from the same CA. Runs on the host (no root needed).
# Usage: tests/apiserver/kubectl-check.sh
# Prints ok/FAIL lines and a closing "apiserver: N passed, N failed".
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
KUBECTL=$("$HERE/kubectl.sh") || { echo "apiserver: no kubectl"; echo "apiserver: 0 passed, 1 failed"; exit 1; }
WORK=$(mktemp -d)
D=$WORK/state
. "$HERE/../e2e/check.sh"
API_PID=
cleanup() {
    [ -n "$API_PID" ] && kill "$API_PID" 2>/dev/null && wait "$API_PID" 2>/dev/null
    rm -rf "$WORK"
}
trap cleanup EXIT

eq() { [ "$1" = "$2" ] || { echo "     expected [$2], got [$1]"; return 1; }; }
ctl() { "$HERE/ctl.sh" -d "$D" "$@"; }
k() { timeout 30 "$KUBECTL" --kubeconfig "$D/kubeconfig" --cache-dir "$WORK/kcache" "$@"; }
# names: the NAME column (or the second column with -A) of kubectl get output, sorted, one line.
col() { awk -v c="$1" 'NR > 1 {print $c}' | sort | tr '\n' ' '; }
# count the requests logged for PATH whose query has KEY (optionally =VALUE).
requests_with() {
    ctl requests | python3 -c '
import json, sys
path, key, val = sys.argv[1], sys.argv[2], (sys.argv[3] if len(sys.argv) > 3 else None)
reqs = json.load(sys.stdin)["requests"]
print(sum(1 for r in reqs if r["path"] == path and key in r["query"] and (val is None or r["query"][key] == val)))
' "$@"
}

# --- the protocol check (its own double)
summary_seen=0
python3 "$HERE/protocol-check.py" >"$WORK/protocol.out" 2>&1
while read -r line; do
    case $line in
        "protocol: "*) summary_seen=1 ;;
        "ok "*) passed=$((passed + 1)); echo "$line" ;;
        "FAIL "*) failed=$((failed + 1)); echo "$line" ;;
        *) echo "$line" ;;
    esac
done <"$WORK/protocol.out"
[ "$summary_seen" = 1 ] || { failed=$((failed + 1)); echo "FAIL - protocol-check.py did not finish"; }

echo "# kubectl: $("$KUBECTL" version --client -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["clientVersion"]["gitVersion"])') ($KUBECTL)"

python3 "$HERE/fake_apiserver.py" serve --state-dir "$D" --port 0 --control-port 0 --bookmark-interval 1 \
    >"$WORK/serve.out" 2>&1 &
API_PID=$!
ctl wait-ready 30 >/dev/null || { cat "$WORK/serve.out"; echo "apiserver: 0 passed, 1 failed"; exit 1; }

# --- objects: 5 Services in "chk", 1 headless and 1 in "other", 2 slices, 2 nodes
svc() { # svc NAME NS CLUSTER-IP LABELS-JSON
    echo "{\"apiVersion\":\"v1\",\"kind\":\"Service\",\"metadata\":{\"name\":\"$1\",\"namespace\":\"$2\",\"labels\":$4},\"spec\":{\"clusterIP\":\"$3\",\"ports\":[{\"name\":\"p\",\"port\":80}]}}"
}
{
    echo '{"kind":"List","apiVersion":"v1","items":['
    svc svc-a chk 10.96.1.1 '{"tier":"front"}'; echo ,
    svc svc-b chk 10.96.1.2 '{"tier":"back"}'; echo ,
    svc svc-c chk 10.96.1.3 '{"tier":"front","canary":"yes"}'; echo ,
    svc svc-d chk 10.96.1.4 '{"tier":"db"}'; echo ,
    svc svc-e chk 10.96.1.5 '{}'; echo ,
    svc headless other None '{"tier":"back"}'; echo ,
    svc lone other 10.96.2.1 '{}'; echo ,
    for n in 1 2; do
        echo "{\"apiVersion\":\"discovery.k8s.io/v1\",\"kind\":\"EndpointSlice\",\"metadata\":{\"name\":\"svc-a-$n\",\"namespace\":\"chk\",\"labels\":{\"kubernetes.io/service-name\":\"svc-a\"}},\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"p\",\"port\":80}],\"endpoints\":[{\"addresses\":[\"10.244.$n.2\"],\"conditions\":{\"ready\":true}}]},"
    done
    echo '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-1"}},'
    echo '{"apiVersion":"v1","kind":"Node","metadata":{"name":"node-2"}}'
    echo ']}'
} >"$WORK/objects.json"
ctl put "$WORK/objects.json" >/dev/null || { echo "apiserver: 0 passed, 1 failed"; exit 1; }

# --- reads
check "get svc -A lists every Service with its namespace" \
    eq "$(k get svc -A | awk 'NR > 1 {print $1 "/" $2}' | sort | tr '\n' ' ')" \
    "chk/svc-a chk/svc-b chk/svc-c chk/svc-d chk/svc-e other/headless other/lone "
check "get svc -n chk svc-b -o json: spec.clusterIP" \
    eq "$(k get svc -n chk svc-b -o json | python3 -c 'import json,sys; print(json.load(sys.stdin)["spec"]["clusterIP"])')" 10.96.1.2
check "get svc -o json: the server stamps uid, resourceVersion and creationTimestamp" \
    eq "$(k get svc -n chk svc-b -o json | python3 -c '
import json, sys; m = json.load(sys.stdin)["metadata"]
print(bool(m.get("uid")) and m["resourceVersion"].isdigit() and m["creationTimestamp"].endswith("Z"))')" True
check "get svc (server-side Table): TYPE, CLUSTER-IP and PORT(S) columns" \
    eq "$(k get svc -n chk svc-b | awk 'NR == 1 {print $2, $3, $5} NR == 2 {print $2, $3, $5}' | tr '\n' ' ')" \
    "TYPE CLUSTER-IP PORT(S) ClusterIP 10.96.1.2 80/TCP "
check "get endpointslices -A" eq "$(k get endpointslices -A | col 2)" "svc-a-1 svc-a-2 "
check "get nodes" eq "$(k get nodes | col 1)" "node-1 node-2 "
check "get a missing Service fails with NotFound" \
    bash -c '! "$@" get svc -n chk nope 2>&1 | grep -q "NotFound\|not found" && exit 1; ! "$@" get svc -n chk nope >/dev/null 2>&1' _ \
    timeout 30 "$KUBECTL" --kubeconfig "$D/kubeconfig" --cache-dir "$WORK/kcache"

# --- paging: 5 Services in pages of 2 = 3 list requests (2 with a continue token)
ctl del requests >/dev/null
check "--chunk-size=2 lists all 5 Services" eq "$(k get svc -n chk --chunk-size=2 | col 1)" \
    "svc-a svc-b svc-c svc-d svc-e "
check "--chunk-size=2: three pages of limit=2" eq "$(requests_with /api/v1/namespaces/chk/services limit 2)" 3
check "--chunk-size=2: two requests carry a continue token" \
    eq "$(requests_with /api/v1/namespaces/chk/services continue)" 2

# --- selectors
check "-l tier=front" eq "$(k get svc -A -l tier=front | col 2)" "svc-a svc-c "
check "-l 'tier in (front,back),!canary'" \
    eq "$(k get svc -A -l 'tier in (front,back),!canary' | col 2)" "headless svc-a svc-b "
check "-l 'tier notin (front),tier'" eq "$(k get svc -A -l 'tier notin (front),tier' | col 2)" "headless svc-b svc-d "
check "-l tier!=front (objects without the label match)" \
    eq "$(k get svc -n chk -l tier!=front | col 1)" "svc-b svc-d svc-e "
check "--field-selector metadata.name=svc-c" eq "$(k get svc -A --field-selector metadata.name=svc-c | col 2)" "svc-c "
check "--field-selector spec.clusterIP!=None drops the headless Service" \
    eq "$(k get svc -n other --field-selector spec.clusterIP!=None | col 1)" "lone "
check "--field-selector metadata.namespace=other,metadata.name!=lone" \
    eq "$(k get svc -A --field-selector metadata.namespace=other,metadata.name!=lone | col 2)" "headless "
ctl unsupported-field-selector spec.clusterIP >/dev/null
refused() { ! k get svc -A --field-selector spec.clusterIP!=None >"$WORK/out" 2>&1 && grep -q "field label not supported: spec.clusterIP" "$WORK/out"; }
check "an unsupported field selector is refused (400 BadRequest)" refused
ctl del "unsupported-field-selector?field=spec.clusterIP" >/dev/null
check "a bad label selector is refused" bash -c '! "$@" get svc -A -l "a in (b" >/dev/null 2>&1' _ \
    timeout 30 "$KUBECTL" --kubeconfig "$D/kubeconfig" --cache-dir "$WORK/kcache"

# --- writes through the API
svc made chk 10.96.1.9 '{"via":"kubectl"}' >"$WORK/made.json"
check "kubectl create -f (POST)" bash -c '"$@" create --validate=false -f "'"$WORK/made.json"'" >/dev/null' _ \
    timeout 30 "$KUBECTL" --kubeconfig "$D/kubeconfig" --cache-dir "$WORK/kcache"
stored_label() { ctl get objects/svc/chk/made 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["labels"]["via"])'; }
check "the created Service is stored" eq "$(stored_label)" kubectl
check "kubectl label (PATCH) changes the stored object" \
    bash -c '"$@" label svc -n chk made via=patch --overwrite >/dev/null' _ \
    timeout 30 "$KUBECTL" --kubeconfig "$D/kubeconfig" --cache-dir "$WORK/kcache"
check "the patched label is stored" eq "$(stored_label)" patch
check "kubectl delete (DELETE)" bash -c '"$@" delete svc -n chk made >/dev/null' _ \
    timeout 30 "$KUBECTL" --kubeconfig "$D/kubeconfig" --cache-dir "$WORK/kcache"
check "the deleted Service is gone" bash -c '! "$0" -d "$1" get objects/svc/chk/made >/dev/null 2>&1' "$HERE/ctl.sh" "$D"
cat >"$WORK/event.json" <<'JSON'
{"apiVersion":"events.k8s.io/v1","kind":"Event","metadata":{"name":"node-1.start","namespace":"default"},
 "eventTime":"2025-01-01T00:00:00.000000Z","reportingController":"kube-proxy","reportingInstance":"kube-proxy-node-1",
 "action":"StartKubeProxy","reason":"Starting","type":"Normal","regarding":{"kind":"Node","name":"node-1"}}
JSON
k create --validate=false -f "$WORK/event.json" >/dev/null 2>&1
check "an events.k8s.io/v1 Event posted by kubectl shows in the control API" \
    eq "$(ctl events | python3 -c 'import json,sys; print(" ".join(e["reason"] for e in json.load(sys.stdin)["items"]))')" Starting

# --- watch: changes made through the control API reach kubectl -w
ctl del requests >/dev/null
timeout 300 "$KUBECTL" --kubeconfig "$D/kubeconfig" --cache-dir "$WORK/kcache" \
    get svc -A -w --output-watch-events -o json >"$WORK/watch.out" 2>"$WORK/watch.err" &
WATCH_PID=$!
watching() { [ "$(requests_with /api/v1/services watch true)" -ge 1 ]; }
for _ in $(seq 100); do watching && break; sleep 0.1; done
svc w chk 10.96.1.10 '{}' | ctl put - >/dev/null
svc w chk 10.96.1.10 '{"changed":"yes"}' | ctl put - >/dev/null
ctl delete svc chk w >/dev/null
watch_events() { # the types of the watch events for Service chk/w, in order
    python3 - "$WORK/watch.out" <<'PY'
import json, os, sys
text, dec, i, out = open(sys.argv[1]).read(), json.JSONDecoder(), 0, []
while True:
    while i < len(text) and text[i].isspace():
        i += 1
    if i >= len(text):
        break
    try:
        ev, i = dec.raw_decode(text, i)
    except ValueError:
        break
    name = ev.get("object", {}).get("metadata", {}).get("name")
    if os.environ.get("WATCH_ALL"):
        out.append(f"{ev['type']}:{name}")
    elif name == "w":
        out.append(ev["type"])
print(" ".join(out))
PY
}
for _ in $(seq 300); do [ "$(watch_events)" = "ADDED MODIFIED DELETED" ] && break; sleep 0.1; done
check "kubectl get -w: a watch request with the list's resourceVersion" watching
check "kubectl get -w --output-watch-events prints ADDED, MODIFIED, DELETED" \
    eq "$(watch_events)" "ADDED MODIFIED DELETED"
check "kubectl get -w: the current Services come first, as ADDED" \
    eq "$(WATCH_ALL=1 watch_events)" "ADDED:svc-a ADDED:svc-b ADDED:svc-c ADDED:svc-d ADDED:svc-e ADDED:headless ADDED:lone ADDED:w MODIFIED:w DELETED:w"
kill "$WATCH_PID" 2>/dev/null; wait "$WATCH_PID" 2>/dev/null

# --- authentication and TLS
sed "s#tokenFile: .*#token: wrong-token#" "$D/kubeconfig" >"$WORK/bad-token"
unauthorized() { ! timeout 30 "$KUBECTL" --kubeconfig "$1" --cache-dir "$WORK/kc-$2" get svc -A >"$WORK/out" 2>&1 \
    && grep -qi "unauthorized\|must be logged in" "$WORK/out"; }
check "a wrong token is refused (non-zero exit, Unauthorized)" unauthorized "$WORK/bad-token" bad
no_token() { # a request without a token: 401 and a Status document
    python3 - "$D" <<'PY'
import json, ssl, sys, urllib.error, urllib.request
d = sys.argv[1]
ready = json.load(open(f"{d}/ready"))
ctx = ssl.create_default_context(cafile=f"{d}/ca.crt")
try:
    urllib.request.urlopen(ready["server"] + "/api/v1/services", context=ctx, timeout=10)
    print("no error")
except urllib.error.HTTPError as e:
    doc = json.loads(e.read())
    print(e.code, doc["kind"], doc["reason"], doc["code"])
PY
}
check "a request without a token gets 401 and a Status" eq "$(no_token)" "401 Status Unauthorized 401"
mkdir -p "$WORK/other-ca"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$WORK/other-ca/k" \
    -out "$WORK/other-ca/ca.crt" -days 1 -subj /CN=other 2>/dev/null
sed "s#certificate-authority: .*#certificate-authority: $WORK/other-ca/ca.crt#" "$D/kubeconfig" >"$WORK/bad-ca"
bad_ca() { ! timeout 30 "$KUBECTL" --kubeconfig "$WORK/bad-ca" --cache-dir "$WORK/kc-ca" get svc -A >"$WORK/out" 2>&1 \
    && grep -qi "certificate" "$WORK/out"; }
check "a client trusting another CA refuses the server certificate" bad_ca

# --- credentials: a token rotation, the RBAC removed, a new serving certificate
inline_token() { sed "s#tokenFile: .*#token: $1#" "$D/kubeconfig"; }
works() { timeout 30 "$KUBECTL" --kubeconfig "$1" --cache-dir "$WORK/kc-$2" get svc -n chk svc-a >/dev/null 2>&1; }
inline_token "$(cat "$D/token")" >"$WORK/token-1"
check "rotation: before it, the first token works" works "$WORK/token-1" t1
ctl rotate-token >/dev/null
check "rotation: the token file and serviceaccount/token hold the new token" \
    bash -c '[ "$(cat "$1/token")" = "$(cat "$1/serviceaccount/token")" ] && ! grep -qx "$2" "$1/token"' _ \
    "$D" "$(sed -n 's/.*token: //p' "$WORK/token-1")"
check "rotation: serviceaccount/token is a symlink through ..data (a projected volume)" \
    eq "$(readlink "$D/serviceaccount/token") $(readlink "$D/serviceaccount/..data" | cut -c1-2)" "..data/token .."
check "rotation: the old token is refused (Unauthorized)" unauthorized "$WORK/token-1" t1b
check "rotation: the new token (the kubeconfig's tokenFile) works" works "$D/kubeconfig" t2
inline_token "$(cat "$D/token")" >"$WORK/token-2"
ctl rotate-token --grace 60 >/dev/null
check "rotation with a grace: the old token still works" works "$WORK/token-2" t2b
check "rotation with a grace: the new one too" works "$D/kubeconfig" t3
ctl forbid >/dev/null
forbidden() { ! k get svc -A >"$WORK/out" 2>&1 && grep -q 'Forbidden\|forbidden' "$WORK/out" \
    && grep -q 'cannot list resource "services"' "$WORK/out"; }
check "forbid: kubectl get svc gets 403 Forbidden (cannot list resource \"services\")" forbidden
ctl forbid --401 >/dev/null
check "forbid --401: the current token is refused (Unauthorized)" unauthorized "$D/kubeconfig" f401
ctl allow >/dev/null
check "allow: access is back" works "$D/kubeconfig" allow
fp() { ctl state | python3 -c 'import json,sys; s=json.load(sys.stdin); print(s["certGeneration"], s["certFingerprint"])'; }
fp_before=$(fp)
ctl rotate-cert >/dev/null
fp_after=$(fp)
check "rotate-cert: a new certificate (generation 2, another fingerprint)" \
    bash -c '[ "${1%% *}" = 1 ] && [ "${2%% *}" = 2 ] && [ "${1#* }" != "${2#* }" ]' _ "$fp_before" "$fp_after"
served_fp() { openssl s_client -connect "127.0.0.1:$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["port"])' "$D/ready")" \
    </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 | tr -d : | tr 'A-F' 'a-f' | sed 's/.*=//'; }
check "rotate-cert: the server presents it" eq "$(served_fp)" "${fp_after#* }"
check "rotate-cert: kubectl verifies it against the same CA" works "$D/kubeconfig" cert
check "rotate-cert: the request log shows the new certificate" \
    eq "$(ctl requests | python3 -c 'import json,sys; print(json.load(sys.stdin)["requests"][-1]["cert"])')" 2

if [ "$failed" -gt 0 ]; then
    echo "--- double log (tail)"
    tail -n 20 "$D/apiserver.log"
fi
echo "apiserver: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
