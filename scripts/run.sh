#!/usr/bin/env bash
# run.sh [serve|migrate|seed|worker] — build aalscert and run it. Without DATABASE_URL, a
# project-local PostgreSQL in .data/pg is started (created the first time) and stopped again
# when the command exits, so Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
cmd=${1:-serve}
data=${AALS_DATA_DIR:-.data}

go build -o bin/aalscert ./cmd/aalscert

started_db=""
if [ -z "${DATABASE_URL:-}" ]; then
	bash scripts/pg.sh start "$data/pg"
	DATABASE_URL=$(cat "$data/pg/url")
	export DATABASE_URL
	started_db=1
	echo "PostgreSQL: local cluster in $data/pg (stop it alone with: make db-down)"
fi
stop_db() {
	if [ -n "$started_db" ]; then
		bash scripts/pg.sh stop "$data/pg" && echo "PostgreSQL stopped."
	fi
}
trap stop_db EXIT
# bin/aalscert handles SIGINT/SIGTERM itself (graceful shutdown); wait for it, then stop the DB.
trap '' INT
bin/aalscert "$cmd"
