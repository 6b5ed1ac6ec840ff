# Shared by the end-to-end suites and tests/apiserver (sourced): named assertions, counted, and
# the closing line tests/run reads.

passed=0
failed=0

check() { # check NAME COMMAND...: one named assertion
    local name=$1; shift
    if "$@"; then
        passed=$((passed + 1)); echo "ok   - $name"
    else
        failed=$((failed + 1)); echo "FAIL - $name"
    fi
}

# within SECONDS CMD...: true once CMD succeeds within SECONDS (wall clock:
# commands are slow under emulation).
within() {
    local end=$((SECONDS + $1)); shift
    while :; do
        "$@" && return 0
        [ "$SECONDS" -ge "$end" ] && return 1
        sleep 0.2
    done
}

# summary [LABEL]: the closing "LABEL: N passed, N failed" line (LABEL e2e
# by default); fails if any failed.
summary() {
    echo "${1:-e2e}: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
