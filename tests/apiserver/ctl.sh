#!/bin/sh
# The double's control API from shell tests:
#   tests/apiserver/ctl.sh [-d STATE_DIR] COMMAND ARGS...   (or FAKE_APISERVER_DIR)
# e.g. ctl.sh put svc.json, ctl.sh delete svc e2e web, ctl.sh down 20,
# ctl.sh restart --compact. `ctl.sh --help` lists the commands.
exec python3 "$(dirname "$0")/fake_apiserver.py" ctl "$@"
