#!/usr/bin/env bash
# Build the proxier's container image as an OCI image archive (an
# `oci-archive` tarball) without a container daemon and without pulling a
# base image.
#
# The root filesystem is made of Debian packages fetched with
# `apt-get download` and unpacked with `dpkg-deb -x` (the host's own files
# are not copied): iptables (the nft backend `xtables-nft-multi`, its
# extensions and libraries), ipset, ipvsadm, kmod, netbase, libc and the
# Debian packages that own the shared libraries of the proxier binary. The
# binary goes to /usr/local/bin/kube-ipvs-proxier with a
# /usr/local/bin/kube-proxy symlink, so kubeadm's DaemonSet command works
# unchanged. The layer and the archive are reproducible: sorted entries,
# owner 0, every time set to SOURCE_DATE_EPOCH (default: the last commit).
#
# Load the result with `ctr -n k8s.io images import FILE` or
# `skopeo copy oci-archive:FILE docker://REGISTRY/NAME:TAG`.
#
# Usage: image/build-oci.sh [--binary PATH] [--output FILE] [--ref NAME:TAG]
#                           [--no-strip]
#   --binary PATH   the proxier binary (default: cargo build --release)
#   --output FILE   the archive (default: target/kube-ipvs-proxier-VERSION.oci.tar)
#   --ref NAME:TAG  the image name recorded in the archive
#                   (default: localhost/kube-ipvs-proxier:VERSION)
#   --no-strip      keep the binary's debug information
# Downloaded packages are cached in $KPVS_IMAGE_CACHE
# (default ~/.cache/kube-ipvs-image).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf 'build-oci: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

BINARY=
OUTPUT=
REF=
STRIP=1
while [ $# -gt 0 ]; do
    case "$1" in
        --binary) [ $# -ge 2 ] || die "--binary needs a path"; BINARY=$2; shift 2 ;;
        --output) [ $# -ge 2 ] || die "--output needs a file"; OUTPUT=$2; shift 2 ;;
        --ref) [ $# -ge 2 ] || die "--ref needs NAME:TAG"; REF=$2; shift 2 ;;
        --no-strip) STRIP=0; shift ;;
        -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument '$1' (see --help)" ;;
    esac
done

VERSION=$(sed -n 's/^version = "\(.*\)"$/\1/p' crates/proxier/Cargo.toml | head -n 1)
[ -n "$VERSION" ] || die "no version in crates/proxier/Cargo.toml"
REF=${REF:-localhost/kube-ipvs-proxier:$VERSION}
case "$REF" in
    *:*) TAG=${REF##*:} ;;
    *) die "--ref '$REF' has no tag (NAME:TAG)" ;;
