#!/usr/bin/env bash
# Runs inside the test VM (vm/run.sh): each kernel test binary given, with
# its ignored (kernel) tests, one at a time. Exits non-zero if any failed.
set -u
status=0
for bin in "$@"; do
    echo "--- $(basename "$bin")"
    "$bin" --ignored --test-threads=1 || status=1
done
exit $status
