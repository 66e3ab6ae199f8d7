#!/bin/sh
# The idsvc image's entrypoint (README, Deployment with containers).
#
#   serve (default)  migrate the database unless IDSVC_MIGRATE=0, then serve with
#                    IDSVC_WORKERS workers (2) on IDSVC_HOST:IDSVC_PORT (0.0.0.0:8000)
#   migrate          migrate the database and exit; with IDSVC_INIT_KEYS=1 also create the
#                    data key and a signing key, but only while the database has no
#                    signing key (a first deployment: never a second data key for data
#                    sealed under a lost one)
#   anything else    an idsvc command, e.g. `staff create admin --role admin`
set -eu

case "${1:-serve}" in
serve)
    if [ "$#" -gt 0 ]; then shift; fi
    if [ "${IDSVC_MIGRATE:-1}" = 1 ]; then
        idsvc db upgrade
    fi
    exec idsvc serve --host "${IDSVC_HOST:-0.0.0.0}" --port "${IDSVC_PORT:-8000}" \
        --workers "${IDSVC_WORKERS:-2}" "$@"
    ;;
migrate)
    idsvc db upgrade
    if [ "${IDSVC_INIT_KEYS:-0}" = 1 ]; then
        signing_keys=$(idsvc keys list)  # a failure here ends the script (set -e)
        if [ -z "$signing_keys" ]; then
            idsvc keys generate
        fi
    fi
    ;;
*)
    exec idsvc "$@"
    ;;
esac
