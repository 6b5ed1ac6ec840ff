#!/usr/bin/env bash
# The container image test: build the OCI archive with image/build-oci.sh
# from a proxier binary, then check it as a container runtime would read it
# and run what it holds.
#
#  * the archive: oci-layout, index.json -> manifest -> config and layer,
#    every digest and size recomputed with sha256, the media types, the
#    config's entrypoint, os, architecture and diff_ids;
#  * the layer unpacked: the binary and its kube-proxy symlink run in a
#    chroot and print the version of crates/proxier/Cargo.toml; every ELF
#    file's libraries resolve with the image's own loader; iptables-restore,
#    ip6tables-restore, ipset, ipvsadm and modprobe run; in a fresh network
#    namespace the image's ipset and iptables-restore load a kube-proxy-style
#    nat ruleset that iptables-save reads back;
#  * skopeo (a real OCI reader) inspects and copies the archive;
#  * a private containerd imports it (`ctr images import`) and runs it;
#  * kubectl reads examples/kubeadm/ offline (skipped if kubectl is missing).
#
# Needs root (chroot, unshare). Installs skopeo if missing; fetches
# containerd and runc into the cache.
# Usage: tests/image.sh [BINARY]   (default: target/debug/kube-ipvs-proxier)
# Prints `ok - ...`, `FAIL - ...`, `skip - ...` and
# `image: N passed, N failed, N skipped`.
set -uo pipefail
cd "$(dirname "$0")/.."

BINARY=${1:-${CARGO_TARGET_DIR:-target}/debug/kube-ipvs-proxier}
passed=0 failed=0 skipped=0
ok() { echo "ok - $*"; passed=$((passed + 1)); }
fail() { echo "FAIL - $*"; failed=$((failed + 1)); }
skip() { echo "skip - $*"; skipped=$((skipped + 1)); }
# check NAME CMD...: ok if CMD succeeds, else FAIL with its output.
check() {
    local name=$1 out
    shift
    if out=$("$@" 2>&1); then ok "$name"; else fail "$name: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"; fi
}
finish() {
    echo "image: $passed passed, $failed failed, $skipped skipped"
    [ "$failed" = 0 ]
    exit
}

[ "$(id -u)" = 0 ] || { fail "tests/image.sh needs root (chroot, unshare)"; finish; }
[ -x "$BINARY" ] || { fail "no proxier binary at $BINARY (cargo build -p kube-ipvs-proxier)"; finish; }
VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' crates/proxier/Cargo.toml | head -n 1)

if ! command -v skopeo >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-cache show skopeo >/dev/null 2>&1 || apt-get update -qq
    apt-get install -y -qq --no-install-recommends skopeo >/dev/null 2>&1 || true
fi

T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
ARCHIVE=$T/image.oci.tar
REF=localhost/kube-ipvs-proxier:test

start=$(date +%s%N)
if ! image/build-oci.sh --binary "$BINARY" --output "$ARCHIVE" --ref "$REF" >"$T/build.log" 2>&1; then
    fail "image/build-oci.sh: $(tail -n 5 "$T/build.log" | tr '\n' ' ')"
    finish
fi
ms=$((($(date +%s%N) - start) / 1000000))
ok "image/build-oci.sh built $(du -h "$ARCHIVE" | cut -f1) in $((ms / 1000)).$((ms % 1000 / 100))s"

# The image layout, verified by a reader independent of the builder.
mkdir -p "$T/layout" "$T/rootfs"
check "the archive is a tar" tar -xf "$ARCHIVE" -C "$T/layout"
python3 - "$T/layout" "$T/rootfs.tar" "$REF" >"$T/verify.out" 2>&1 <<'PY'
import gzip, hashlib, json, os, sys
layout, rootfs_tar, ref = sys.argv[1], sys.argv[2], sys.argv[3]
results = []
def check(name, cond, detail=""):
    results.append(("ok" if cond else "FAIL") + " - " + name + ("" if cond else f": {detail}"))
    return cond
