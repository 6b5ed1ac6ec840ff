#!/usr/bin/env bash
# Boot the test-bed kernel under qemu (TCG, never KVM) and run one shell
# command inside it, in the host's root filesystem (read-only) with the
# current directory and its paths as on the host. Exits with the command's
# status. Usage: vm/run.sh [--mem MiB] [--smp N] -- command [args...]
# KPVS_VM_KERNEL=6.12 boots the newer kernel series (vm/setup.sh; default
# 6.1).
#
# Inside the guest: root, a fresh network namespace of its own (the VM),
# IPVS/ipset/dummy/veth/iptables modules loaded, KPVS_IN_VM=1, HOME=/tmp on
# tmpfs. $KPVS_VM_OUT is a directory shared writable with the host
# (copied to $KPVS_VM_OUT on the host at the end, when that is set).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MEM=2048
SMP=2
while [ $# -gt 0 ]; do
    case "$1" in
        --mem) MEM=$2; shift 2 ;;
        --smp) SMP=$2; shift 2 ;;
        --) shift; break ;;
        *) break ;;
    esac
done
[ $# -gt 0 ] || { echo "usage: vm/run.sh [--mem MiB] [--smp N] -- command..." >&2; exit 2; }

kver=$("$HERE/setup.sh")
CACHE=${KPVS_VM_CACHE:-$HOME/.cache/kube-ipvs-vm}
suffix=
[ "${KPVS_VM_KERNEL:-6.1}" = 6.1 ] || suffix=-$KPVS_VM_KERNEL
KROOT="$CACHE/kernel$suffix"

mkdir -p "$CACHE/runs"
RUN=$(mktemp -d "$CACHE/runs/XXXXXX")
trap 'rm -rf "$RUN"' EXIT
OUT=$RUN/out
mkdir -p "$OUT"

# Modules the tests and the proxier need; the guest loads them from the
# cached kernel tree with kmod's modprobe.
MODULES="ip_vs ip_vs_rr ip_vs_wrr ip_vs_lc ip_vs_wlc ip_vs_lblc ip_vs_lblcr ip_vs_dh ip_vs_sh
 ip_vs_sed ip_vs_nq ip_vs_fo ip_vs_ovf ip_vs_mh dummy veth nf_conntrack
 ip_set ip_set_hash_ip ip_set_hash_ipport ip_set_hash_ipportip ip_set_hash_ipportnet
 ip_set_hash_net ip_set_bitmap_port xt_set xt_ipvs nf_tables nft_compat nft_chain_nat
 iptable_nat iptable_filter xt_comment xt_mark xt_MASQUERADE xt_addrtype xt_conntrack
 xt_physdev nlmon netlink_diag ipt_REJECT ip6t_REJECT ip6table_nat ip6table_filter"

{
    echo "export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    echo "export HOME=/tmp KPVS_IN_VM=1 KPVS_VM_OUT='$OUT' KPVS_VM_KROOT='$KROOT'"
    printf 'export %q\n' "TERM=dumb"
    for v in RUST_BACKTRACE RUST_LOG KPVS_BENCH_SERVICES KPVS_BENCH_REALS KPVS_BENCH_CHUNK; do
        [ -n "${!v:-}" ] && printf 'export %s=%q\n' "$v" "${!v}"
    done
    echo "modprobe -d '$KROOT' -a $(echo $MODULES) || echo 'vm: some modules did not load'"
    echo "ip link set lo up"
    printf 'cd %q\n' "$PWD"
    printf '%q ' "$@"
    echo
} >"$RUN/job.sh"

accel=tcg
[ "${KPVS_VM_TCG_THREADS:-multi}" = single ] && accel=tcg,thread=single
log="$RUN/console.log"
set +e
timeout "${KPVS_VM_TIMEOUT:-3000}" qemu-system-x86_64 \
    -accel "$accel" -cpu max -smp "$SMP" -m "$MEM" \
    -nodefaults -display none -no-reboot -serial stdio \
    -kernel "$KROOT/boot/vmlinuz-$kver" -initrd "$CACHE/initramfs$suffix.cpio.gz" \
    -append "console=ttyS0 quiet loglevel=3 panic=-1 rdinit=/init kpvs.run=$RUN kpvs.cwd=$PWD" \
    -virtfs "local,path=/,mount_tag=host,security_model=none,readonly=on,multidevs=remap" \
    -virtfs "local,path=$RUN,mount_tag=run,security_model=none" \
    </dev/null 2>&1 | tee "$log" | grep --line-buffered -v '^KPVS-VM-EXIT='
qemu=${PIPESTATUS[0]}
set -e
status=$(sed -n 's/^KPVS-VM-EXIT=\([0-9]*\).*/\1/p' "$log" | tr -d '\r' | tail -n 1)
if [ -n "${KPVS_VM_OUT:-}" ]; then
    mkdir -p "$KPVS_VM_OUT"
    cp -a "$OUT/." "$KPVS_VM_OUT/"
fi
if [ -z "$status" ]; then
    echo "vm/run.sh: the guest did not report a status (qemu exit $qemu)" >&2
    exit 125
fi
exit "$status"
