#!/usr/bin/env bash
# Prepare the real-kernel test bed: the host tools, a Debian kernel with IPVS,
# and a small initramfs that mounts the host's root over 9p.
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

# The newest Debian 6.1 kernel the archive offers; resolved at run time
# because old ABI versions leave the archive.
kpkg=${KPVS_VM_KERNEL_PACKAGE:-}
if [ -z "$kpkg" ]; then
    if [ -f "$CACHE/kernel-package" ]; then
        kpkg=$(cat "$CACHE/kernel-package")
    else
        [ -n "$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' 2>/dev/null)" ] \
            || apt-get update -qq
        kpkg=$(apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-amd64$' \
            | awk '{print $1}' | sort -V | tail -n 1)
        [ -n "$kpkg" ] || { log "no linux-image-6.1.0-*-amd64 package found"; exit 1; }
    fi
fi
kver=${kpkg#linux-image-}
KROOT="$CACHE/kernel"

if [ ! -f "$KROOT/boot/vmlinuz-$kver" ]; then
    log "fetching $kpkg"
    rm -rf "$KROOT" "$CACHE/deb"
    mkdir -p "$CACHE/deb" "$KROOT"
    (cd "$CACHE/deb" && apt-get download -q "$kpkg" >&2 2>/dev/null)
    dpkg-deb -x "$CACHE"/deb/"$kpkg"_*.deb "$KROOT"
    rm -rf "$CACHE/deb"
    depmod -b "$KROOT" "$kver"
    echo "$kpkg" >"$CACHE/kernel-package"
    rm -f "$CACHE/initramfs.cpio.gz"
fi

# The initramfs holds only busybox and the modules needed to mount the host
# root over virtio-9p; everything else is loaded from $KROOT by the guest.
INITRD="$CACHE/initramfs.cpio.gz"
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
