#!/bin/sh
# The tests run on SQLite and on PostgreSQL (127.0.0.1:5432, database `test`).
# Start the local cluster when it is down; IDSVC_TEST_BACKENDS=sqlite skips PostgreSQL.
set -eu
case "${IDSVC_TEST_BACKENDS:-sqlite,postgresql}" in *postgresql*) ;; *) exit 0 ;; esac
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi
if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n 1)" main start
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        pg_isready -q -h 127.0.0.1 -p 5432 && exit 0
        sleep 1
    done
fi
echo "PostgreSQL is not reachable at 127.0.0.1:5432; start it or set IDSVC_TEST_BACKENDS=sqlite" >&2
exit 1
