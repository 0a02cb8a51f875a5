#!/usr/bin/env bash
# with-test-db.sh CMD... — run CMD with TEST_DATABASE_URL pointing at a throwaway PostgreSQL
# (fsync off), then stop and delete it. An existing TEST_DATABASE_URL is used as is.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
if [ -n "${TEST_DATABASE_URL:-}" ]; then
	exec "$@"
fi
dir=$(mktemp -d "${TMPDIR:-/tmp}/aals-test-pg.XXXXXX")
cleanup() {
	bash "$here/pg.sh" stop "$dir" || true
	rm -rf "$dir"
}
trap cleanup EXIT
bash "$here/pg.sh" start "$dir" --fast
TEST_DATABASE_URL=$(cat "$dir/url")
export TEST_DATABASE_URL
"$@"