def blob(desc, media_type):
    """Read a descriptor's blob; check its media type, digest and size."""
    digest = desc.get("digest", "")
    algo, _, hexd = digest.partition(":")
    path = os.path.join(layout, "blobs", algo, hexd)
    if not check(f"{media_type}: blob {digest} exists", algo == "sha256" and os.path.isfile(path), path):
        return None
    data = open(path, "rb").read()
    check(f"{media_type}: mediaType", desc.get("mediaType") == media_type, desc.get("mediaType"))
    check(f"{media_type}: sha256 matches the digest", hashlib.sha256(data).hexdigest() == hexd,
          hashlib.sha256(data).hexdigest())
    check(f"{media_type}: size matches ({len(data)} bytes)", desc.get("size") == len(data), desc.get("size"))
    return data
try:
    layout_doc = json.load(open(os.path.join(layout, "oci-layout")))
    check("oci-layout imageLayoutVersion 1.0.0", layout_doc.get("imageLayoutVersion") == "1.0.0", layout_doc)
    index = json.load(open(os.path.join(layout, "index.json")))
    check("index.json schemaVersion 2", index.get("schemaVersion") == 2, index.get("schemaVersion"))
    check("index.json mediaType", index.get("mediaType") == "application/vnd.oci.image.index.v1+json",
          index.get("mediaType"))
    manifests = index.get("manifests", [])
    check("index.json has one manifest", len(manifests) == 1, len(manifests))
    m = manifests[0]
    check("index platform linux/amd64", m.get("platform") == {"architecture": "amd64", "os": "linux"},
          m.get("platform"))
    ann = m.get("annotations", {})
    check("index names the image for containerd and OCI",
          ann.get("io.containerd.image.name") == ref
          and ann.get("org.opencontainers.image.ref.name") == ref.rsplit(":", 1)[1], ann)
    manifest = json.loads(blob(m, "application/vnd.oci.image.manifest.v1+json"))
    check("manifest schemaVersion 2", manifest.get("schemaVersion") == 2, manifest.get("schemaVersion"))
    config = json.loads(blob(manifest["config"], "application/vnd.oci.image.config.v1+json"))
    layers = manifest.get("layers", [])
    check("manifest has one layer", len(layers) == 1, len(layers))
    layer = blob(layers[0], "application/vnd.oci.image.layer.v1.tar+gzip")
    raw = gzip.decompress(layer)
    open(rootfs_tar, "wb").write(raw)
    diff_ids = config.get("rootfs", {}).get("diff_ids", [])
    check("config diff_id is the sha256 of the uncompressed layer",
          config.get("rootfs", {}).get("type") == "layers"
          and diff_ids == ["sha256:" + hashlib.sha256(raw).hexdigest()], diff_ids)
    check("config os linux, architecture amd64",
          config.get("os") == "linux" and config.get("architecture") == "amd64",
          (config.get("os"), config.get("architecture")))
    cc = config.get("config", {})
    check("config Entrypoint is the proxier",
          cc.get("Entrypoint") == ["/usr/local/bin/kube-ipvs-proxier"], cc.get("Entrypoint"))
    labels = cc.get("Labels", {})
    check("config labels org.opencontainers.image.{title,version,revision,created}",
          all(labels.get("org.opencontainers.image." + k) for k in ("title", "version", "revision", "created")),
          labels)
    print("VERSION-LABEL=" + labels.get("org.opencontainers.image.version", ""))
    print("MANIFEST-DIGEST=" + m.get("digest", ""))
except Exception as e:  # a malformed document is a failed check, not a crash
    check("the image layout parses", False, f"{type(e).__name__}: {e}")
print("\n".join(results))
PY
while IFS= read -r line; do
    case "$line" in
        "ok - "*) ok "${line#ok - }" ;;
        "FAIL - "*) fail "${line#FAIL - }" ;;
        VERSION-LABEL=*) label_version=${line#*=} ;;
        MANIFEST-DIGEST=*) manifest_digest=${line#*=} ;;
        *) fail "layout check: $line" ;;
    esac
