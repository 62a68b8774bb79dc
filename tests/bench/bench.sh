#!/bin/bash
# tests/bench/bench.sh — `make bench`: stor --backend=b2 against the B2 test server on loopback,
# beside rclone and beside floors measured in the same run; prints one Markdown table.
#
# usage: bench.sh [--quick]     (STOR_BUILDDIR: the build tree, default .; BENCH_ONLY=6,7 runs
#                               only those workloads; 8 is cp between two places, 9 S3 against
#                               tests/s3-server)
# Every workload runs once as a warm-up, then $runs times; the table shows the median wall time,
# the peak RSS over the measured runs, and the server's API call counts of the last run (the
# counters are reset before every run). Needs bash (EPOCHREALTIME), curl, openssl; uses
# /usr/bin/time (Debian package time; BENCH_TIME=PATH to choose, =none to test the fallback) for
# peak RSS, else samples VmHWM from /proc (the sampler costs CPU: figures get slower); rclone when
# installed.
set -u
export LC_ALL=C

quick=0
case "${1:-}" in
	--quick) quick=1 ;;
	"") ;;
	*) echo "usage: bench.sh [--quick]" >&2; exit 2 ;;
esac
if [ "$quick" = 1 ]; then
	runs=3 small_files=200 invocations=20 big_mib=128 warm_leases=2000000 cold_leases=500
	sync_files=2000 many_names=20000
else
	runs=5 small_files=1000 invocations=100 big_mib=1024 warm_leases=10000000 cold_leases=2000
	sync_files=10000 many_names=200000
fi
only=${BENCH_ONLY:-}
want() { [ -z "$only" ] || [[ ",$only," == *",$1,"* ]]; }
transfers=8 big_transfers=4 part_size_mib=100
time_program=${BENCH_TIME:-/usr/bin/time} # BENCH_TIME=none tries the /proc fallback

build=${STOR_BUILDDIR:-.}
stor=$build/stor
server=$build/tests/b2-server/b2-test-server
upload_floor=$build/tests/bench/upload_floor
lease_bench=$build/tests/bench/lease_bench
files_floor=$build/tests/bench/files_floor
for program in "$stor" "$server" "$upload_floor" "$lease_bench" "$files_floor"; do
	[ -x "$program" ] || { echo "bench: $program is missing (run make bench)" >&2; exit 1; }
done
for tool in curl openssl; do
	command -v $tool >/dev/null || { echo "bench: $tool is needed (Debian package $tool)" >&2; exit 1; }
done
rclone=$(command -v rclone || true)

work=$(mktemp -d "${TMPDIR:-/tmp}/stor-bench.XXXXXX") || exit 1
server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null
		wait "$server_pid" 2>/dev/null
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# ---- the server ------------------------------------------------------------------------------
key_id=bench-account key=bench-master-key bucket=bench-bucket
lifeline=
command -v setpriv >/dev/null && lifeline="setpriv --pdeathsig KILL --"
$lifeline "$server" --port 0 --key-id "$key_id" --key "$key" --bucket "$bucket" \
	>"$work/port" 2>"$work/server.err" &
server_pid=$!
port=
for _ in $(seq 1 100); do
	port=$(head -n 1 "$work/port" 2>/dev/null)
	[ -n "$port" ] && break
	sleep 0.05
done
[ -n "$port" ] || { echo "bench: the B2 test server did not start: $(cat "$work/server.err")" >&2; exit 1; }
url=http://127.0.0.1:$port

B2_APPLICATION_KEY_ID=$key_id B2_APPLICATION_KEY=$key STOR_B2_ENDPOINT=$url
STOR_CACHE_DIR=$work/cache
RCLONE_CONFIG_BENCH_TYPE=b2 RCLONE_CONFIG_BENCH_ACCOUNT=$key_id RCLONE_CONFIG_BENCH_KEY=$key
RCLONE_CONFIG_BENCH_ENDPOINT=$url
export B2_APPLICATION_KEY_ID B2_APPLICATION_KEY STOR_B2_ENDPOINT STOR_CACHE_DIR
export RCLONE_CONFIG_BENCH_TYPE RCLONE_CONFIG_BENCH_ACCOUNT RCLONE_CONFIG_BENCH_KEY RCLONE_CONFIG_BENCH_ENDPOINT
: >"$work/rclone.conf"
# Commands as arrays, so /usr/bin/time can run them.
rclone_run=("$rclone" --config "$work/rclone.conf" -q --retries 1)
b2=("$stor" --backend=b2 -q)

reset_counters() { curl -sf -X POST -d '{"counters":true}' "$url/_test/reset" >/dev/null; }
# The counters as "auth url uploads parts downloads other total" (calls since the last reset).
count_calls() {
	curl -sf "$url/_test/counters" | tr -d ' \n' |
		grep -o '"b2_[a-z_]*":{"calls":[0-9]*' | tr -d '"{' | tr ':' ' ' |
		awk '{ calls[$1] = $3; total += $3 }
		     END { auth = calls["b2_authorize_account"] + 0
		           url = calls["b2_get_upload_url"] + calls["b2_get_upload_part_url"]
		           up = calls["b2_upload_file"] + 0; parts = calls["b2_upload_part"] + 0
		           dl = calls["b2_download_file_by_name"] + calls["b2_download_file_by_id"]
		           print auth, url, up, parts, dl, total - auth - url - up - parts - dl, total + 0 }'
}

