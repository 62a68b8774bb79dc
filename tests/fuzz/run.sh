#!/bin/sh
# tests/fuzz/run.sh CORPUS_DIR BIN_DIR SECONDS TARGET... — run each libFuzzer target for SECONDS on
# its checked-in seeds (read only) plus a work corpus; print executions and coverage; fail on a find.
set -u
corpus=$1 bin=$2 seconds=$3
shift 3
failed=
for target in "$@"; do
    work=$bin/work/$target
    mkdir -p "$work"
    extra=
    case $target in
    fuzz_wire_*|fuzz_cache|fuzz_response|fuzz_list_*|fuzz_copy|fuzz_large_*) extra=-dict=$corpus/../b2.dict ;;
    fuzz_remote) extra=-close_fd_mask=2 ;; # usage errors go to stderr, by design
    esac
    log=$bin/$target.log
    if "$bin/$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=4096 \
        -print_final_stats=1 -artifact_prefix="$bin/$target-" $extra \
        "$work" "$corpus/$target" >"$log" 2>&1; then
        result=ok
    else
        result=FAILED
        failed="$failed $target"
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -n 1)
    echo "$target: $result, ${execs:-?} executions in ${seconds}s, ${cov:-no coverage line}"
done
if [ -n "$failed" ]; then
    for target in $failed; do
        echo "---- $bin/$target.log (end) ----"
        tail -n 60 "$bin/$target.log"
    done
    echo "fuzzing found problems in:$failed (inputs saved as $bin/<target>-crash-*)"
    exit 1
fi
