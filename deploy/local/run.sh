#!/bin/sh
# The observability stack without Docker: the same programs as
# docker-compose.yml, run on this machine and listening on loopback only.
#
#   deploy/local/run.sh [demo flags]   start it all in the background
#   deploy/local/run.sh status         what is running, and the URLs
#   deploy/local/run.sh stop           stop everything it started
#   deploy/local/run.sh check          promtool's verdict on the Prometheus files
#
# Needs Go, Prometheus (Debian/Ubuntu: apt-get install prometheus; macOS: brew
# install prometheus) and curl or wget. Jaeger v2 is built from its Go module
# once, into ~/.cache/distlings/bin. Three etcd members run too when an etcd
# binary is on the PATH (Debian: apt-get install etcd-server).
# A Jaeger built from source has no web UI, only its API: for the UI, point
# JAEGER at Jaeger 2.13.0's release binary (JAEGER=~/jaeger deploy/local/run.sh).
# Demo flags go to cmd/demo, e.g. `deploy/local/run.sh -reference`.
set -eu

cd "$(dirname "$0")/../.."
local_dir=$PWD/deploy/local
state=${DISTLINGS_STACK_DIR:-${TMPDIR:-/tmp}/distlings-stack}
bin=${XDG_CACHE_HOME:-$HOME/.cache}/distlings/bin
# The Go module version of Jaeger v2 2.13.0, the image docker-compose.yml runs.
jaeger_version=v1.76.0
# The order they start in; they stop in the reverse order.
names="jaeger etcd1 etcd2 etcd3 demo prometheus"

say() { printf '%s\n' "$*"; }
die() { printf 'run.sh: %s\n' "$*" >&2; exit 1; }

# answers URL: whether something answers URL with a 2xx.
answers() {
	if command -v curl >/dev/null 2>&1; then curl -fsS -o /dev/null -m 2 "$1" 2>/dev/null
	else wget -q -T 2 -O /dev/null "$1" 2>/dev/null; fi
}

running() { [ -f "$state/$1.pid" ] && kill -0 "$(cat "$state/$1.pid")" 2>/dev/null; }

# start NAME COMMAND...: run COMMAND in the background, its output in
# logs/NAME.log. setsid gives it a process group of its own, so that stop ends
# whatever it started too.
start() {
	name=$1; shift
	if command -v setsid >/dev/null 2>&1; then set -- setsid "$@"; fi
	nohup "$@" </dev/null >"$state/logs/$name.log" 2>&1 &
	echo $! >"$state/$name.pid"
}

# wait_for NAME URL SECONDS: until URL answers, or NAME dies, or time is up.
wait_for() {
	i=0
	while ! answers "$2"; do
		if ! running "$1"; then
			tail -n 20 "$state/logs/$1.log" >&2
			die "$1 stopped while starting; its log is $state/logs/$1.log (deploy/local/run.sh stop stops the rest)"
		fi
		i=$((i + 1))
		[ "$i" -le "$3" ] || die "$1 did not answer $2 within $3 s; its log is $state/logs/$1.log (deploy/local/run.sh stop stops the rest)"
		sleep 1
	done
}

# go install ...@version refuses Jaeger: its go.mod has a replace directive.
# So build it inside its own module, from the module cache. Once per version.
# The UI's assets are built with npm from another repository, not shipped in
# the module: this build serves a placeholder page where the UI would be.
jaeger_bin() {
	if [ -n "${JAEGER:-}" ]; then [ -x "$JAEGER" ] || die "JAEGER=$JAEGER is not a program"; return; fi
	JAEGER=$bin/jaeger
	if [ -x "$bin/jaeger" ] && [ "$(cat "$bin/jaeger.version" 2>/dev/null)" = "$jaeger_version" ]; then return; fi
	say "building Jaeger $jaeger_version into $bin: once, a few minutes"
	mkdir -p "$bin"
	dir=$(cd "$bin" && GOWORK=off GOFLAGS='' go mod download -json "github.com/jaegertracing/jaeger@$jaeger_version" |
		sed -n 's/^[[:space:]]*"Dir": "\(.*\)",*$/\1/p')
	[ -n "$dir" ] || die "go mod download of github.com/jaegertracing/jaeger@$jaeger_version failed"
	(cd "$dir" && GOWORK=off GOFLAGS='' go build -ldflags='-s -w' -o "$bin/jaeger" ./cmd/jaeger) ||
		die "building Jaeger failed"
	echo "$jaeger_version" >"$bin/jaeger.version"
}