# measure CMD...: run CMD (output in $work/out); TAKEN = wall seconds, RSS_KIB = its peak RSS.
measure() {
	local start=$EPOCHREALTIME status end
	if [ -x "$time_program" ]; then
		"$time_program" -f %M -o "$work/rss" "$@" >"$work/out" 2>&1
		status=$?
		end=$EPOCHREALTIME
	else # a sampler records the high-water mark while the command runs; wait times the command
		echo 0 >"$work/rss"
		"$@" >"$work/out" 2>&1 &
		local pid=$!
		(
			high=0
			while kill -0 "$pid" 2>/dev/null; do
				now=$(sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\).*/\1/p' "/proc/$pid/status" 2>/dev/null)
				[ -n "$now" ] && [ "$now" -gt "$high" ] && high=$now && echo "$high" >"$work/rss"
				sleep 0.005
			done
		) &
		local sampler=$!
		wait "$pid"
		status=$?
		end=$EPOCHREALTIME
		wait "$sampler"
	fi
	TAKEN=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.6f", b - a }')
	RSS_KIB=$(tail -n 1 "$work/rss")
	case $RSS_KIB in *[!0-9]* | "") RSS_KIB=0 ;; esac
	return $status
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# repeat RUN [BEFORE [AFTER]]: warm-up + $runs runs of `RUN i` (which sets TAKEN and RSS_KIB,
# or fails); BEFORE i / AFTER i run outside the counted window. Sets MEDIAN (s), PEAK_RSS (KiB),
# CALLS (of the last run), FAILURE (the output of a failed run).
repeat() {
	local run=$1 before=${2:-:} after=${3:-:} i peak=0
	: >"$work/times"
	FAILURE=
	for i in $(seq 0 "$runs"); do
		$before "$i"
		reset_counters
		if ! $run "$i"; then
			FAILURE=$(grep -v '^Command exited' "$work/out" | tail -n 2 | tr '\n' ' ')
			return 1
		fi
		CALLS=$(count_calls)
		$after "$i"
		[ "$i" -eq 0 ] && continue
		echo "$TAKEN" >>"$work/times"
		[ "$RSS_KIB" -gt "$peak" ] && peak=$RSS_KIB
	done
	MEDIAN=$(median <"$work/times")
	PEAK_RSS=$peak
}

# row WORKLOAD TOOL ROLE RATE PER_UNIT: one table row from MEDIAN, PEAK_RSS and CALLS. ROLE is
# stor (the reference of its workload), rclone (ratio rclone/stor) or floor (ratio stor/floor).
row() {
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$MEDIAN" "$4" "$PEAK_RSS" "$CALLS" "$5" \
		>>"$work/rows"
}
row_text() { printf '%s\t%s\tnote\t\t%s\t\t\t\n' "$1" "$2" "$3" >>"$work/rows"; }
failed_row() { row_text "$1" "$2" "FAILED: $FAILURE"; echo "bench: $1 / $2 failed: $FAILURE" >&2; }
rate() { awk -v n="$1" -v s="$MEDIAN" -v unit="$2" 'BEGIN { printf "%.1f %s", n / s, unit }'; }
per() { awk -v n="$1" -v calls="$CALLS" -v unit="$2" 'BEGIN { split(calls, c, " "); printf "%.2f req/%s", c[7] / n, unit }'; }
progress() { echo "bench: $*" >&2; }
# warm_invocations MAKE RUN: $invocations processes, the first with a cold cache; MAKE RUN I sets
# COMMAND for invocation I (outside the timing). TAKEN = the median warm invocation; WARM_CALLS =
# the requests of the warm invocations; RSS of the second (a warm one).
warm_invocations() {
	local make=$1 run=$2 i start first_total
	rm -rf "$STOR_CACHE_DIR"
	: >"$work/latencies"
	for i in $(seq 1 "$invocations"); do
		$make "$run" "$i"
		if [ "$i" -eq 2 ]; then
			measure "${COMMAND[@]}" || return 1
			echo "$TAKEN" >>"$work/latencies"
			continue
		fi
		start=$EPOCHREALTIME
		"${COMMAND[@]}" >"$work/out" 2>&1 || return 1
		[ "$i" -eq 1 ] && first_total=$(count_calls | cut -d' ' -f7) && continue
		awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f\n", b - a }' >>"$work/latencies"
	done
	TAKEN=$(median <"$work/latencies")
	WARM_CALLS=$(($(count_calls | cut -d' ' -f7) - first_total))
}
big_rate() { rate "$(awk -v b="$big_bytes" 'BEGIN { print b / 1e6 }')" MB/s; }
# A fresh upload URL and token from stor, for curl (target_url, target_token).
fetch_upload_target() {
	"${b2[@]}" upload-target "$bucket" >"$work/target.json" || return 1
	target_url=$(sed -n 's/.*"uploadUrl":"\([^"]*\)".*/\1/p' "$work/target.json")
	target_token=$(sed -n 's/.*"authorizationToken":"\([^"]*\)".*/\1/p' "$work/target.json")
}

# ---- inputs ----------------------------------------------------------------------------------
mkdir -p "$work/small" "$work/dl"
if want 1 || want 2 || want 4; then
	for i in $(seq -w 1 "$small_files"); do head -c 4096 /dev/urandom >"$work/small/file$i"; done
	head -c 4096 /dev/urandom >"$work/one-small-file"
fi
big=$work/big.bin
big_bytes=$((big_mib * 1048576))
if want 3 || want 4; then head -c "$big_bytes" /dev/urandom >"$big"; fi
sync

# ---- 1. many small files ---------------------------------------------------------------------
if want 1; then
w1="1. put -r $small_files × 4 KiB"
progress "$w1"
cold_cache() { rm -rf "$STOR_CACHE_DIR"; }
stor_put_small() { measure "${b2[@]}" put -r --transfers=$transfers "$work/small" "$bucket/w1/stor-$1"; }
if repeat stor_put_small cold_cache; then
	stor_small_prefix=w1/stor-1
	row "$w1" "stor --transfers=$transfers (cold cache)" stor "$(rate "$small_files" files/s)" "$(per "$small_files" file)"
