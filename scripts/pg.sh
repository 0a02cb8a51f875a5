#!/usr/bin/env bash
# pg.sh — a project-local PostgreSQL cluster on 127.0.0.1.
#
#   pg.sh start DIR [--fast]   create (first time) and start a cluster in DIR; writes DIR/url
#   pg.sh stop DIR             stop it (no error if it is not running)
#   pg.sh url DIR              print its DATABASE_URL
#
# --fast turns off fsync, synchronous_commit and full_page_writes (tests only: data is not
# crash-safe). PostgreSQL refuses to run as root, so as root the server runs as the postgres
# user. If no PostgreSQL binaries are found and we are root, the system package is installed.
set -euo pipefail

cmd=${1:-}
dir=${2:-}
fast=${3:-}
[ -n "$cmd" ] && [ -n "$dir" ] || { echo "usage: $0 start|stop|url DIR [--fast]" >&2; exit 2; }
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
data="$dir/data"

find_bin() {
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		bindir=$(dirname "$(command -v pg_ctl)")
		return 0
	fi
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
		if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then bindir=$d; return 0; fi
	done
	return 1
}

install_pg() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "pg.sh: PostgreSQL not found; install it (e.g. apt-get install postgresql) or set DATABASE_URL" >&2
		exit 1
	fi
	echo "pg.sh: installing PostgreSQL from the system packages..." >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2
	apt-get install -y -qq postgresql >&2
}

as_owner() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

free_port() {
	local p
	for p in $(shuf -i 20000-50000 -n 100); do
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
	done
	echo "pg.sh: no free port" >&2
	exit 1
}

running() {
	[ -f "$data/postmaster.pid" ] && as_owner "$bindir/pg_ctl" -D "$data" status >/dev/null 2>&1
}

start() {
	find_bin || { install_pg; find_bin || { echo "pg.sh: PostgreSQL binaries still not found" >&2; exit 1; }; }
	if [ "$(id -u)" -eq 0 ]; then
		id postgres >/dev/null 2>&1 || useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
		chown postgres "$dir"
		# The server user must be able to reach DIR.
		local p=$dir
		while [ "$p" != "/" ]; do chmod o+x "$p" 2>/dev/null || true; p=$(dirname "$p"); done
	fi
	if [ ! -f "$data/PG_VERSION" ]; then
		local pw
		pw=$(head -c 18 /dev/urandom | base64 | tr -d '/+=' | head -c 24)
		printf '%s\n' "$pw" >"$dir/password"
		chmod 600 "$dir/password"
		[ "$(id -u)" -eq 0 ] && chown postgres "$dir/password"
		as_owner "$bindir/initdb" -D "$data" -U postgres --pwfile="$dir/password" \
			--auth-local=scram-sha-256 --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
			{ cat "$dir/initdb.log" >&2; exit 1; }
	fi
	local pw port
	pw=$(cat "$dir/password")
	if running; then
		port=$(cat "$dir/port")
	else
		local opts_base="-c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=300"
		if [ "$fast" = "--fast" ]; then
			opts_base="$opts_base -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
		fi
		# Another cluster may take the port between the check and the bind: try a few.
		local try
		for try in 1 2 3 4 5; do
			port=$(free_port)
			echo "$port" >"$dir/port"
			# setsid: a Ctrl-C in the terminal goes to the server process, not to the database.
			if as_owner setsid "$bindir/pg_ctl" -D "$data" -l "$dir/server.log" -w -t 60 \
				-o "$opts_base -c port=$port" start >/dev/null; then
				break
			fi
			[ "$try" = 5 ] && { tail -20 "$dir/server.log" >&2; exit 1; }
		done
	fi
	echo "postgres://postgres:$pw@127.0.0.1:$port/postgres?sslmode=disable" >"$dir/url"
	chmod 600 "$dir/url"
}

stop() {
	find_bin || exit 0
	if running; then
		as_owner "$bindir/pg_ctl" -D "$data" -m fast -w stop >/dev/null
	fi
}

case "$cmd" in
start) start ;;
stop) stop ;;
url) cat "$dir/url" ;;
*) echo "usage: $0 start|stop|url DIR [--fast]" >&2; exit 2 ;;
esac