done <"$T/verify.out"
[ "${label_version:-}" = "$VERSION" ] && ok "label org.opencontainers.image.version is $VERSION" \
    || fail "label org.opencontainers.image.version is '${label_version:-}', Cargo.toml says $VERSION"

# The layer as a runtime unpacks it, and what it runs.
ROOT=$T/rootfs
if ! tar -xpf "$T/rootfs.tar" -C "$ROOT" 2>"$T/untar.err"; then
    fail "the layer unpacks: $(tail -n 3 "$T/untar.err" | tr '\n' ' ')"
    finish
fi
ok "the layer unpacks ($(du -sh "$ROOT" | cut -f1))"
[ "$(readlink "$ROOT/usr/local/bin/kube-proxy")" = kube-ipvs-proxier ] \
    && ok "/usr/local/bin/kube-proxy -> kube-ipvs-proxier" \
    || fail "/usr/local/bin/kube-proxy is '$(readlink "$ROOT/usr/local/bin/kube-proxy")'"
for exe in /usr/local/bin/kube-ipvs-proxier /usr/local/bin/kube-proxy; do
    out=$(chroot "$ROOT" "$exe" --version 2>&1)
    case "$out" in
        *" $VERSION"*) ok "chroot $exe --version: $out" ;;
        *) fail "chroot $exe --version printed '$out', expected version $VERSION" ;;
    esac
done
for tool in iptables-restore iptables-save ip6tables-restore ip6tables-save ipset modprobe; do
    check "chroot $tool --version: $(chroot "$ROOT" "$tool" --version 2>&1 | head -n 1)" \
        chroot "$ROOT" "$tool" --version
done

# ipvsadm opens IPVS before anything else, even for --version.
out=$(chroot "$ROOT" ipvsadm -Ln 2>&1)
if [ -e /proc/net/ip_vs ]; then
    case "$out" in
        *"IP Virtual Server version"*) ok "chroot ipvsadm -Ln: $(printf '%s' "$out" | head -n 1)" ;;
        *) fail "chroot ipvsadm -Ln: $(printf '%s' "$out" | head -n 3 | tr '\n' ' ')" ;;
    esac
else
    case "$out" in
        *"Can't initialize ipvs"*) ok "chroot ipvsadm -Ln runs up to the kernel (this kernel has no IPVS)" ;;
        *) fail "chroot ipvsadm -Ln: $(printf '%s' "$out" | head -n 3 | tr '\n' ' ')" ;;
    esac
fi

# Every ELF file's libraries, resolved by the image's own dynamic loader.
unresolved=$T/unresolved
: >"$unresolved"
elves=0
while IFS= read -r -d '' file; do
    [ "$(head -c 4 "$file" | od -An -c | tr -d ' ')" = '177ELF' ] || continue
    elves=$((elves + 1))
    rel=/${file#"$ROOT"/}
    out=$(chroot "$ROOT" /lib64/ld-linux-x86-64.so.2 --list "$rel" 2>&1)
    case "$out" in *"not found"* | *"error while loading"*) echo "$rel: $out" >>"$unresolved" ;; esac
done < <(find "$ROOT/usr" -type f -print0)
[ -s "$unresolved" ] && fail "libraries not found: $(head -n 3 "$unresolved" | tr '\n' ' ')" \
    || ok "all libraries of $elves ELF files resolve inside the image"