else failed_row "$w1" stor; fi
floor_put_small() {
	measure "$upload_floor" "$url" "$bucket" "w1/floor-$1" $transfers "$work"/small/* || return 1
	TAKEN=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$work/out") # the uploads alone
}
if repeat floor_put_small; then
	row "$w1" "floor: libcurl, $transfers threads, uploads only" floor "$(rate "$small_files" files/s)" "$(per "$small_files" file)"
else failed_row "$w1" floor; fi
if [ -n "$rclone" ]; then
	rclone_put_small() { measure "${rclone_run[@]}" copy --transfers $transfers "$work/small" "bench:$bucket/w1/rclone-$1"; }
	if repeat rclone_put_small; then
		row "$w1" "rclone copy --transfers $transfers" rclone "$(rate "$small_files" files/s)" "$(per "$small_files" file)"
	else failed_row "$w1" rclone; fi
fi

fi

# ---- 2. many processes -----------------------------------------------------------------------
if want 2; then
w2="2. $invocations × put of 4 KiB"
progress "$w2"
stor_put_invocation() { COMMAND=("${b2[@]}" put "$work/one-small-file" "$bucket/w2/stor-$1-$2"); }
stor_many_processes() { warm_invocations stor_put_invocation "$1"; }
if repeat stor_many_processes; then
	row "$w2" "stor (warm invocation; 1st cold)" stor \
		"$(awk -v s="$MEDIAN" 'BEGIN { printf "%.1f puts/s", 1 / s }')" \
		"$(awk -v w="$WARM_CALLS" -v n="$invocations" 'BEGIN { printf "%.2f req/warm put", w / (n - 1) }')"
else failed_row "$w2" stor; fi
floor_single_upload() {
	measure "$upload_floor" --sequential "$url" "$bucket" "w2/floor-$1" "$work"/small/file00* || return 1
	TAKEN=$(awk -v ms="$(sed -n 's/.*median_upload_ms=\([0-9.]*\).*/\1/p' "$work/out")" 'BEGIN { printf "%.6f", ms / 1000 }')
}
if repeat floor_single_upload; then
	row "$w2" "floor: 1 upload on a new connection" floor \
		"$(awk -v s="$MEDIAN" 'BEGIN { printf "%.1f uploads/s", 1 / s }')" "1.00 req/upload"
else failed_row "$w2" floor; fi
# A process floor: the curl program, one upload per process (exec, TLS-less libcurl, 1 request).
curl_process_upload() {
	local i start
	: >"$work/latencies"
	for i in $(seq 1 "$invocations"); do
		start=$EPOCHREALTIME
		curl -sf -o /dev/null -X POST --data-binary @"$work/one-small-file" \
			-H "Authorization: $target_token" -H "X-Bz-File-Name: w2/curl-$1-$i" \
			-H "X-Bz-Content-Sha1: $small_sha1" -H "Content-Type: b2/x-auto" "$target_url" || return 1
		awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f\n", b - a }' >>"$work/latencies"
	done
	TAKEN=$(median <"$work/latencies") RSS_KIB=0
}
small_sha1=$(openssl sha1 -r "$work/one-small-file" | cut -d' ' -f1)
if repeat curl_process_upload fetch_upload_target; then
	row "$w2" "floor: curl program, 1 upload per process" floor \
		"$(awk -v s="$MEDIAN" 'BEGIN { printf "%.1f uploads/s", 1 / s }')" ""
else failed_row "$w2" "curl program"; fi
if [ -n "$rclone" ]; then
	rclone_many_processes() {
		local i start
		: >"$work/latencies"
		for i in $(seq 1 "$invocations"); do
			if [ "$i" -eq 2 ]; then
				measure "${rclone_run[@]}" copyto "$work/one-small-file" "bench:$bucket/w2/rclone-$1-$i" || return 1
				echo "$TAKEN" >>"$work/latencies"
				continue
			fi
			start=$EPOCHREALTIME
			"${rclone_run[@]}" copyto "$work/one-small-file" "bench:$bucket/w2/rclone-$1-$i" >"$work/out" 2>&1 || return 1
			awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f\n", b - a }' >>"$work/latencies"
		done
		TAKEN=$(median <"$work/latencies")
	}
	if repeat rclone_many_processes; then
		row "$w2" "rclone copyto" rclone "$(awk -v s="$MEDIAN" 'BEGIN { printf "%.1f puts/s", 1 / s }')" \
			"$(per "$invocations" put)"
	else failed_row "$w2" rclone; fi
fi

fi

# ---- 3. one large file -----------------------------------------------------------------------
if want 3; then
w3="3. put $big_mib MiB"
progress "$w3"
forget_big() { "${b2[@]}" rm --hard "$bucket/w3/big" >/dev/null 2>&1; }
sha1_of_big() { measure openssl sha1 "$big"; }
if repeat sha1_of_big; then
	row "$w3" "limit: openssl sha1 (libcrypto)" floor "$(big_rate)" ""
else failed_row "$w3" "openssl sha1"; fi
# Loopback limit: curl sends the same bytes to an upload URL, SHA-1 not verified by the server.
curl_put_big() {
	measure curl -sf -o /dev/null -X POST -T "$big" -H "Authorization: $target_token" \
		-H "X-Bz-File-Name: w3/big" -H "X-Bz-Content-Sha1: do_not_verify" \
		-H "Content-Type: application/octet-stream" -H "Expect:" "$target_url"
}
if repeat curl_put_big fetch_upload_target forget_big; then
	row "$w3" "limit: curl upload over loopback" floor "$(big_rate)" ""
else failed_row "$w3" "curl"; fi
stor_put_big_parts() {
	measure "${b2[@]}" -o part_size=${part_size_mib}MiB put --transfers=$big_transfers "$big" "$bucket/w3/big"
}
defaults_role=info
if repeat stor_put_big_parts "" forget_big; then
	row "$w3" "stor --transfers=$big_transfers -o part_size=${part_size_mib}MiB" stor "$(big_rate)" ""