esac
case "$TAG" in */* | "") die "--ref '$REF' has no tag (NAME:TAG)" ;; esac
OUTPUT=${OUTPUT:-${CARGO_TARGET_DIR:-target}/kube-ipvs-proxier-$VERSION.oci.tar}
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
CREATED=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
CACHE=${KPVS_IMAGE_CACHE:-${HOME:-/root}/.cache/kube-ipvs-image}

DEB_ARCH=$(dpkg --print-architecture)
case "$DEB_ARCH" in
    amd64) OCI_ARCH=amd64; MULTIARCH=x86_64-linux-gnu ;;
    arm64) OCI_ARCH=arm64; MULTIARCH=aarch64-linux-gnu ;;
    *) die "unsupported Debian architecture $DEB_ARCH (amd64 or arm64)" ;;
esac

# The tools this script runs.
need=()
command -v readelf >/dev/null || need+=(binutils)
command -v python3 >/dev/null || need+=(python3)
if [ ${#need[@]} -gt 0 ]; then
    log "installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

if [ -z "$BINARY" ]; then
    log "cargo build --release"
    cargo build --release --locked -p kube-ipvs-proxier --bin kube-ipvs-proxier
    BINARY=${CARGO_TARGET_DIR:-target}/release/kube-ipvs-proxier
fi
[ -f "$BINARY" ] && [ -x "$BINARY" ] || die "--binary $BINARY is not an executable file"
readelf -h "$BINARY" >/dev/null 2>&1 || die "--binary $BINARY is not an ELF file"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
ROOT=$WORK/rootfs
LAYOUT=$WORK/layout
mkdir -p "$ROOT" "$LAYOUT/blobs/sha256" "$CACHE/debs"

# The packages: the tools the proxier forks or operators debug with, and the
# owners of the binary's shared libraries, with their Depends/Pre-Depends
# closure. lsb-base and sysvinit-utils only serve init scripts.
PACKAGES=(libc6 iptables ipset ipvsadm kmod netbase)
EXCLUDE=' lsb-base sysvinit-utils '
# owner PATH: the Debian package that installed PATH (dpkg knows a library
# by the path it shipped, with or without the /usr prefix of a merged /usr).
owner() {
    local alias path
    case "$1" in /usr/*) alias=${1#/usr} ;; *) alias=/usr$1 ;; esac
    for path in "$1" "$alias"; do
        if dpkg -S "$path" >/dev/null 2>&1; then
            dpkg -S "$path" | head -n 1 | cut -d: -f1
            return 0
        fi
    done
    return 1
}
while read -r lib; do
    pkg=$(owner "$lib") || pkg=$(owner "$(readlink -f "$lib")") \
        || die "the binary's library $lib belongs to no Debian package"
    PACKAGES+=("$pkg")
done < <(ldd "$BINARY" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}')

apt_ready() { apt-cache show --no-all-versions "${PACKAGES[@]}" >/dev/null 2>&1; }
if ! apt_ready; then
    log "apt-get update"
    apt-get update -qq
    apt_ready || die "apt-cache does not know one of: ${PACKAGES[*]}"
fi

# fetch: resolve the closure from apt's lists and download what the cache
# lacks. Sets CLOSURE, VERSION_OF, FILE_OF and SHA_OF; fails if a download
# fails (old lists name versions the archive no longer has).
declare -A VERSION_OF FILE_OF SHA_OF
fetch() {
    mapfile -t CLOSURE < <(apt-cache depends --recurse --no-recommends --no-suggests \
        --no-conflicts --no-breaks --no-replaces --no-enhances "${PACKAGES[@]}" \
        | grep -v '^[ <]' | sort -u | while read -r p; do
            case "$EXCLUDE" in *" $p "*) ;; *) echo "$p" ;; esac
        done)
    # Candidate version and SHA256 of each package; the file name is the
    # one `apt-get download` gives (epoch colon as %3a).
    VERSION_OF=() FILE_OF=() SHA_OF=()
    while IFS=$'\t' read -r pkg ver arch sha; do
        VERSION_OF[$pkg]=$ver FILE_OF[$pkg]=${pkg}_${ver//:/%3a}_$arch.deb SHA_OF[$pkg]=$sha
    done < <(apt-cache show --no-all-versions "${CLOSURE[@]}" | awk '
        /^Package: / {p = $2} /^Version: / {v = $2} /^Architecture: / {a = $2} /^SHA256: / {s = $2}
        /^$/ {if (p != "") print p "\t" v "\t" a "\t" s; p = v = a = s = ""}
        END {if (p != "") print p "\t" v "\t" a "\t" s}')
    local missing=() pkg deb sandbox=()
    for pkg in "${CLOSURE[@]}"; do
        [ -n "${FILE_OF[$pkg]:-}" ] || die "apt-cache has no candidate for $pkg"
        deb=$CACHE/debs/${FILE_OF[$pkg]}
        if [ -f "$deb" ] && echo "${SHA_OF[$pkg]}  $deb" | sha256sum --quiet -c - 2>/dev/null; then
            continue
        fi
        rm -f "$deb"
        missing+=("$pkg=${VERSION_OF[$pkg]}")
    done
    [ ${#missing[@]} -gt 0 ] || return 0
    log "apt-get download ${#missing[@]} packages"
    [ "$(id -u)" != 0 ] || sandbox=(-o APT::Sandbox::User=root)
    (cd "$CACHE/debs" && apt-get download -q "${sandbox[@]}" "${missing[@]}" >/dev/null)
}
if ! fetch; then
    log "apt-get download failed; apt-get update and again"
    apt-get update -qq
    fetch || die "apt-get download failed"
fi

# The root filesystem, with Debian's merged /usr layout.
mkdir -p "$ROOT/var/lib/dpkg/status.d"
for pkg in "${CLOSURE[@]}"; do
    deb=$CACHE/debs/${FILE_OF[$pkg]}
    echo "${SHA_OF[$pkg]}  $deb" | sha256sum --quiet -c - || die "$deb: bad SHA256"
    dpkg-deb -x "$deb" "$ROOT"
    dpkg-deb -f "$deb" >"$ROOT/var/lib/dpkg/status.d/$pkg"
done
for dir in bin sbin lib lib64; do
    mkdir -p "$ROOT/usr/$dir"
    if [ -d "$ROOT/$dir" ] && [ ! -L "$ROOT/$dir" ]; then
        cp -a "$ROOT/$dir/." "$ROOT/usr/$dir/"
        rm -rf "${ROOT:?}/$dir"
    fi
    ln -s "usr/$dir" "$ROOT/$dir"
done
# Documentation is dropped, the copyright files are kept.
find "$ROOT/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
find "$ROOT/usr/share/doc" -depth -mindepth 1 -type d -empty -delete
# So are glibc's iconv charset modules: nothing here converts charsets.
rm -rf "$ROOT"/usr/share/{man,info,locale,lintian,bash-completion,initramfs-tools,bug} \
    "$ROOT"/etc/init.d "$ROOT/usr/lib/$MULTIARCH/gconv"
# What Debian's alternatives would point at: the nft backend.
for tool in iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore; do
    [ -e "$ROOT/usr/sbin/$tool" ] || ln -s xtables-nft-multi "$ROOT/usr/sbin/$tool"
done
mkdir -p "$ROOT"/{etc,proc,sys,dev,run,root,var/lib/kube-proxy,usr/local/bin}
install -d -m 1777 "$ROOT/tmp"
ln -sfn /run "$ROOT/var/run"
install -m 0755 "$BINARY" "$ROOT/usr/local/bin/kube-ipvs-proxier"
if [ "$STRIP" = 1 ]; then
    strip --strip-debug "$ROOT/usr/local/bin/kube-ipvs-proxier"
fi
ln -s kube-ipvs-proxier "$ROOT/usr/local/bin/kube-proxy"

# Every ELF file's DT_NEEDED libraries must be in the image's library path
# (one readelf for all files; /dev/null makes it name every file; non-ELF
# files are skipped).
missing=0
while IFS=$'\t' read -r lib users; do
    found=0
    for dir in usr/lib/$MULTIARCH usr/lib usr/lib64; do
        if [ -e "$ROOT/$dir/$lib" ] || [ -L "$ROOT/$dir/$lib" ]; then found=1; break; fi
    done
    if [ $found = 0 ]; then
        log "$lib is not in the image; needed by $users"
        missing=1
    fi
done < <(find "$ROOT/usr" -type f -exec readelf -d /dev/null {} + 2>/dev/null | awk -v root="$ROOT" '
    /^File: / {file = substr($0, length("File: " root) + 1)}
    /\(NEEDED\)/ {lib = $NF; gsub(/^\[|\]$/, "", lib); users[lib] = users[lib] " " file}
    END {for (lib in users) print lib "\t" users[lib]}')
[ $missing = 0 ] || die "the image's shared-library closure is incomplete"

# The layer: a reproducible tar of the root filesystem, gzip-compressed.
tar_flags=(--sort=name --format=posix --numeric-owner --owner=0 --group=0
    --mtime="@$SOURCE_DATE_EPOCH"
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime)
mapfile -t top < <(cd "$ROOT" && LC_ALL=C ls -A)
tar "${tar_flags[@]}" -C "$ROOT" -cf "$WORK/layer.tar" "${top[@]}"
gzip -n -6 <"$WORK/layer.tar" >"$WORK/layer.tar.gz"
DIFF_ID=$(sha256sum "$WORK/layer.tar" | cut -d' ' -f1)
LAYER_DIGEST=$(sha256sum "$WORK/layer.tar.gz" | cut -d' ' -f1)
LAYER_SIZE=$(stat -c %s "$WORK/layer.tar.gz")
mv "$WORK/layer.tar.gz" "$LAYOUT/blobs/sha256/$LAYER_DIGEST"
rm "$WORK/layer.tar"

# The image-spec v1.1 documents: the config and manifest blobs, index.json
# and oci-layout. Prints the manifest's digest.
MANIFEST_DIGEST=$(python3 - "$LAYOUT" version="$VERSION" revision="$REVISION" \
    created="$CREATED" arch="$OCI_ARCH" diff_id="$DIFF_ID" layer_digest="$LAYER_DIGEST" \
    layer_size="$LAYER_SIZE" ref="$REF" tag="$TAG" <<'PY'
import hashlib, json, os, sys
layout = sys.argv[1]
a = dict(arg.split("=", 1) for arg in sys.argv[2:])

def write_blob(doc, media_type):
    """Store a JSON document as a blob; return its descriptor."""
    data = json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs", "sha256", digest), "wb") as f:
        f.write(data)
    return {"mediaType": media_type, "digest": "sha256:" + digest, "size": len(data)}

labels = {
    "org.opencontainers.image.title": "kube-ipvs-proxier",
    "org.opencontainers.image.description":
        "Drop-in replacement for kube-proxy --proxy-mode=ipvs, on raw netlink",
    "org.opencontainers.image.version": a["version"],
    "org.opencontainers.image.revision": a["revision"],
    "org.opencontainers.image.created": a["created"],
    "org.opencontainers.image.licenses": "Apache-2.0",
}
config = write_blob({
    "created": a["created"],
    "architecture": a["arch"],
    "os": "linux",
    "config": {
        "Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
        "Entrypoint": ["/usr/local/bin/kube-ipvs-proxier"],
        "WorkingDir": "/",
        "Labels": labels,
    },
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + a["diff_id"]]},
    "history": [{"created": a["created"], "created_by": "image/build-oci.sh"}],
}, "application/vnd.oci.image.config.v1+json")
manifest = write_blob({
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": config,
    "layers": [{
        "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
        "digest": "sha256:" + a["layer_digest"],
        "size": int(a["layer_size"]),
    }],
    "annotations": labels,
}, "application/vnd.oci.image.manifest.v1+json")
manifest["platform"] = {"architecture": a["arch"], "os": "linux"}
# containerd names the image from io.containerd.image.name; OCI tools
# (skopeo oci-archive:FILE:TAG) look the tag up in ref.name.
manifest["annotations"] = {
    "io.containerd.image.name": a["ref"],
    "org.opencontainers.image.ref.name": a["tag"],
}
index = {
    "schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.index.v1+json",
    "manifests": [manifest],
}
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump(index, f, separators=(",", ":"), sort_keys=True)
with open(os.path.join(layout, "oci-layout"), "w") as f:
    json.dump({"imageLayoutVersion": "1.0.0"}, f)
print(manifest["digest"])
PY
) || die "writing the image documents failed"

# The archive: the image layout as a plain tar.
mkdir -p "$(dirname "$OUTPUT")"
tar "${tar_flags[@]}" -C "$LAYOUT" -cf "$OUTPUT.tmp" oci-layout index.json blobs
mv "$OUTPUT.tmp" "$OUTPUT"
log "$REF $MANIFEST_DIGEST ($(du -h "$OUTPUT" | cut -f1), ${#CLOSURE[@]} packages) -> $OUTPUT"
echo "$OUTPUT"
