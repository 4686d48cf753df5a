# shellcheck shell=bash disable=SC2154 # set by scripts/bench and http.bash
# streams.bash: scripts/bench --streams; sourced after http.bash.
#
# The live session stream under load (issue 13): 1,000 streams open on one server, one per store
# session, while messages are stored through it at 500 per second (scripts/bench-http/streams.py
# opens the streams, stores, times each delivery against its 201 and reads the server's memory).
# Then the same stores at the same rate through pgbench (-R), the database's share of the delay.

stream_count=1000
stream_rate=500

http_streams() {
    ((stream_count <= store_sessions)) || fail "more streams ($stream_count) than store sessions ($store_sessions)"
    log "migrating the bench cluster"
    DATABASE_URL=$url scripts/migrate >&2
    http_build_server
    http_prepare_data
    MAX_STREAMS=$((stream_count + 16)) http_start_server "$server_binary" research-store-streams
    log "$stream_count streams, then ${duration}s of stores at $stream_rate/s (streams.py)"
    local status=0
    python3 "$http_dir/streams.py" --port "$server_port" --pid "$server_pid" --prefix "$store_prefix" \
        --streams "$stream_count" --rate "$stream_rate" --duration "$duration" --content "$store_content" \
        >"$work/streams.out" || status=$?
    http_stop_server

    http_write_pgbench_script
    log "pgbench: the store SQL at $stream_rate/s for ${duration}s"
    local prefix="$work/log-pgbench-rate"
    pgbench -n -M prepared -c 8 -j 2 -R "$stream_rate" -T "$duration" -f "$work/store.sql" \
        -D "sessions=$stream_count" -D "prefix=$store_prefix" -D "tokens=$store_tokens" -D "admin=false" \
        -D "user=bench" -D "role=user" -D "content=$store_content" -l --log-prefix="$prefix" \
        "$url_without_password" >"$work/pgbench-rate.out" 2>&1 || {
        cat "$work/pgbench-rate.out" >&2
        fail "pgbench at $stream_rate/s failed"
    }
    local percentiles
    read -r -a percentiles <<<"$(log_percentiles "$prefix".*)"
    echo
    cat "$work/streams.out"
    echo
    echo "The same stores through pgbench -M prepared -c 8 -R $stream_rate (the SQL of one store, the stream's"
    echo "trigger included): latency p50 ${percentiles[0]} ms, p99 ${percentiles[1]} ms."
    ((status == 0)) || fail "streams.py: a stored message never arrived, or a stream ended (exit $status)"
}