elif grep -qi "unknown option\|too large\|cutoff\|not supported" "$work/out"; then
	row_text "$w3" "stor --transfers=$big_transfers -o part_size=${part_size_mib}MiB" \
		"n/a (no large-file support in this build: $(grep -v '^Command exited' "$work/out" | head -n 1))"
	defaults_role=stor # the ratios then refer to the single upload
else failed_row "$w3" stor; fi
stor_put_big_defaults() { measure "${b2[@]}" put "$big" "$bucket/w3/big"; }
if repeat stor_put_big_defaults "" forget_big; then
	row "$w3" "stor put (defaults)" $defaults_role "$(big_rate)" ""
else failed_row "$w3" "stor (defaults)"; fi
if [ -n "$rclone" ]; then
	rclone_put_big() {
		measure "${rclone_run[@]}" copyto --transfers $big_transfers --b2-chunk-size ${part_size_mib}M \
			--b2-upload-cutoff ${part_size_mib}M "$big" "bench:$bucket/w3/big"
	}
	if repeat rclone_put_big "" forget_big; then
		row "$w3" "rclone --transfers $big_transfers --b2-chunk-size ${part_size_mib}M" rclone "$(big_rate)" ""
	else failed_row "$w3" rclone; fi
fi

fi

# ---- 4. downloads ----------------------------------------------------------------------------
if want 4; then
w4big="4a. get $big_mib MiB"
progress "$w4big"
"${b2[@]}" put "$big" "$bucket/w4/big" || { echo "bench: cannot store the download source" >&2; exit 1; }
account_token=$(curl -sf -u "$key_id:$key" "$url/b2api/v2/b2_authorize_account" |
	sed -n 's/.*"authorizationToken": *"\([^"]*\)".*/\1/p')
forget_download() { rm -rf "$work/dl"; mkdir -p "$work/dl"; }
curl_get_big() { measure curl -sf -o "$work/dl/big" -H "Authorization: $account_token" "$url/file/$bucket/w4/big"; }
if repeat curl_get_big forget_download; then
	row "$w4big" "limit: curl download over loopback" floor "$(big_rate)" ""
else failed_row "$w4big" curl; fi
# The fair floor of a durable download: the same curl, then one fsync of the file (coreutils
# sync FILE), as stor syncs before its rename.
curl_get_big_durable() {
	measure sh -c 'curl -sf -o "$1" -H "Authorization: $2" "$3" && sync "$1"' sh \
		"$work/dl/big" "$account_token" "$url/file/$bucket/w4/big"
}
if repeat curl_get_big_durable forget_download; then
	row "$w4big" "floor: curl download + fsync of the file" floor "$(big_rate)" ""
else failed_row "$w4big" "curl + fsync"; fi
stor_get_big() { measure "${b2[@]}" get "$bucket/w4/big" "$work/dl/big"; }
if repeat stor_get_big forget_download; then
	row "$w4big" "stor get" stor "$(big_rate)" ""
else failed_row "$w4big" stor; fi
if [ -n "$rclone" ]; then
	rclone_get_big() { measure "${rclone_run[@]}" copyto --transfers $big_transfers "bench:$bucket/w4/big" "$work/dl/big"; }
	if repeat rclone_get_big forget_download; then
		row "$w4big" "rclone copyto" rclone "$(big_rate)" ""
	else failed_row "$w4big" rclone; fi
fi
"${b2[@]}" rm --hard "$bucket/w4/big" >/dev/null 2>&1

w4small="4b. get -r $small_files × 4 KiB"
progress "$w4small"
if [ -z "${stor_small_prefix:-}" ]; then # workload 1 did not run: store the files here
	"${b2[@]}" put -r --transfers=$transfers "$work/small" "$bucket/w4/small" && stor_small_prefix=w4/small
fi
if [ -n "${stor_small_prefix:-}" ]; then
	stor_get_small() { measure "${b2[@]}" get -r --transfers=$transfers "$bucket/$stor_small_prefix" "$work/dl/small"; }
	if repeat stor_get_small forget_download; then
		row "$w4small" "stor get -r --transfers=$transfers" stor "$(rate "$small_files" files/s)" "$(per "$small_files" file)"
	else failed_row "$w4small" stor; fi
	if [ -n "$rclone" ]; then
		rclone_get_small() { measure "${rclone_run[@]}" copy --transfers $transfers "bench:$bucket/$stor_small_prefix" "$work/dl/small"; }
		if repeat rclone_get_small forget_download; then
			row "$w4small" "rclone copy --transfers $transfers" rclone "$(rate "$small_files" files/s)" "$(per "$small_files" file)"
		else failed_row "$w4small" rclone; fi
	fi
	# The local file system's part: the same number of files written as durably, no network.
	floor_write_small() {
		mkdir "$work/dl/floor"
		measure "$files_floor" "$work/dl/floor" $transfers "$small_files" 4096 || return 1
		TAKEN=$(sed -n 's/.*seconds=\([0-9.]*\).*/\1/p' "$work/out")
	}
	if repeat floor_write_small forget_download; then
		row "$w4small" "floor: the files written as durably, no network ($transfers threads)" floor "$(rate "$small_files" files/s)" ""
	else failed_row "$w4small" "files floor"; fi
	# stor's own upload of the same files beside it (ratio: get time ÷ put time).
	stor_put_same() { measure "${b2[@]}" put -r --transfers=$transfers "$work/small" "$bucket/w4/put-$1"; }
	if repeat stor_put_same; then
		row "$w4small" "stor put -r of the same files (ratio: get ÷ put)" floor "$(rate "$small_files" files/s)" "$(per "$small_files" file)"
	else failed_row "$w4small" "stor put -r"; fi
fi