# The image's iptables and ipset against a kernel, in a fresh network
# namespace (needs a kernel with nf_tables; the host's own iptables-nft
# decides whether it has one).
RULES='*nat
:KUBE-SERVICES - [0:0]
:KUBE-MARK-MASQ - [0:0]
:KUBE-POSTROUTING - [0:0]
-A KUBE-SERVICES -m comment --comment "Kubernetes service cluster ip + port for masquerade purpose" -m set --match-set KUBE-CLUSTER-IP dst,dst -j KUBE-MARK-MASQ
-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000
-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN
-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0
-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully
-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING
COMMIT'
if command -v iptables-nft >/dev/null && unshare -n iptables-nft -t nat -S >/dev/null 2>&1; then
    # No shell in the image: each step is its own chroot, in one namespace.
    out=$(printf '%s\n' "$RULES" | unshare -n bash -c '
        chroot "$1" ipset create KUBE-CLUSTER-IP hash:ip,port &&
        chroot "$1" iptables-restore &&
        chroot "$1" iptables-save -t nat' _ "$ROOT" 2>&1)
    # Each rule must come back from iptables-save as it went in.
    lost=$(printf '%s\n' "$RULES" | grep '^-A ' | while IFS= read -r rule; do
        printf '%s\n' "$out" | grep -qxF -- "$rule" || echo "$rule"
    done)
    if [ -z "$lost" ]; then
        ok "iptables-restore (nft) loads ipset, comment, mark and MASQUERADE rules in a fresh netns; iptables-save reads them back"
    else
        fail "iptables-restore in a fresh netns: not read back: $(printf '%s' "$lost" | head -n 2 | tr '\n' ' ') output: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
    fi
else
    skip "iptables in a fresh netns: this kernel has no nf_tables for iptables-nft"
fi

# A real OCI reader.
if command -v skopeo >/dev/null; then
    out=$(skopeo inspect "oci-archive:$ARCHIVE" 2>&1)
    case "$out" in
        *"\"Digest\": \"${manifest_digest:-none}\""*'"Architecture": "amd64"'*'"Os": "linux"'*)
            ok "skopeo inspect oci-archive: digest $manifest_digest, linux/amd64" ;;
        *) fail "skopeo inspect oci-archive: $(printf '%s' "$out" | head -n 5 | tr '\n' ' ')" ;;
    esac
    check "skopeo copy oci-archive: -> oci: (blobs re-verified)" \
        skopeo copy --quiet "oci-archive:$ARCHIVE" "oci:$T/copy:test"
else
    skip "skopeo is not installed (apt-get install skopeo): archive not read by skopeo"
fi

