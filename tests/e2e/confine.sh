#!/usr/bin/env bash
# Runs a command as the least-privilege DaemonSet's container runs it
# (examples/kubeadm/daemonset-least-privilege.yaml), in the test VM, as root:
#   tests/e2e/confine.sh CAPS COMMAND [ARGS...]
# CAPS is a comma-separated list of capabilities without `cap_`
# (`net_admin`; empty for none). COMMAND runs
# * as uid 0 with only CAPS in its bounding, permitted, effective and
#   inheritable sets and none ambient (setpriv; as a container's
#   `capabilities: {drop: [ALL], add: [...]}` for a root process);
# * with no_new_privs (`allowPrivilegeEscalation: false`);
# * in a mount namespace of its own where every mount is read-only
#   (`readOnlyRootFilesystem: true`), but /proc (/proc/sys read-only, as
#   the container runtimes mount it) and /run/xtables.lock (the
#   DaemonSet's writable hostPath).
# The process keeps its pid (each step execs the next), so a caller's `$!`
# is the command's pid. The seccomp profile is not applied here.
set -euo pipefail
[ $# -ge 2 ] || { echo "usage: confine.sh CAPS COMMAND [ARGS...]" >&2; exit 2; }
if [ -z "${CONFINE_INNER:-}" ]; then
    touch /run/xtables.lock
    exec unshare --mount --propagation private env CONFINE_INNER=1 "$0" "$@"
fi
unset CONFINE_INNER
caps=$1
shift
# The lock stays writable: a mount of its own, left out below.
mount --bind /run/xtables.lock /run/xtables.lock
# /proc stays writable as in a container (its /proc/sys is read-only).
awk '$4 ~ /(^|,)rw(,|$)/ && $2 != "/run/xtables.lock" && $2 != "/proc" {print $2}' /proc/self/mounts \
    | sort -u | while read -r mountpoint; do
        mountpoint=$(printf '%b' "$mountpoint")
        mount -o remount,bind,ro "$mountpoint"
    done
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
set_=-all
for cap in ${caps//,/ }; do set_+=",+$cap"; done
exec setpriv --reuid=0 --regid=0 --clear-groups --no-new-privs \
    --inh-caps="$set_" --ambient-caps=-all --bounding-set="$set_" -- "$@"