w4one="4c. $invocations × get of 4 KiB"
progress "$w4one"
"${b2[@]}" put "$work/one-small-file" "$bucket/w4/one" || { echo "bench: cannot store the small download" >&2; exit 1; }
# As workload 2, for downloads (the destination removed before each invocation, untimed).
stor_get_invocation() { rm -f "$work/dl/one"; COMMAND=("${b2[@]}" get "$bucket/w4/one" "$work/dl/one"); }
stor_many_gets() { warm_invocations stor_get_invocation "$1"; }
if repeat stor_many_gets; then
	row "$w4one" "stor (warm invocation; 1st cold)" stor \
		"$(awk -v s="$MEDIAN" 'BEGIN { printf "%.1f gets/s", 1 / s }')" \
		"$(awk -v w="$WARM_CALLS" -v n="$invocations" 'BEGIN { printf "%.2f req/warm get", w / (n - 1) }')"
else failed_row "$w4one" stor; fi
curl_process_download() {
	local i start
	: >"$work/latencies"
	for i in $(seq 1 "$invocations"); do
		start=$EPOCHREALTIME
		curl -sf -o "$work/dl/one" -H "Authorization: $account_token" "$url/file/$bucket/w4/one" || return 1
		awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f\n", b - a }' >>"$work/latencies"
	done
	TAKEN=$(median <"$work/latencies") RSS_KIB=0
}
if repeat curl_process_download; then
	row "$w4one" "floor: curl program, 1 download per process" floor \
		"$(awk -v s="$MEDIAN" 'BEGIN { printf "%.1f downloads/s", 1 / s }')" "1.00 req/download"
else failed_row "$w4one" "curl program"; fi
if [ -n "$rclone" ]; then
	rclone_many_gets() {
		local i start
		: >"$work/latencies"
		for i in $(seq 1 "$invocations"); do
			rm -f "$work/dl/one" # else rclone finds it there and downloads nothing
			start=$EPOCHREALTIME
			"${rclone_run[@]}" copyto "bench:$bucket/w4/one" "$work/dl/one" || return 1
			awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f\n", b - a }' >>"$work/latencies"
		done
		TAKEN=$(median <"$work/latencies") RSS_KIB=0
	}
	if repeat rclone_many_gets; then
		row "$w4one" "rclone copyto, 1 per process" rclone \
			"$(awk -v s="$MEDIAN" 'BEGIN { printf "%.1f gets/s", 1 / s }')" ""
	else failed_row "$w4one" rclone; fi
fi

fi

# ---- 5. upload-target leases in-process ------------------------------------------------------
if want 5; then
w5="5. upload-target lease"
progress "$w5"
lease_field() { sed -n "s/.*$1=\\([0-9.]*\\).*/\\1/p" "$work/out"; }
: >"$work/warm"
: >"$work/cold"
run_lease_bench() { # times from the program's own clock, kept per measured run
	measure "$lease_bench" "$url" "$bucket" "$warm_leases" "$cold_leases" || return 1
	[ "$1" -eq 0 ] && return 0
	lease_field warm_ns_per_lease >>"$work/warm"
	lease_field cold_us_per_lease >>"$work/cold"
}
if repeat run_lease_bench; then
	lease_calls=$CALLS # the cold leases (and one authorization)
	MEDIAN=$(median <"$work/warm" | awk '{ printf "%.9f", $1 / 1e9 }') CALLS="0 0 0 0 0 0 0"
	row "$w5" "warm pool: b2_pool_lease + b2_pool_return" stor \
		"$(awk -v s="$MEDIAN" 'BEGIN { printf "%.1f M leases/s", 1 / s / 1e6 }')" "0 req/lease"
	MEDIAN=$(median <"$work/cold" | awk '{ printf "%.9f", $1 / 1e6 }') CALLS=$lease_calls
	row "$w5" "cold pool: each lease a b2_get_upload_url" info \
		"$(awk -v s="$MEDIAN" 'BEGIN { printf "%.0f leases/s", 1 / s }')" "$(per "$cold_leases" lease)"
else failed_row "$w5" lease_bench; fi

fi

# ---- 6. sync with nothing to do ----------------------------------------------------------------
# A tree synced once; each measured run finds every file unchanged: listing calls only.
# many_files DIR N: N empty files in directories of 1,000.
many_files() {
	local d
	for d in $(seq 0 $((($2 - 1) / 1000))); do
		mkdir -p "$1/d$d"
		(cd "$1/d$d" && touch $(seq -f 'f%04g' 0 $(($2 - d * 1000 > 1000 ? 999 : $2 - d * 1000 - 1))))
	done
}
lists_per_thousand() { awk -v n="$1" -v calls="$CALLS" 'BEGIN { split(calls, c, " "); printf "%.2f lists/1000 names", c[6] * 1000 / n }'; }
if want 6; then
w6="6. sync of $sync_files unchanged files"
progress "$w6"
many_files "$work/sync-tree" "$sync_files"
if "${b2[@]}" sync --transfers=16 "$work/sync-tree" "$bucket/w6/tree" >"$work/out" 2>&1; then
	stor_sync_unchanged() { measure "${b2[@]}" sync --delete "$work/sync-tree" "$bucket/w6/tree"; }
	if repeat stor_sync_unchanged; then
		row "$w6" "stor sync --delete" stor "$(rate "$sync_files" files/s)" "$(lists_per_thousand "$sync_files")"
	else failed_row "$w6" stor; fi
	# The floor: the same listing pages fetched by curl one after the other, nothing parsed.
	authorization=$(curl -sf -u "$key_id:$key" "$url/b2api/v2/b2_authorize_account")
	list_token=$(echo "$authorization" | sed -n 's/.*"authorizationToken": *"\([^"]*\)".*/\1/p')
	api_url=$(echo "$authorization" | sed -n 's/.*"apiUrl": *"\([^"]*\)".*/\1/p')
	bucket_id=$(curl -sf -H "Authorization: $list_token" -d "{\"accountId\":\"$key_id\",\"bucketName\":\"$bucket\"}" \
		"$api_url/b2api/v2/b2_list_buckets" | sed -n 's/.*"bucketId": *"\([^"]*\)".*/\1/p')
	curl_list_pages() {
		local start=$EPOCHREALTIME next="" body
		while :; do
			body="{\"bucketId\":\"$bucket_id\",\"prefix\":\"w6/tree/\",\"maxFileCount\":1000${next:+,\"startFileName\":\"$next\"}}"
			curl -sf -o "$work/page" -H "Authorization: $list_token" -d "$body" \
				"$api_url/b2api/v2/b2_list_file_names" || return 1
			next=$(grep -o '"nextFileName": *"[^"]*"' "$work/page" | sed 's/.*: *"\(.*\)"/\1/')
			[ -n "$next" ] || break
		done
		TAKEN=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.6f", b - a }') RSS_KIB=0
	}
	if repeat curl_list_pages; then
		row "$w6" "floor: curl fetching the same listing pages" floor "$(rate "$sync_files" files/s)" "$(lists_per_thousand "$sync_files")"
	else failed_row "$w6" "curl listing"; fi
	if [ -n "$rclone" ]; then
		rclone_sync_unchanged() { measure "${rclone_run[@]}" sync "$work/sync-tree" "bench:$bucket/w6/tree"; }
		if repeat rclone_sync_unchanged; then
			row "$w6" "rclone sync" rclone "$(rate "$sync_files" files/s)" "$(lists_per_thousand "$sync_files")"
		else failed_row "$w6" rclone; fi
	fi
