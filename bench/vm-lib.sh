# Helpers of the in-guest benchmark scripts (bench/proxier-vm.sh,
# bench/scale-vm.sh), sourced from the directory they run from.

# wait_line FILE PATTERN NTH TIMEOUT_S PID: the NTH line of FILE matching
# PATTERN, once there (fails on timeout or when PID exits).
wait_line() {
    local file=$1 pattern=$2 nth=$3 deadline=$(($(date +%s) + $4)) pid=$5 line
    while :; do
        line=$(grep -e "$pattern" "$file" | sed -n "${nth}p")
        if [ -n "$line" ]; then
            echo "$line"
            return 0
        fi
        if [ "$(date +%s)" -ge "$deadline" ] || ! kill -0 "$pid" 2>/dev/null; then
            echo "wait_line: no [$pattern] #$nth in $file" >&2
            tail -n 20 "$file" >&2
            return 1
        fi
        sleep 0.2
    done
}

# field NAME LINE: the number of NAME=N in LINE.
field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" <<<"$2"; }