urls() {
	say "checkout     http://127.0.0.1:8080"
	say "payments     http://127.0.0.1:8081"
	say "Prometheus   http://127.0.0.1:9090   (the targets: /targets)"
	say "Jaeger UI    http://127.0.0.1:16686"
	say "logs         $state/logs"
}

do_start() {
	for n in $names; do running "$n" && die "$n is already running: deploy/local/run.sh stop first"; done
	rm -f "$state"/*.pid # left by processes that died on their own
	command -v go >/dev/null 2>&1 || die "needs Go on the PATH"
	command -v prometheus >/dev/null 2>&1 ||
		die "needs Prometheus: apt-get install prometheus (Debian, Ubuntu) or brew install prometheus (macOS)"
	command -v curl >/dev/null 2>&1 || command -v wget >/dev/null 2>&1 || die "needs curl or wget"
	for url in http://127.0.0.1:9090/-/ready http://127.0.0.1:16686/ http://127.0.0.1:8080/metrics; do
		# Debian's package starts a Prometheus service of its own on 9090.
		! answers "$url" || die "something already answers $url; stop it first (Debian: systemctl stop prometheus)"
	done
	jaeger_bin
	mkdir -p "$state/logs" "$state/data"

	start jaeger "$JAEGER" --config="file:$local_dir/jaeger.yaml"
	wait_for jaeger http://127.0.0.1:13133/status 30

	if command -v etcd >/dev/null 2>&1; then
		cluster=etcd1=http://127.0.0.1:2380,etcd2=http://127.0.0.1:22380,etcd3=http://127.0.0.1:32380
		for m in etcd1:2379:2380 etcd2:22379:22380 etcd3:32379:32380; do
			n=${m%%:*}; c=${m#*:}; p=${c#*:}; c=${c%:*}
			start "$n" etcd --name "$n" --data-dir "$state/data/$n" \
				--listen-client-urls "http://127.0.0.1:$c" --advertise-client-urls "http://127.0.0.1:$c" \
				--listen-peer-urls "http://127.0.0.1:$p" --initial-advertise-peer-urls "http://127.0.0.1:$p" \
				--initial-cluster "$cluster" --initial-cluster-token distlings --initial-cluster-state new
		done
	else
		say "no etcd on the PATH: Prometheus will show the etcd targets down (Debian: apt-get install etcd-server)"
	fi

	# Built, not `go run`: the pid is then the demo's own, and stop reaches it.
	if [ -d cmd/demo ]; then
		say "building cmd/demo"
		go build -o "$state/demo" ./cmd/demo || die "cmd/demo does not build"
		start demo "$state/demo" -checkout 127.0.0.1:8080 -payments 127.0.0.1:8081 -otlp 127.0.0.1:4317 -load 5 "$@"
	else
		say "no cmd/demo in this copy: Prometheus will show checkout and payments down"
	fi

	start prometheus prometheus --config.file="$local_dir/prometheus.yml" \
		--storage.tsdb.path="$state/data/prometheus" --web.listen-address=127.0.0.1:9090
	wait_for prometheus http://127.0.0.1:9090/-/ready 60
	# /metrics, not /livez: the demo serves /livez once part 4 is done.
	if running demo; then wait_for demo http://127.0.0.1:8080/metrics 90; fi
	say "started; deploy/local/run.sh stop stops it all"
	urls
}

do_stop() {
	# shellcheck disable=SC2086 # $names is a list of words, split on purpose
	for n in $(printf '%s\n' $names | sed -n '1!G;h;$p'); do
		[ -f "$state/$n.pid" ] || continue
		pid=$(cat "$state/$n.pid")
		# The whole process group when it has one, else the process.
		kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
		i=0
		while kill -0 "$pid" 2>/dev/null && [ "$i" -lt 10 ]; do sleep 1; i=$((i + 1)); done
		kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
		rm -f "$state/$n.pid"
		say "stopped $n"
	done
	# Like `docker compose down -v`: the data goes, the logs stay to read.
	rm -rf "$state/data" "$state/demo"
}

do_status() {
	for n in $names; do
		if running "$n"; then say "$n: running, pid $(cat "$state/$n.pid")"; else say "$n: not running"; fi
	done
	urls
}

case ${1:-} in
start) shift; do_start "$@" ;;
stop) do_stop ;;
status) do_status ;;
check)
	command -v promtool >/dev/null 2>&1 || die "no promtool on the PATH (it comes with Prometheus: apt-get install prometheus)"
	promtool check config deploy/prometheus/prometheus.yml
	promtool check config deploy/local/prometheus.yml
	promtool check rules deploy/prometheus/rules.yml ;;
*) do_start "$@" ;;
esac