else FAILURE=$(tail -n 2 "$work/out" | tr '\n' ' '); failed_row "$w6" "stor (first sync)"; fi
rm -rf "$work/sync-tree"
fi

# ---- 7. memory of a sync over many names ------------------------------------------------------
if want 7; then
w7="7. sync over $many_names names (memory)"
progress "$w7"
many_files "$work/many" "$many_names"
if "${b2[@]}" sync --transfers=32 "$work/many" "$bucket/w7/many" >"$work/out" 2>&1; then
	stor_sync_many() { measure "${b2[@]}" sync --delete "$work/many" "$bucket/w7/many"; }
	if repeat stor_sync_many; then
		row "$w7" "stor sync --delete (unchanged)" stor "$(rate "$many_names" names/s)" "$(lists_per_thousand "$many_names")"
	else failed_row "$w7" stor; fi
	stor_check_down() { measure "${b2[@]}" sync --dry-run "$bucket/w7/many" "$work/many-empty"; }
	if repeat stor_check_down; then
		row "$w7" "stor sync --dry-run down (every name to copy)" info "$(rate "$many_names" names/s)" "$(lists_per_thousand "$many_names")"
	else failed_row "$w7" "stor (down)"; fi
else FAILURE=$(tail -n 2 "$work/out" | tr '\n' ' '); failed_row "$w7" "stor (first sync)"; fi
rm -rf "$work/many"
fi

# ---- 8. cp between two places -----------------------------------------------------------------
# One object of 256 MiB copied from the bucket to a local profile, and to another profile of the
# same account (two instances: streamed through stor, never server-side), with TMPDIR unusable:
# nothing may go through a temporary file. Memory: the ring of ranges (--transfers x 8 MiB) and,
# to B2, the destination's part buffers.
if want 8; then
copy_mib=256
w8a="8a. cp b2 -> local, $copy_mib MiB" w8b="8b. cp b2 -> b2 (another profile), $copy_mib MiB"
cat >"$work/copy.conf" <<CONF
[source]
backend = b2
endpoint = $url

[other]
backend = b2
endpoint = $url

[archive]
backend = local
root = $work/archive
CONF
chmod 600 "$work/copy.conf"
copy_run=(env STOR_CONFIG="$work/copy.conf" TMPDIR="$work/no-temporary-files" "$stor" -q)
progress "$w8a"
head -c $((copy_mib * 1048576)) /dev/urandom >"$work/copy.bin"
copy_rate() { awk -v n="$copy_mib" -v s="$MEDIAN" 'BEGIN { printf "%.1f MiB/s", n / s }'; }
if "${b2[@]}" put "$work/copy.bin" "$bucket/w8/big" >"$work/out" 2>&1; then
	rm -f "$work/copy.bin"
	for t in 8 1; do
		stor_cp_local() { rm -rf "$work/archive"; measure "${copy_run[@]}" cp --transfers=$t "source:$bucket/w8/big" archive:bk/big; }
		if repeat stor_cp_local; then
			row "$w8a" "stor cp --transfers=$t" "$([ $t = 8 ] && echo stor || echo info)" "$(copy_rate)" ""
		else failed_row "$w8a" "stor cp --transfers=$t"; fi
		stor_cp_b2() { measure "${copy_run[@]}" cp --transfers=$t "source:$bucket/w8/big" "other:$bucket/w8/copy"; }
		if repeat stor_cp_b2; then
			row "$w8b" "stor cp --transfers=$t" "$([ $t = 8 ] && echo stor || echo info)" "$(copy_rate)" ""
		else failed_row "$w8b" "stor cp --transfers=$t"; fi
	done
	rm -rf "$work/archive"
else FAILURE=$(tail -n 2 "$work/out" | tr '\n' ' '); failed_row "$w8a" "stor put (the source)"; fi
fi

# ---- 9. S3: many small files, one large put and get (issue 19) ------------------------------
# stor's s3 backend, rclone's s3 backend and `aws s3` (/usr/bin/aws) against the S3 test server
# (tests/s3-server, path style, every request SigV4-verified). The call columns count S3's calls:
# upload_file = PutObject, upload_part = UploadPart, downloads = GetObject, other calls = the rest
# (multipart create/complete, listings, HEADs); authorize and upload URL stay 0.
if want 9; then
s3_server=$build/tests/s3-server/s3-test-server
aws=/usr/bin/aws # Debian's awscli, not a pyenv shim first on PATH
if [ ! -x "$s3_server" ]; then
	row_text "9. S3" "all" "n/a (no $s3_server: run make first)"