# containerd, the runtime kubeadm nodes use: a private daemon (own socket,
# root and state under $T; no CRI) imports the archive as `ctr images import`
# does on a node, makes a container of it (whose process must be the
# ENTRYPOINT) and runs kubeadm's /usr/local/bin/kube-proxy command in it. containerd and runc are Debian's,
# unpacked into the cache and run from there: nothing is installed and no
# system service starts.
TOOLS=${KPVS_IMAGE_CACHE:-${HOME:-/root}/.cache/kube-ipvs-image}/containerd
if [ ! -x "$TOOLS/usr/bin/containerd" ] || [ ! -x "$TOOLS/usr/sbin/runc" ]; then
    rm -rf "$TOOLS" && mkdir -p "$TOOLS/debs"
    apt-cache show containerd runc >/dev/null 2>&1 || apt-get update -qq
    if (cd "$TOOLS/debs" && apt-get download -q -o APT::Sandbox::User=root containerd runc >/dev/null 2>&1); then
        for deb in "$TOOLS"/debs/*.deb; do dpkg-deb -x "$deb" "$TOOLS"; done
    fi
    rm -rf "$TOOLS/debs"
fi
if [ -x "$TOOLS/usr/bin/containerd" ] && [ -x "$TOOLS/usr/sbin/runc" ]; then
    PATH=$TOOLS/usr/bin:$TOOLS/usr/sbin:$PATH
    mkdir -p "$T/containerd"
    cat >"$T/containerd/config.toml" <<EOF
version = 2
root = "$T/containerd/root"
state = "$T/containerd/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$T/containerd/sock"
[ttrpc]
  address = "$T/containerd/sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
EOF
    containerd --config "$T/containerd/config.toml" >"$T/containerd/log" 2>&1 &
    CONTAINERD=$!
    ctr=(ctr --address "$T/containerd/sock" -n k8s.io)
    for _ in $(seq 50); do "${ctr[@]}" version >/dev/null 2>&1 && break; sleep 0.2; done
    if "${ctr[@]}" version >/dev/null 2>&1; then
        out=$("${ctr[@]}" images import --snapshotter native "$ARCHIVE" 2>&1)
        listed=$("${ctr[@]}" images ls -q 2>&1)
        [ "$listed" = "$REF" ] && ok "ctr images import: $REF" \
            || fail "ctr images import: $(printf '%s' "$out $listed" | tail -n 3 | tr '\n' ' ')"
        run=("${ctr[@]}" run --rm --snapshotter native "$REF")
        # The process containerd makes from the image config (not started).
        out=$("${ctr[@]}" containers create --snapshotter native "$REF" entrypoint 2>&1 &&
            "${ctr[@]}" containers info entrypoint 2>&1)
        args=$(printf '%s' "$out" | python3 -c '
import json, sys
try: print(json.dumps(json.load(sys.stdin)["Spec"]["process"]["args"]))
except Exception as e: print("unreadable:", e)')
        [ "$args" = '["/usr/local/bin/kube-ipvs-proxier"]' ] \
            && ok "ctr: a container of the image runs the ENTRYPOINT $args" \
            || fail "ctr containers info: process args $args"
        "${ctr[@]}" containers delete entrypoint >/dev/null 2>&1
        out=$(timeout 60 "${run[@]}" kube-proxy /usr/local/bin/kube-proxy --version 2>&1)
        case "$out" in
            *" $VERSION") ok "ctr run /usr/local/bin/kube-proxy --version: $out" ;;
            *) fail "ctr run /usr/local/bin/kube-proxy --version: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')" ;;
        esac
    else
        skip "containerd did not start: $(tail -n 2 "$T/containerd/log" | tr '\n' ' ')"
    fi
    kill "$CONTAINERD" 2>/dev/null
    wait "$CONTAINERD" 2>/dev/null
else
    skip "containerd and runc could not be fetched (apt-get download containerd runc): archive not imported by ctr"
fi

# The kubeadm example manifests, read by kubectl without a server.
if command -v kubectl >/dev/null; then
    out=$(kubectl label --local --dry-run=client -f examples/kubeadm/ -o name checked=yes 2>&1)
    # Two DaemonSets named kube-proxy: daemonset.yaml and its
    # least-privilege variant (one or the other is applied).
    expected='configmap/kube-proxy
daemonset.apps/kube-proxy
daemonset.apps/kube-proxy
serviceaccount/kube-proxy
clusterrolebinding.rbac.authorization.k8s.io/kubeadm:node-proxier
role.rbac.authorization.k8s.io/kube-proxy
rolebinding.rbac.authorization.k8s.io/kube-proxy'
    [ "$(printf '%s\n' "$out" | sort)" = "$(printf '%s\n' "$expected" | sort)" ] \
        && ok "kubectl reads the 7 objects of examples/kubeadm/" \
        || fail "kubectl on examples/kubeadm/: $(printf '%s' "$out" | tr '\n' ' ')"
    out=$(kubectl set image --local -f examples/kubeadm/daemonset.yaml kube-proxy=example/new:1 \
        -o 'jsonpath={.spec.template.spec.containers[0].image}' 2>&1)
    [ "$out" = example/new:1 ] && ok "kubectl set image ... kube-proxy=IMAGE finds the kube-proxy container" \
        || fail "kubectl set image kube-proxy=IMAGE: $out"
    out=$(kubectl set image --local -f examples/kubeadm/daemonset-least-privilege.yaml kube-proxy=example/new:1 \
        -o 'jsonpath={.spec.template.spec.containers[0].image}' 2>&1)
    [ "$out" = example/new:1 ] && ok "kubectl set image ... kube-proxy=IMAGE finds the least-privilege variant's container" \
        || fail "kubectl set image kube-proxy=IMAGE (least privilege): $out"
else
    skip "kubectl is not installed: examples/kubeadm/ not read by kubectl"
fi

finish
