#!/usr/bin/env bash
# Prepare the real-kernel test bed: the host tools, a Debian kernel with IPVS,
# and a small initramfs that mounts the host's root over 9p.
#
# KPVS_VM_KERNEL picks the kernel series: 6.1 (the default, bookworm's
# linux-image-6.1.0-N-amd64) or 6.12 (bookworm's newer
# linux-image-6.12.N+deb12-amd64); each has its own kernel tree and
# initramfs in the cache, so both can be kept.
#
# Idempotent: everything is cached under $KPVS_VM_CACHE (default
# ~/.cache/kube-ipvs-vm) and reused on the next run. Prints the cache
# directory's kernel version on success.
set -euo pipefail

CACHE=${KPVS_VM_CACHE:-$HOME/.cache/kube-ipvs-vm}
HERE=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$CACHE"

log() { printf 'vm/setup: %s\n' "$*" >&2; }

# Tools the host side and the guest (which sees the host's root) need.
PACKAGES=(qemu-system-x86 busybox-static kmod ipvsadm ipset iptables iproute2 strace procps cpio curl python3)
missing=()
for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    log "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The kernel series, its package name pattern and its cache suffix (the
# default series keeps the unsuffixed paths; vm/run.sh derives the same).
SERIES=${KPVS_VM_KERNEL:-6.1}
case $SERIES in
    6.1) pattern='^linux-image-6\.1\.0-[0-9]+-amd64$' suffix= ;;
    6.12) pattern='^linux-image-6\.12\.[0-9]+\+deb12-amd64$' suffix=-6.12 ;;
    *) log "KPVS_VM_KERNEL=$SERIES: known series are 6.1 and 6.12"; exit 2 ;;
esac

# The newest kernel of the series the archive offers; resolved at run time
# because old ABI versions leave the archive.
kpkg=${KPVS_VM_KERNEL_PACKAGE:-}
if [ -z "$kpkg" ]; then
    if [ -f "$CACHE/kernel-package$suffix" ]; then
        kpkg=$(cat "$CACHE/kernel-package$suffix")
    else
        [ -n "$(apt-cache search --names-only "$pattern" 2>/dev/null)" ] || apt-get update -qq
        kpkg=$(apt-cache search --names-only "$pattern" | awk '{print $1}' | sort -V | tail -n 1)
        [ -n "$kpkg" ] || { log "no package matches $pattern"; exit 1; }
    fi
fi
kver=${kpkg#linux-image-}
KROOT="$CACHE/kernel$suffix"

if [ ! -f "$KROOT/boot/vmlinuz-$kver" ]; then
    log "fetching $kpkg"
    rm -rf "$KROOT" "$CACHE/deb$suffix"
    mkdir -p "$CACHE/deb$suffix" "$KROOT"
    (cd "$CACHE/deb$suffix" && apt-get download -q "$kpkg" >&2 2>/dev/null)
    dpkg-deb -x "$CACHE/deb$suffix/$kpkg"_*.deb "$KROOT"
    rm -rf "$CACHE/deb$suffix"
    depmod -b "$KROOT" "$kver"
    echo "$kpkg" >"$CACHE/kernel-package$suffix"
    rm -f "$CACHE/initramfs$suffix.cpio.gz"
fi

# The initramfs holds only busybox and the modules needed to mount the host
# root over virtio-9p; everything else is loaded from $KROOT by the guest.
INITRD="$CACHE/initramfs$suffix.cpio.gz"
if [ ! -f "$INITRD" ] || [ "$HERE/init" -nt "$INITRD" ] || [ "$0" -nt "$INITRD" ]; then
    log "building initramfs for $kver"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    mkdir -p "$work"/{bin,sbin,proc,sys,dev,host,mods}
    cp /bin/busybox "$work/bin/busybox"
    cp "$HERE/init" "$work/init"
    chmod +x "$work/init"
    for m in virtio_pci 9pnet_virtio 9p; do
        modprobe -d "$KROOT" -S "$kver" --show-depends "$m"
    done | awk '$1 == "insmod" {print $2}' | awk '!seen[$0]++' >"$work/order.full"
    : >"$work/mods/order"
    while read -r ko; do
        cp "$ko" "$work/mods/"
        basename "$ko" >>"$work/mods/order"
    done <"$work/order.full"
    rm "$work/order.full"
    (cd "$work" && find . | cpio -o -H newc --quiet | gzip -1) >"$INITRD.tmp"
    mv "$INITRD.tmp" "$INITRD"
fi

echo "$kver"