else
	progress "9. S3 (test server)"
	s3_bucket=bench-s3
	S3_TEST_ACCESS_KEY=AKIASTORBENCH0000001 S3_TEST_SECRET_KEY=bench/s3+secret=key
	export S3_TEST_ACCESS_KEY S3_TEST_SECRET_KEY
	$lifeline "$s3_server" --port 0 --bucket "$s3_bucket" --max-body $((1100 * 1048576)) \
		>"$work/s3port" 2>"$work/s3server.err" &
	s3_server_pid=$!
	trap 'kill "$s3_server_pid" 2>/dev/null; wait "$s3_server_pid" 2>/dev/null; cleanup' EXIT
	s3_port=
	for _ in $(seq 1 100); do
		s3_port=$(head -n 1 "$work/s3port" 2>/dev/null)
		[ -n "$s3_port" ] && break
		sleep 0.05
	done
	[ -n "$s3_port" ] || { echo "bench: the S3 test server did not start: $(cat "$work/s3server.err")" >&2; exit 1; }
	s3_url=http://127.0.0.1:$s3_port
	# The clients' credentials and configuration, none of the user's.
	export AWS_ACCESS_KEY_ID=$S3_TEST_ACCESS_KEY AWS_SECRET_ACCESS_KEY=$S3_TEST_SECRET_KEY
	export AWS_REGION=us-east-1 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true AWS_PAGER=
	export AWS_SHARED_CREDENTIALS_FILE=$work/aws-credentials AWS_CONFIG_FILE=$work/aws-config
	unset AWS_SESSION_TOKEN AWS_PROFILE AWS_ENDPOINT_URL AWS_CA_BUNDLE
	# A named profile takes its keys from the file, not the environment.
	printf '[%s]\naws_access_key_id = %s\naws_secret_access_key = %s\n' small "$S3_TEST_ACCESS_KEY" \
		"$S3_TEST_SECRET_KEY" big "$S3_TEST_ACCESS_KEY" "$S3_TEST_SECRET_KEY" >"$AWS_SHARED_CREDENTIALS_FILE"
	chmod 600 "$AWS_SHARED_CREDENTIALS_FILE"
	# The same parallelism and part size for aws as for stor and rclone.
	printf '[profile small]\ns3 =\n  max_concurrent_requests = %s\n[profile big]\ns3 =\n  max_concurrent_requests = %s\n  multipart_chunksize = %sMB\n  multipart_threshold = %sMB\n' \
		"$transfers" "$big_transfers" "$part_size_mib" "$part_size_mib" >"$AWS_CONFIG_FILE"
	export RCLONE_CONFIG_BENCHS3_TYPE=s3 RCLONE_CONFIG_BENCHS3_PROVIDER=Other RCLONE_CONFIG_BENCHS3_ENDPOINT=$s3_url
	export RCLONE_CONFIG_BENCHS3_ACCESS_KEY_ID=$S3_TEST_ACCESS_KEY RCLONE_CONFIG_BENCHS3_SECRET_ACCESS_KEY=$S3_TEST_SECRET_KEY
	export RCLONE_CONFIG_BENCHS3_REGION=us-east-1 RCLONE_CONFIG_BENCHS3_FORCE_PATH_STYLE=true
	s3=("$stor" --backend=s3 -q -o endpoint="$s3_url")
	aws_s3=("$aws" --endpoint-url "$s3_url" --only-show-errors)
	# The counters are the S3 server's in this block (the B2 ones again after it).
	b2_counter_functions=$(declare -f reset_counters count_calls)
	reset_counters() { curl -sf "$s3_url/__control/reset" >/dev/null; }
	count_calls() {
		curl -sf "$s3_url/__control/counters" |
			awk '{ calls[$1] = $2; total += $2 }
			     END { up = calls["PutObject"] + 0; parts = calls["UploadPart"] + 0; dl = calls["GetObject"] + 0
			           print 0, 0, up, parts, dl, total - up - parts - dl, total + 0 }'
	}
	[ -d "$work/small" ] && [ -n "$(ls "$work/small")" ] ||
		for i in $(seq -w 1 "$small_files"); do head -c 4096 /dev/urandom >"$work/small/file$i"; done
	[ -f "$big" ] || head -c "$big_bytes" /dev/urandom >"$big"

	w9small="9a. S3 put -r $small_files × 4 KiB"
	progress "$w9small"
	s3_put_small() { measure "${s3[@]}" put -r --transfers=$transfers "$work/small" "$s3_bucket/w8/stor-$1"; }
	if repeat s3_put_small; then
		row "$w9small" "stor --backend=s3 --transfers=$transfers" stor "$(rate "$small_files" files/s)" "$(per "$small_files" file)"
	else failed_row "$w9small" stor; fi
	if [ -n "$rclone" ]; then
		rclone_s3_put_small() { measure "${rclone_run[@]}" copy --transfers $transfers "$work/small" "benchs3:$s3_bucket/w8/rclone-$1"; }
		if repeat rclone_s3_put_small; then
			row "$w9small" "rclone copy (s3) --transfers $transfers" rclone "$(rate "$small_files" files/s)" "$(per "$small_files" file)"
		else failed_row "$w9small" "rclone (s3)"; fi
	fi
	if [ -x "$aws" ]; then
		aws_put_small() { measure "${aws_s3[@]}" --profile small s3 cp --recursive "$work/small" "s3://$s3_bucket/w8/aws-$1"; }
		if repeat aws_put_small; then
			row "$w9small" "aws s3 cp --recursive (max_concurrent_requests $transfers)" rclone "$(rate "$small_files" files/s)" "$(per "$small_files" file)"
		else failed_row "$w9small" "aws s3"; fi
	fi

	w9put="9b. S3 put $big_mib MiB"
	progress "$w9put"
	# One key for every tool (the server keeps objects in memory), removed before each run (rclone
	# would skip an object of the same size and time).
	forget_s3_big() { "${s3[@]}" rm "$s3_bucket/w8/big" >/dev/null 2>&1; }
	s3_put_big() {
		measure "${s3[@]}" -o part_size=${part_size_mib}MiB -o upload_cutoff=${part_size_mib}MiB put \
			--transfers=$big_transfers "$big" "$s3_bucket/w8/big"
	}
	if repeat s3_put_big forget_s3_big; then
		row "$w9put" "stor --backend=s3 --transfers=$big_transfers -o part_size=${part_size_mib}MiB (and cutoff)" stor "$(big_rate)" ""
	else failed_row "$w9put" stor; fi
	if [ -n "$rclone" ]; then
		rclone_s3_put_big() {
			measure "${rclone_run[@]}" copyto --s3-upload-concurrency $big_transfers --s3-chunk-size ${part_size_mib}M \
				--s3-upload-cutoff ${part_size_mib}M "$big" "benchs3:$s3_bucket/w8/big"
		}
		if repeat rclone_s3_put_big forget_s3_big; then
			row "$w9put" "rclone (s3) --s3-upload-concurrency $big_transfers --s3-chunk-size ${part_size_mib}M" rclone "$(big_rate)" ""
		else failed_row "$w9put" "rclone (s3)"; fi
	fi
	if [ -x "$aws" ]; then
		aws_put_big() { measure "${aws_s3[@]}" --profile big s3 cp "$big" "s3://$s3_bucket/w8/big"; }
		if repeat aws_put_big forget_s3_big; then
			row "$w9put" "aws s3 cp (max_concurrent_requests $big_transfers, chunks ${part_size_mib} MB)" rclone "$(big_rate)" ""
		else failed_row "$w9put" "aws s3"; fi
	fi

	w9get="9c. S3 get $big_mib MiB"
	progress "$w9get"
	forget_download() { rm -rf "$work/dl"; mkdir -p "$work/dl"; }
	if "${s3[@]}" put "$big" "$s3_bucket/w8/big" >"$work/out" 2>&1; then
		s3_get_big() { measure "${s3[@]}" get "$s3_bucket/w8/big" "$work/dl/big"; }
		if repeat s3_get_big forget_download; then
			row "$w9get" "stor --backend=s3 get" stor "$(big_rate)" ""
		else failed_row "$w9get" stor; fi
		if [ -n "$rclone" ]; then
			rclone_s3_get_big() { measure "${rclone_run[@]}" copyto --transfers $big_transfers "benchs3:$s3_bucket/w8/big" "$work/dl/big"; }
			if repeat rclone_s3_get_big forget_download; then
				row "$w9get" "rclone copyto (s3)" rclone "$(big_rate)" ""
			else failed_row "$w9get" "rclone (s3)"; fi
		fi
		if [ -x "$aws" ]; then
			aws_get_big() { measure "${aws_s3[@]}" --profile big s3 cp "s3://$s3_bucket/w8/big" "$work/dl/big"; }
			if repeat aws_get_big forget_download; then
				row "$w9get" "aws s3 cp (max_concurrent_requests $big_transfers)" rclone "$(big_rate)" ""
			else failed_row "$w9get" "aws s3"; fi
		fi
	else FAILURE=$(tail -n 2 "$work/out" | tr '\n' ' '); failed_row "$w9get" "stor (storing the source)"; fi
	forget_download

	eval "$b2_counter_functions"
	kill "$s3_server_pid" 2>/dev/null
	wait "$s3_server_pid" 2>/dev/null
	trap cleanup EXIT
fi
fi

# ---- the table -------------------------------------------------------------------------------
echo
echo "| workload | tool | median | rate | peak RSS | authorize | upload URL | upload_file | upload_part | downloads | other calls | requests | ratio |"
echo "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
awk -F'\t' '
	function duration(s) {
		if (s < 1e-6) return sprintf("%.0f ns", s * 1e9)
		if (s < 1e-3) return sprintf("%.1f µs", s * 1e6)
		if (s < 1) return sprintf("%.1f ms", s * 1e3)
		return sprintf("%.2f s", s)
	}
	NR == FNR { if ($3 == "stor") reference[$1] = $4; next }
	$3 == "note" { printf "| %s | %s | %s | | | | | | | | | | |\n", $1, $2, $5; next }
	{
		split($7, c, " ")
		ratio = ""
		if ($3 == "rclone" && reference[$1] > 0) ratio = sprintf("%s/stor %.2f×", $2 ~ /^aws/ ? "aws" : "rclone", $4 / reference[$1])
		if ($3 == "floor" && reference[$1] > 0 && $4 > 0) ratio = sprintf("stor/floor %.2f×", reference[$1] / $4)
		rss = $6 > 0 ? sprintf("%.1f MiB", $6 / 1024) : ""
		printf "| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", $1, $2, duration($4), $5, rss, c[1], c[2], c[3], c[4], c[5], c[6], $8, ratio
	}' "$work/rows" "$work/rows"
echo
echo "median of $runs runs after a warm-up; peak RSS: the largest of those runs; API calls: the last run"
echo "(server counters, reset before each run); ratio: rclone (or aws) time ÷ stor time, or stor time ÷ floor time."
[ -x "$time_program" ] || echo "(no time program at $time_program: peak RSS sampled from /proc/PID/status VmHWM every 5 ms, so short peaks may be missed)"
[ -n "$rclone" ] || echo "(rclone not installed: no rclone rows)"
