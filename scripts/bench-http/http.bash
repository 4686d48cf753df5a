# shellcheck shell=bash disable=SC2154 # repo, work, url, duration … are set by scripts/bench
# http.bash: the HTTP part of scripts/bench; sourced by it, not a command of its own.
#
# Uses from scripts/bench: repo, work, url, url_without_password, duration, scratch, http_pool,
# http_pooler, http_baseline, and the functions log, fail, sql, log_percentiles.
#
# Runs the release research-store against the bench cluster on a free 127.0.0.1 port and drives it
# with wrk (-t2 -c64 --latency, the Lua scripts next to this file): GET /livez, store message, get
# context, create session, analytics batch; each of the four again on one connection, and create
# over 1000 users. Then, with the server stopped, the database side of the same work: pgbench
# running each route's SQL and a psql \copy of the analytics rows.
# Every wrk run goes to 127.0.0.1 only and lasts $duration seconds after a 1-second warm-up.

http_dir=$repo/scripts/bench-http
http_threads=2
http_connections=64
store_sessions=1000
store_prefix=00000000-0000-7000-8000- # session n of the store workload: store_prefix + 12 hex digits of n
context_sessions=50
context_messages=200
context_tokens=40 # per message: the 4000-token budget cuts at 100 messages
context_prefix=00000000-0000-7000-8001-
context_query='max_tokens=4000&max_messages=200'
analytics_batch=1000
copy_batches=200 # the \copy loads the 1000 analytics rows this many times in one COPY
store_tokens=50
# 200 bytes of message content, JSON- and COPY-safe (no quote, backslash or tab); the context
# messages take its first 160 bytes (40 tokens at 4 bytes a token).
store_content='Benchmark message: how do vanadium redox flow batteries age over ten thousand cycles, which electrolyte additives slow the capacity fade, and what do the published field trials report after five years?'
store_content=${store_content:0:200}

server_pid=""
server_port=""

# wrk is a Debian package; root installs it, anyone else is told the command.
http_ensure_tools() {
    local missing=()
    command -v wrk >/dev/null || missing+=(wrk)
    command -v curl >/dev/null || missing+=(curl)
    ((${#missing[@]} == 0)) && return 0
    if [[ $EUID -ne 0 ]]; then
        fail "${missing[*]} not found; install with: sudo apt-get install -y ${missing[*]}   (or run with --skip-http)"
    fi
    log "installing ${missing[*]} (apt-get)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    }
    command -v wrk >/dev/null || fail "wrk still missing after apt-get install"
}

http_free_port() {
    local port attempt
    for attempt in {1..100}; do
        port=$(((RANDOM << 15 | RANDOM) % 40001 + 20000))
        if ! (: <>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            printf '%s\n' "$port"
            return
        fi
    done
    fail "no free port found in 20000-60000 after $attempt attempts"
}

# --- the data -----------------------------------------------------------------------------------

# Everything the HTTP workloads touch belongs to user "bench" in the bench cluster; it is
# recreated at every run (TRUNCATE users CASCADE empties every table that hangs off users).
http_prepare_data() {
    log "loading $store_sessions store sessions, $context_sessions context sessions x $context_messages messages"
    sql -v store_prefix="$store_prefix" -v context_prefix="$context_prefix" -v store_sessions="$store_sessions" \
        -v context_sessions="$context_sessions" -v context_messages="$context_messages" \
        -v context_tokens="$context_tokens" -v content="${store_content:0:160}" <<'SQL'
SET client_min_messages = warning;
TRUNCATE users CASCADE;
INSERT INTO users (id) VALUES ('bench');
INSERT INTO sessions (id, user_id, title)
SELECT (:'store_prefix' || lpad(to_hex(n), 12, '0'))::uuid, 'bench', 'bench store ' || n
FROM generate_series(1, :store_sessions) AS n;
INSERT INTO sessions (id, user_id, title, message_count, total_tokens, last_message_at)
SELECT (:'context_prefix' || lpad(to_hex(n), 12, '0'))::uuid, 'bench', 'bench context ' || n,
       :context_messages, :context_messages * :context_tokens, date_trunc('milliseconds', now())
FROM generate_series(1, :context_sessions) AS n;
INSERT INTO messages (id, session_id, seq, role, content, token_count, created_at)
SELECT gen_random_uuid(), (:'context_prefix' || lpad(to_hex(n), 12, '0'))::uuid, seq,
       CASE WHEN seq % 2 = 1 THEN 'user' ELSE 'assistant' END, :'content', :context_tokens,
       date_trunc('milliseconds', now())
FROM generate_series(1, :context_sessions) AS n, generate_series(1, :context_messages) AS seq;
VACUUM ANALYZE users, sessions, messages, analytics_events;
SQL

    # The analytics rows: one JSON body for POST /db/analytics/batch and the same rows as COPY text.
    awk -v n="$analytics_batch" -v copies="$copy_batches" -v body="$work/analytics-body.json" \
        -v rows="$work/analytics-rows.copy" 'BEGIN {
        split("bench.view bench.click bench.search bench.answer", types, " ")
        printf "{\"events\":[" >body
        for (i = 0; i < n; i++) {
            type[i] = types[i % 4 + 1]
            props[i] = sprintf("{\"i\":%d,\"page\":\"/research/%d\",\"ok\":true}", i, i % 50)
            duration[i] = sprintf("%.1f", (i * 37 % 5000) / 10 + 0.5)
            printf "%s{\"event_type\":\"%s\",\"properties\":%s,\"duration_ms\":%s}", (i ? "," : ""), type[i], props[i], duration[i] >body
        }
        printf "]}" >body
        for (c = 0; c < copies; c++)
            for (i = 0; i < n; i++) printf "bench\t%s\t%s\t%s\n", type[i], props[i], duration[i] >rows
    }'
}

# --- the server -----------------------------------------------------------------------------------

# Built as the Dockerfile builds it (the Swift runtime linked in), so RSS is what ships; in a
# scratch path of its own, so it never flips the flags of the one in $scratch. BENCH_SERVER_BINARY
# serves a binary built elsewhere instead (an earlier commit, for a before/after comparison under
# the same yardsticks). Sets server_binary.
server_binary=""
http_build_server() {
    local static=${BENCH_SERVER_SCRATCH_PATH:-.build-static}
    server_binary=${BENCH_SERVER_BINARY:-}
    if [[ -z $server_binary ]]; then
        log "building research-store (release, --static-swift-stdlib, scratch path $static)"
        swift build -c release --product research-store --static-swift-stdlib --scratch-path "$static" >&2
        server_binary=$(swift build -c release --static-swift-stdlib --scratch-path "$static" --show-bin-path)/research-store
    fi
    [[ -x $server_binary ]] || fail "no research-store binary at $server_binary"
}

# --baseline: the Hummingbird 2 + PostgresNIO comparison service (scripts/bench-baseline, a package
# of its own that CI never builds), built the same way. Sets baseline_binary.
baseline_binary=""
http_build_baseline() {
    local args=(-c release --static-swift-stdlib --package-path "$repo/scripts/bench-baseline" --scratch-path "$repo/.build-baseline")
    log "building research-store-baseline (release, --static-swift-stdlib, scratch path .build-baseline)"
    swift build "${args[@]}" --product research-store-baseline >&2
    baseline_binary=$(swift build "${args[@]}" --show-bin-path)/research-store-baseline
    [[ -x $baseline_binary ]] || fail "no research-store-baseline binary at $baseline_binary"
}

# http_start_server BINARY LABEL: serves BINARY on a free 127.0.0.1 port (log: $work/server-LABEL.log).
server_label=research-store
http_start_server() {
    local binary=$1
    server_label=$2
    server_port=$(http_free_port)
    log "starting $server_label on 127.0.0.1:$server_port (DB_POOL_MAX=$http_pool DB_POOLER=$http_pooler TOKEN_ENCODING=${http_token_encoding:-o200k_base})"
    # Callers named by X-User-ID (AUTH_MODE=none), no rate limit: the figures are the store's,
    # not the limiter's. Request log lines are info-level, so LOG_LEVEL=warning leaves them out.
    DATABASE_URL=$url HOST=127.0.0.1 PORT=$server_port DB_POOL_MAX=$http_pool DB_POOLER=$http_pooler \
        AUTH_MODE=none RATE_LIMIT_RPS=0 MAX_CONCURRENT_REQUESTS=100000 ENV_FILE=/dev/null \
        TOKEN_ENCODING=${http_token_encoding:-o200k_base} \
        LOG_LEVEL=warning "$binary" serve >"$work/server-$server_label.log" 2>&1 &
    server_pid=$!
    local attempt
    for attempt in {1..300}; do
        if curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$server_port/readyz" 2>/dev/null; then
            return 0
        fi
        if ! kill -0 "$server_pid" 2>/dev/null; then
            cat "$work/server-$server_label.log" >&2
            server_pid=""
            fail "$server_label exited during start-up"
        fi
        sleep 0.1
    done
    cat "$work/server-$server_label.log" >&2
    fail "$server_label not ready after 30 s"
}

# SIGTERM, then wait up to 20 s for the graceful drain; SIGKILL only if it hangs. Safe to call twice.
http_stop_server() {
    [[ -n $server_pid ]] || return 0
    local pid=$server_pid status=0 _
    server_pid=""
    kill -TERM "$pid" 2>/dev/null || return 0
    for _ in {1..200}; do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "$server_label did not stop within 20 s of SIGTERM; sending SIGKILL"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || status=$?
    log "$server_label stopped (exit status $status)"
}

# --- CPU accounting -------------------------------------------------------------------------------

clock_ticks=$(getconf CLK_TCK 2>/dev/null || echo 100)
postmaster_pid=""

# utime+stime of PID in clock ticks; with "reaped", plus what it collected from exited children.
http_ticks() {
    local stat
    { stat=$(<"/proc/$1/stat"); } 2>/dev/null || { # the process may have just exited
        echo 0
        return
    }
    local -a f
    read -r -a f <<<"${stat##*) }" # f[0] is field 3 (state): utime = f[11], stime f[12], cutime f[13], cstime f[14]
    if [[ ${2:-} == reaped ]]; then
        echo $((f[11] + f[12] + f[13] + f[14]))
    else
        echo $((f[11] + f[12]))
    fi
}

# "server_ticks postgres_ticks": PostgreSQL = every live process of the cluster + what the
# postmaster reaped (backends that exited), so the difference of two snapshots counts both.
# With "settle" (after pgbench or psql, whose backends exit): seen here, the time of a backend
# that exited shows in the postmaster's figures only once the postmaster wakes up again, so the
# snapshot first makes it accept a connection. The server's pool connections never exit, so the
# wrk runs take their snapshots at once (the server is still finishing requests wrk left).
http_cpu_snapshot() {
    local server=0 postgres=0 pid
    if [[ -n $postmaster_pid && ${1:-} == settle ]]; then
        sql -c 'SELECT 1' >/dev/null
        sleep 0.2
    fi
    [[ -z $server_pid ]] || server=$(http_ticks "$server_pid")
    if [[ -n $postmaster_pid ]]; then
        postgres=$(http_ticks "$postmaster_pid" reaped)
        for pid in $(ps -o pid= --ppid "$postmaster_pid"); do
            postgres=$((postgres + $(http_ticks "$pid")))
        done
    fi
    echo "$server $postgres"
}

# cpu[NAME]="server_us postgres_us client_us per request, busy cores" from two snapshots and GNU time.
declare -A http_cpu=()
http_record_cpu() {
    local name=$1 before=$2 after=$3 requests=$4 seconds=$5 time_file=$6
    local client=n/a
    if [[ -s $time_file ]]; then client=$(awk 'NF >= 2 { print $1 + $2 }' "$time_file"); fi
    http_cpu[$name]=$(awk -v b="$before" -v a="$after" -v n="$requests" -v s="$seconds" -v c="$client" -v hz="$clock_ticks" 'BEGIN {
        split(b, x, " "); split(a, y, " ")
        server = (y[1] - x[1]) / hz; postgres = (y[2] - x[2]) / hz
        if (n <= 0 || s <= 0) { print "n/a n/a n/a n/a"; exit }
        busy = server + postgres + (c == "n/a" ? 0 : c)
        printf "%.0f %.0f %s %.2f", server * 1e6 / n, postgres * 1e6 / n,
            (c == "n/a" ? "n/a" : sprintf("%.0f", c * 1e6 / n)), busy / s
    }')
}

http_checkpoint() { sql -c 'CHECKPOINT' >/dev/null 2>&1 || true; } # superuser or pg_checkpoint; else skipped

http_time=()
if [[ -x /usr/bin/time ]] && /usr/bin/time -f '%U' -o /dev/null true 2>/dev/null; then
    http_time=(/usr/bin/time -f '%U %S' -o "$work/client.time")
fi

# --- wrk ------------------------------------------------------------------------------------------

# Waits (up to 30 s) until the server's pool has no connection lent and no waiter, as /db/health
# reports it: wrk stops with up to 64 requests still being served.
http_wait_idle() {
    local attempt health
    for attempt in {1..300}; do
        health=$(curl -fsS --max-time 2 "http://127.0.0.1:$server_port/db/health" 2>/dev/null) || health=""
        if [[ $health == *'"in_use":0'* && $health == *'"waiting":0'* ]]; then
            sleep 0.1
            return 0
        fi
        sleep 0.1
    done
    log "the server still had requests in flight 30 s after wrk stopped"
}

# http_wrk NAME CONNECTIONS SCRIPT [ARGS…]: a 1 s warm-up, then the measured run; sets
# http[NAME]="rps p50_ms p99_ms non2xx socket_errors requests seconds" and http_cpu[NAME].
declare -A http=()
http_wrk() {
    local name=$1 connections=$2 script=$3
    shift 3
    local target="http://127.0.0.1:$server_port"
    local threads=$((connections < http_threads ? connections : http_threads))
    local common=(-t "$threads" -c "$connections" --timeout 10s -s "$http_dir/$script" "$target")
    log "wrk $name: 1s warm-up + ${duration}s at $connections connections"
    wrk -d 1s "${common[@]}" -- "$@" >"$work/wrk-$name-warmup.out" 2>&1 || {
        cat "$work/wrk-$name-warmup.out" >&2
        fail "wrk warm-up of $name failed"
    }
    http_wait_idle # requests the warm-up left in flight finish before anything is counted
    [[ -z ${http_before_measure:-} ]] || "$http_before_measure"
    http_checkpoint
    local before after out="$work/wrk-$name.out"
    rm -f "$work/client.time"
    before=$(http_cpu_snapshot)
    "${http_time[@]}" wrk -d "${duration}s" --latency "${common[@]}" -- "$@" >"$out" 2>&1 || {
        cat "$out" >&2
        fail "wrk $name failed"
    }
    after=$(http_cpu_snapshot)
    http_wait_idle
    [[ -z ${http_after_measure:-} ]] || "$http_after_measure"
    kill -0 "$server_pid" 2>/dev/null || {
        tail -n 20 "$work/server-$server_label.log" >&2
        fail "$server_label died during $name"
    }
    local line
    line=$(grep '^RESULT ' "$out" | tail -n 1) || {
        cat "$out" >&2
        fail "wrk $name printed no RESULT line"
    }
    declare -A f=()
    local pair
    for pair in ${line%% first_bad_body=*}; do f[${pair%%=*}]=${pair#*=}; done
    http[$name]="${f[rps]} ${f[p50_ms]} ${f[p99_ms]} ${f[non2xx]} ${f[socket_errors]} ${f[requests]} ${f[seconds]}"
    http_record_cpu "$name" "$before" "$after" "${f[requests]}" "${f[seconds]}" "$work/client.time"
    log "  $name: ${f[rps]} req/s, p50 ${f[p50_ms]} ms, p99 ${f[p99_ms]} ms, non-2xx ${f[non2xx]}, socket errors ${f[socket_errors]}"
    if ((f[non2xx] > 0)); then
        log "  first non-2xx: ${f[first_bad_status]} ${line#* first_bad_body=}"
    fi
}

# --- pgbench and COPY: the database side of the same work -----------------------------------------

# The statement MessageStore.append runs for one message, as a pgbench script. Two differences, both
# costing the database a few µs: the session id is computed from the random number n (pgbench
# variables are numbers), and the message id (a UUIDv7 made by the server) is made in SQL.
http_write_pgbench_script() {
    cat >"$work/store.sql" <<'EOF'
\set n random(1, :sessions)
WITH target AS (
    UPDATE sessions SET
        message_count = message_count + 1,
        total_tokens = total_tokens + :tokens,
        updated_at = greatest(date_trunc('milliseconds', now()), updated_at),
        last_message_at = greatest(date_trunc('milliseconds', now()), created_at)
    WHERE id = (:prefix::text || lpad(to_hex(:n::int), 12, '0'))::uuid AND status = 'active'
      AND (:admin::bool OR user_id = :user::text)
    RETURNING id, message_count - 1 AS base, last_message_at
)
INSERT INTO messages AS m
    (id, session_id, seq, role, content, token_count, token_count_estimated, model, metadata, created_at,
     tokens_o200k, tokens_cl100k)
SELECT new.id, target.id, target.base + new.position, new.role, new.content, new.token_count,
       new.estimated, nullif(new.model, ''), new.metadata, target.last_message_at,
       nullif(new.tokens_o200k, -1), nullif(new.tokens_cl100k, -1)
FROM target,
     unnest(ARRAY[encode(set_bit(set_bit(overlay(uuid_send(gen_random_uuid())
                      placing substring(int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint) FROM 3)
                      FROM 1 FOR 6), 52, 1), 53, 1), 'hex')::uuid],
            ARRAY[:role::text], ARRAY[:content::text], ARRAY[:tokens::bigint], ARRAY[false], ARRAY[''::text],
            ARRAY['{}'::jsonb], ARRAY[:tokens::bigint], ARRAY[:tokens::bigint])
     WITH ORDINALITY AS new (id, role, content, token_count, estimated, model, metadata, tokens_o200k, tokens_cl100k, position)
RETURNING m.id, m.session_id, m.seq, m.role, m.content, m.token_count, m.token_count_estimated, m.model, m.metadata,
    m.created_at, m.tokens_o200k, m.tokens_cl100k;
EOF
}

# The statements of GET /db/context/{id} (ContextService.load, one pipeline there) and of
# POST /db/sessions/create (SessionStore.create), as pgbench scripts: the yardsticks of those routes.
http_write_route_scripts() {
    cat >"$work/context.sql" <<'EOF'
\set n random(1, :sessions)
BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY;
SELECT id, user_id, title, status, metadata, message_count, total_tokens, created_at, updated_at, last_message_at
FROM sessions WHERE id = (:prefix::text || lpad(to_hex(:n::int), 12, '0'))::uuid AND (false OR user_id = 'bench');
SELECT m.id, m.session_id, m.seq, m.role, m.content, m.token_count, m.token_count_estimated, m.model, m.metadata,
       m.created_at, m.tokens_o200k, m.tokens_cl100k
FROM (SELECT m.*, sum(m.token_count) OVER (ORDER BY m.seq DESC) AS tokens_so_far
      FROM messages m WHERE m.session_id = (:prefix::text || lpad(to_hex(:n::int), 12, '0'))::uuid
      ORDER BY m.seq DESC LIMIT :max_messages) m
WHERE m.tokens_so_far <= :max_tokens ORDER BY m.seq DESC;
SELECT m.id, m.session_id, m.seq, m.role, m.content, m.token_count, m.token_count_estimated, m.model, m.metadata,
       m.created_at, m.tokens_o200k, m.tokens_cl100k
FROM messages m WHERE m.session_id = (:prefix::text || lpad(to_hex(:n::int), 12, '0'))::uuid AND m.role = 'system'
ORDER BY m.seq DESC LIMIT 1;
SELECT id, question, workflow_type, result, finished_at FROM research_requests
WHERE session_id = (:prefix::text || lpad(to_hex(:n::int), 12, '0'))::uuid AND status = 'completed'
ORDER BY finished_at DESC, id DESC LIMIT 5;
COMMIT;
EOF
    cat >"$work/create.sql" <<'EOF'
WITH owner AS (
    INSERT INTO users (id) VALUES ('bench') ON CONFLICT (id) DO NOTHING
)
INSERT INTO sessions (id, user_id, title, metadata)
VALUES (gen_random_uuid(), 'bench', 'pgbench session', '{"source": "pgbench", "kind": "bench"}')
RETURNING id, user_id, title, status, metadata, message_count, total_tokens, created_at, updated_at, last_message_at;
EOF
}

# http_pgbench MODE [WORKLOAD]: runs the store SQL (or the context or create statements) under
# pgbench; sets http[pgbench-MODE] (or http[pgbench-WORKLOAD]) to
# "tps p50_ms p99_ms failed 0 transactions seconds".
http_pgbench() {
    local mode=$1 workload=${2:-store} name=pgbench-$1
    [[ $workload == store ]] || name=pgbench-$workload
    local args=(-n -M "$mode" -c "$http_connections" -j "$http_threads" -f "$work/$workload.sql")
    case $workload in
        store) args+=(-D "sessions=$store_sessions" -D "prefix=$store_prefix" -D "tokens=$store_tokens" -D "admin=false"
            -D "user=bench" -D "role=user" -D "content=$store_content") ;;
        context) args+=(-D "sessions=$context_sessions" -D "prefix=$context_prefix" -D "max_tokens=4000"
            -D "max_messages=200") ;;
    esac
    log "pgbench $workload SQL -M $mode: 1s warm-up + ${duration}s at $http_connections clients"
    pgbench "${args[@]}" -T 1 "$url_without_password" >"$work/$name-warmup.out" 2>&1 || {
        cat "$work/$name-warmup.out" >&2
        fail "pgbench warm-up failed"
    }
    http_checkpoint
    local before after out="$work/$name.out" prefix="$work/log-$name"
    rm -f "$work/client.time"
    before=$(http_cpu_snapshot settle)
    "${http_time[@]}" pgbench "${args[@]}" -T "$duration" -l --log-prefix="$prefix" "$url_without_password" >"$out" 2>&1 || {
        cat "$out" >&2
        fail "pgbench $workload -M $mode failed"
    }
    after=$(http_cpu_snapshot settle)
    local tps transactions failed percentiles
    tps=$(sed -nE 's/^tps = ([0-9.]+).*/\1/p' "$out" | tail -n 1)
    transactions=$(sed -nE 's/^number of transactions actually processed: ([0-9]+).*/\1/p' "$out")
    failed=$(sed -nE 's/^number of failed transactions: ([0-9]+).*/\1/p' "$out")
    [[ -n $tps && -n $transactions ]] || {
        cat "$out" >&2
        fail "could not read tps from pgbench"
    }
    percentiles=$(log_percentiles "$prefix".*)
    rm -f "$prefix".*
    http[$name]="$tps $percentiles ${failed:-0} 0 $transactions $duration"
    http_record_cpu "$name" "$before" "$after" "$transactions" "$duration" "$work/client.time"
    log "  $name: $tps tps, p50/p99 $percentiles ms"
}

# One \copy of the analytics rows (the 1000-row batch x copy_batches) through psql, timed by
# psql's \timing (the COPY alone, not the connection). Sets http_copy="rows_per_s rows ms".
http_copy=""
http_copy_run() {
    local rows=$((analytics_batch * copy_batches)) out="$work/copy.out"
    log "psql \\copy of $rows analytics rows"
    sql -c 'TRUNCATE analytics_events' >/dev/null
    http_checkpoint
    local before after
    before=$(http_cpu_snapshot settle)
    rm -f "$work/client.time"
    "${http_time[@]}" psql -X -q -v ON_ERROR_STOP=1 "$url_without_password" >"$out" 2>&1 <<SQL || {
\\timing on
\\copy analytics_events (user_id, event_type, properties, duration_ms) FROM '$work/analytics-rows.copy'
SQL
        cat "$out" >&2
        fail "psql \\copy failed"
    }
    after=$(http_cpu_snapshot settle)
    local ms
    ms=$(sed -nE 's/^Time: ([0-9.]+) ms.*/\1/p' "$out" | tail -n 1)
    [[ -n $ms ]] || {
        cat "$out" >&2
        fail "psql printed no timing for \\copy"
    }
    http_copy="$(awk -v r="$rows" -v ms="$ms" 'BEGIN { printf "%.0f", r * 1000 / ms }') $rows $ms"
    http_record_cpu copy "$before" "$after" "$copy_batches" "$(awk -v ms="$ms" 'BEGIN { print ms / 1000 }')" "$work/client.time"
    log "  copy: ${http_copy%% *} rows/s ($rows rows in $ms ms)"
}


# --- the run --------------------------------------------------------------------------------------

http_benchmark() {
    log "migrating the bench cluster"
    DATABASE_URL=$url scripts/migrate >&2 # the URL in the environment: no password on a command line
    http_build_server
    if $http_baseline; then http_build_baseline; fi
    http_prepare_data
    http_write_pgbench_script
    http_write_route_scripts
    http_start_server "$server_binary" research-store
    # The postmaster is the parent of the checkpointer (a process that lives as long as it does).
    local checkpointer
    checkpointer=$(sql -At -c "SELECT pid FROM pg_stat_activity WHERE backend_type = 'checkpointer'")
    postmaster_pid=$(ps -o ppid= -p "$checkpointer" 2>/dev/null | tr -d ' ') || postmaster_pid=""
    [[ $postmaster_pid =~ ^[0-9]+$ && -r /proc/$postmaster_pid/stat ]] || {
        log "PostgreSQL's processes are not visible here; its CPU share is not reported"
        postmaster_pid=""
    }

    sleep 1
    rss_idle=$(http_rss VmRSS)
    http_wrk livez "$http_connections" livez.lua

    http_before_measure=http_count_messages_before http_after_measure=http_count_messages_after
    http_wrk store "$http_connections" store.lua "$store_sessions" "$store_prefix" "$store_content"
    http_before_measure="" http_after_measure=""
    rss_store=$(http_rss VmHWM)
    # Each route again on one connection: what a request costs when nothing waits in front of it.
    http_wrk store-1 1 store.lua "$store_sessions" "$store_prefix" "$store_content"

    http_wrk context "$http_connections" context.lua "$context_sessions" "$context_prefix" "$context_query"
    http_wrk context-1 1 context.lua "$context_sessions" "$context_prefix" "$context_query"
    # What one context answer holds (a check that the budget cut where intended).
    curl -fsS -o "$work/context.json" -H 'X-User-ID: bench' \
        "http://127.0.0.1:$server_port/db/context/${context_prefix}000000000001?$context_query"
    context_shape=$(jq -r '"\(.messages | length) messages, \(.token_count) tokens, omitted \(.omitted_messages)"' \
        "$work/context.json" 2>/dev/null) || context_shape="(jq missing)"
    context_shape="$context_shape, $(wc -c <"$work/context.json") bytes"

    http_wrk create "$http_connections" create.lua
    # The same spread over 1000 users: create upserts its owner's users row, which one user serialises.
    http_wrk create-users "$http_connections" create.lua 1000
    http_wrk create-1 1 create.lua

    http_before_measure=http_truncate_events http_after_measure=http_count_events
    http_wrk analytics "$http_connections" analytics.lua "$work/analytics-body.json"
    http_before_measure="" http_after_measure=""
    http_wrk analytics-1 1 analytics.lua "$work/analytics-body.json"
    rss_all=$(http_rss VmHWM)
    http_fork_timing

    http_stop_server
    http_pgbench prepared
    http_pgbench extended
    http_pgbench prepared context
    http_pgbench prepared create
    http_copy_run

    if $http_baseline; then
        http_baseline_runs query
        http_baseline_runs prepared
    fi
    http_report
    if $http_baseline; then http_baseline_report; fi
}

# POST /db/sessions/{id}/fork of a session of $fork_messages messages (one statement copies them),
# five times, each timed by curl from send to last byte. Sets fork_times (ms, sorted).
fork_messages=10000
fork_session=00000000-0000-7000-8002-000000000001
fork_times=""
http_fork_timing() {
    sql -v id="$fork_session" -v n="$fork_messages" -v content="${store_content:0:160}" >/dev/null <<'SQL'
INSERT INTO sessions (id, user_id, title, message_count, total_tokens, last_message_at)
VALUES (:'id', 'bench', 'bench fork source', :n, :n * 40, date_trunc('milliseconds', now()));
INSERT INTO messages (id, session_id, seq, role, content, token_count, created_at, tokens_o200k, tokens_cl100k)
SELECT gen_random_uuid(), :'id', seq, CASE WHEN seq % 2 = 1 THEN 'user' ELSE 'assistant' END, :'content', 40,
       date_trunc('milliseconds', now()), 33, 33
FROM generate_series(1, :n) AS seq;
VACUUM ANALYZE sessions, messages;
SQL
    local attempt times=()
    for attempt in 1 2 3 4 5; do
        times+=("$(curl -fsS -o /dev/null -w '%{time_total}' -X POST -H 'Content-Type: application/json' \
            -H 'X-User-ID: bench' -d '{}' "http://127.0.0.1:$server_port/db/sessions/$fork_session/fork")") ||
            fail "fork of the $fork_messages-message session failed"
    done
    fork_times=$(printf '%s\n' "${times[@]}" | sort -g | awk '{ printf "%s%.0f", (NR > 1 ? " " : ""), $1 * 1000 }')
    log "  fork of $fork_messages messages, 5 times: $fork_times ms"
}

# --baseline: the same wrk runs (without the one-connection runs and create-users) against research-store-baseline,
# twice: its statements unnamed (PostgresNIO's query API), then prepared (BASELINE_PREPARED=true,
# its execute API). Our runs appended ~100k+ messages to the store sessions, left their rows with
# dead versions, added sessions and users (create), and pgbench and COPY wrote more: so every row is
# reloaded before each mode, and all three start from the same data (context sessions are read-only;
# analytics_events is emptied before each analytics run in any case).
# http_baseline_runs MODE (query | prepared): results under baseline-MODE-WORKLOAD.
declare -A rss_baseline=()
http_baseline_runs() {
    local mode=$1 prefix=baseline-$1
    http_prepare_data
    BASELINE_PREPARED=$([[ $mode == prepared ]] && echo true || echo false) \
        http_start_server "$baseline_binary" "research-store-baseline-$mode"
    sleep 1
    rss_baseline[$mode]=$(http_rss VmRSS)
    http_wrk "$prefix-livez" "$http_connections" livez.lua
    http_wrk "$prefix-store" "$http_connections" store.lua "$store_sessions" "$store_prefix" "$store_content"
    rss_baseline[$mode]+=" / $(http_rss VmHWM)"
    http_wrk "$prefix-context" "$http_connections" context.lua "$context_sessions" "$context_prefix" "$context_query"
    http_wrk "$prefix-create" "$http_connections" create.lua
    http_before_measure=http_truncate_events
    http_wrk "$prefix-analytics" "$http_connections" analytics.lua "$work/analytics-body.json"
    http_before_measure=""
    rss_baseline[$mode]+=" / $(http_rss VmHWM)"
    http_stop_server
}

http_baseline_report() {
    field() { local -a p; read -r -a p <<<"${http[$1]:-}"; printf '%s' "${p[$2]:-n/a}"; }
    ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "n/a" }'; }
    local format='%-34s %9s %8s  %9s %8s  %9s %8s  %6s %6s\n' row name label
    echo
    echo "research-store (DB_POOLER=$http_pooler) vs research-store-baseline (Hummingbird 2 + PostgresNIO, the same SQL;"
    echo "scripts/bench-baseline) with unnamed statements (query API) and prepared ones (execute API, BASELINE_PREPARED=true);"
    echo "the same wrk runs and DB_POOL_MAX=$http_pool, the rows reloaded before each baseline mode. rs = research-store,"
    echo "query / prep = the baseline's two modes, p99 in ms; x = research-store's req/s / the baseline's."
    echo
    # shellcheck disable=SC2059
    printf "$format" workload "rs req/s" "rs p99" "query r/s" "q p99" "prep r/s" "p p99" "x qry" "x prep"
    for row in "livez:GET /livez" "store:POST /db/messages/store" "context:GET /db/context/{id} (100 msgs)" \
        "create:POST /db/sessions/create" "analytics:POST /db/analytics/batch (x$analytics_batch)"; do
        name=${row%%:*} label=${row#*:}
        # shellcheck disable=SC2059
        printf "$format" "$label" "$(field "$name" 0)" "$(field "$name" 2)" \
            "$(field "baseline-query-$name" 0)" "$(field "baseline-query-$name" 2)" \
            "$(field "baseline-prepared-$name" 0)" "$(field "baseline-prepared-$name" 2)" \
            "$(ratio "$(field "$name" 0)" "$(field "baseline-query-$name" 0)")" \
            "$(ratio "$(field "$name" 0)" "$(field "baseline-prepared-$name" 0)")"
    done
    echo
    echo "non-2xx answers (research-store / base query / base prepared):" "$(for name in livez store context create analytics; do
        printf '%s %s/%s/%s  ' "$name" "$(field "$name" 3)" "$(field "baseline-query-$name" 3)" "$(field "baseline-prepared-$name" 3)"
    done)"
    echo "server RSS in MiB, idle after start-up / peak through the store run / peak through every run:"
    echo "  research-store ${rss_idle:-n/a} / ${rss_store:-n/a} / ${rss_all:-n/a} (its runs include the one-connection runs and create-users);" \
        "base query ${rss_baseline[query]:-n/a}; base prepared ${rss_baseline[prepared]:-n/a}"
    echo "CPU per request in µs (server / PostgreSQL / client) and cores busy:"
    for name in livez store context create analytics; do
        local -a ours query prepared
        read -r -a ours <<<"${http_cpu[$name]:-n/a n/a n/a n/a}"
        read -r -a query <<<"${http_cpu[baseline-query-$name]:-n/a n/a n/a n/a}"
        read -r -a prepared <<<"${http_cpu[baseline-prepared-$name]:-n/a n/a n/a n/a}"
        printf '  %-10s research-store %6s / %6s / %6s %4s   base query %6s / %6s / %6s %4s   base prepared %6s / %6s / %6s %4s\n' \
            "$name" "${ours[@]:0:4}" "${query[@]:0:4}" "${prepared[@]:0:4}"
    done
}

# http_rss FIELD: the server's VmRSS (now) or VmHWM (peak so far) from /proc, in MiB.
rss_idle="" rss_store="" rss_all=""
http_rss() {
    awk -v f="$1:" '$1 == f { printf "%.1f", $2 / 1024 }' "/proc/$server_pid/status" 2>/dev/null || echo n/a
}

# The checks printed under the table: rows written during the measured run vs 2xx answers.
stored_before=0 stored_after=0 events_after=0
http_count_messages_before() { stored_before=$(sql -At -c 'SELECT count(*) FROM messages'); }
http_count_messages_after() { stored_after=$(sql -At -c 'SELECT count(*) FROM messages'); }
# Each ingest run starts from an empty analytics_events (the warm-up's rows removed).
http_truncate_events() { sql -c 'TRUNCATE analytics_events' >/dev/null; }
http_count_events() { events_after=$(sql -At -c 'SELECT count(*) FROM analytics_events'); }

# --- the table ------------------------------------------------------------------------------------

http_report() {
    local stored=$((stored_after - stored_before)) events=$events_after
    h() { local -a p; read -r -a p <<<"${http[$1]:-}"; printf '%s' "${p[$2]:-n/a}"; }
    num() { awk -v v="$1" 'BEGIN { if (v ~ /^[0-9.]+$/) printf "%.0f", v; else print "n/a" }'; }
    div() { awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "n/a" }'; }

    local livez pg ceiling ceiling_name
    livez=$(h livez 0)
    pg=$(h pgbench-prepared 0)
    if awk -v a="$livez" -v b="$pg" 'BEGIN { exit !(a <= b) }'; then
        ceiling=$livez ceiling_name="GET /livez"
    else
        ceiling=$pg ceiling_name="pgbench store SQL"
    fi
    local analytics_rows copy_rows
    local -a copy
    read -r -a copy <<<"$http_copy"
    analytics_rows=$(awk -v r="$(h analytics 0)" -v n="$analytics_batch" 'BEGIN { printf "%.0f", r * n }')
    copy_rows=${http_copy%% *}

    local format='%-34s %9s %10s %8s %8s %8s  %s\n'
    echo
    echo "HTTP workloads: research-store (release, DB_POOL_MAX=$http_pool, DB_POOLER=$http_pooler) on 127.0.0.1, PostgreSQL $(sql -At -c 'SHOW server_version') (fsync on),"
    echo "$(nproc) cores shared by wrk, the server and PostgreSQL; wrk -t$http_threads -c$http_connections -d${duration}s --latency after a 1s warm-up,"
    echo "pgbench -c$http_connections -j$http_threads -T$duration; latency per request (wrk: send to last byte; pgbench: per transaction)."
    echo
    # shellcheck disable=SC2059
    printf "$format" workload "req/s" "rows/s" "p50 ms" "p99 ms" "non-2xx" "ratio"
    # shellcheck disable=SC2059
    {
        printf "$format" "GET /livez (HTTP ceiling)" "$(num "$livez")" "" "$(h livez 1)" "$(h livez 2)" "$(h livez 3)" ""
        printf "$format" "pgbench store SQL -M prepared" "$(num "$pg")" "$(num "$pg")" "$(h pgbench-prepared 1)" "$(h pgbench-prepared 2)" "$(h pgbench-prepared 3)" "(db ceiling)"
        printf "$format" "pgbench store SQL -M extended" "$(num "$(h pgbench-extended 0)")" "$(num "$(h pgbench-extended 0)")" "$(h pgbench-extended 1)" "$(h pgbench-extended 2)" "$(h pgbench-extended 3)" "(unprepared, like the server)"
        printf "$format" "POST /db/messages/store" "$(num "$(h store 0)")" "$(num "$(h store 0)")" "$(h store 1)" "$(h store 2)" "$(h store 3)" "$(div "$(h store 0)" "$pg") of pgbench"
        printf "$format" "  same, 1 connection" "$(num "$(h store-1 0)")" "$(num "$(h store-1 0)")" "$(h store-1 1)" "$(h store-1 2)" "$(h store-1 3)" "(not a 64-connection figure)"
        printf "$format" "pgbench context statements" "$(num "$(h pgbench-context 0)")" "" "$(h pgbench-context 1)" "$(h pgbench-context 2)" "$(h pgbench-context 3)" "(-M prepared)"
        printf "$format" "GET /db/context/{id} (100 msgs)" "$(num "$(h context 0)")" "" "$(h context 1)" "$(h context 2)" "$(h context 3)" "$(div "$(h context 0)" "$(h pgbench-context 0)") of pgbench"
        printf "$format" "  same, 1 connection" "$(num "$(h context-1 0)")" "" "$(h context-1 1)" "$(h context-1 2)" "$(h context-1 3)" "(not a 64-connection figure)"
        printf "$format" "pgbench create statement" "$(num "$(h pgbench-create 0)")" "$(num "$(h pgbench-create 0)")" "$(h pgbench-create 1)" "$(h pgbench-create 2)" "$(h pgbench-create 3)" "(-M prepared)"
        printf "$format" "POST /db/sessions/create" "$(num "$(h create 0)")" "$(num "$(h create 0)")" "$(h create 1)" "$(h create 2)" "$(h create 3)" "$(div "$(h create 0)" "$(h pgbench-create 0)") of pgbench"
        printf "$format" "  same, 1000 users" "$(num "$(h create-users 0)")" "$(num "$(h create-users 0)")" "$(h create-users 1)" "$(h create-users 2)" "$(h create-users 3)" "$(div "$(h create-users 0)" "$(h pgbench-create 0)") of pgbench"
        printf "$format" "  same, 1 connection" "$(num "$(h create-1 0)")" "$(num "$(h create-1 0)")" "$(h create-1 1)" "$(h create-1 2)" "$(h create-1 3)" "(not a 64-connection figure)"
        printf "$format" "POST /db/analytics/batch (x$analytics_batch)" "$(num "$(h analytics 0)")" "$analytics_rows" "$(h analytics 1)" "$(h analytics 2)" "$(h analytics 3)" "$(div "$analytics_rows" "$copy_rows") of COPY"
        printf "$format" "  same, 1 connection" "$(num "$(h analytics-1 0)")" "$(num "$(awk -v r="$(h analytics-1 0)" -v n="$analytics_batch" 'BEGIN { print r * n }')")" "$(h analytics-1 1)" "$(h analytics-1 2)" "$(h analytics-1 3)" "(not a 64-connection figure)"
        printf "$format" "psql \\copy analytics rows" "" "$copy_rows" "" "" "" "(${copy[1]:-n/a} rows in ${copy[2]:-n/a} ms, one COPY)"
    }
    echo
    echo "ceiling = the lower of GET /livez and pgbench -M prepared: $ceiling_name, $(num "$ceiling")/s."
    echo "context answer: $context_shape. Analytics batch: no session_id (no session lookups); every event is the caller's."
    echo "checks (rows include the requests still in flight when wrk stopped, up to $http_connections): messages written by the"
    echo "store run $stored for $(awk -v r="$(h store 5)" -v b="$(h store 3)" 'BEGIN { print r - b }') 2xx answers;" \
        "analytics rows $events for $(awk -v r="$(h analytics 5)" -v b="$(h analytics 3)" 'BEGIN { print r - b }') 2xx answers x $analytics_batch;" \
        "socket errors: $(for n in livez store store-1 context context-1 create create-users create-1 analytics analytics-1; do printf '%s %s ' "$n" "$(h "$n" 4)"; done)"
    echo "POST /db/sessions/{id}/fork of a $fork_messages-message session, 5 times (ms, curl, sorted): ${fork_times:-n/a}"
    echo "server memory: RSS idle after start-up ${rss_idle:-n/a} MiB; peak RSS through the store run ${rss_store:-n/a} MiB," \
        "through every run ${rss_all:-n/a} MiB"
    echo
    echo "CPU per request in µs (server / PostgreSQL / client: wrk, pgbench or psql) and cores busy, from /proc and GNU time:"
    local name
    for name in livez store store-1 pgbench-prepared pgbench-extended context pgbench-context context-1 create pgbench-create \
        create-users create-1 analytics analytics-1 copy; do
        local -a c
        read -r -a c <<<"${http_cpu[$name]:-n/a n/a n/a n/a}"
        printf '  %-18s %7s / %7s / %7s   %s cores%s\n' "$name" "${c[0]}" "${c[1]}" "${c[2]}" "${c[3]}" \
            "$([[ $name == analytics* || $name == copy ]] && echo "   (per $analytics_batch events)")"
    done
    echo
    local store_ratio context_ratio create_ratio analytics_ratio store_p99
    store_ratio=$(div "$(h store 0)" "$pg")
    context_ratio=$(div "$(h context 0)" "$(h pgbench-context 0)")
    create_ratio=$(div "$(h create 0)" "$(h pgbench-create 0)")
    analytics_ratio=$(div "$analytics_rows" "$copy_rows")
    store_p99=$(h store 2)
    verdict() { awk -v v="$1" -v t="$2" -v op="$3" 'BEGIN { if (v !~ /^[0-9.]+$/) print "n/a"; else if ((op == ">=" && v >= t) || (op == "<=" && v <= t)) print "met"; else print "missed" }'; }
    echo "goals (issue 11), each against pgbench running the same SQL (COPY for analytics):"
    echo "  store ≥ 1.0: $store_ratio ($(verdict "$store_ratio" 1.0 '>=')); store p99 ≤ 10 ms: $store_p99 ms ($(verdict "$store_p99" 10 '<='));" \
        "context ≥ 0.5: $context_ratio ($(verdict "$context_ratio" 0.5 '>='));" \
        "create ≥ 0.6: $create_ratio ($(verdict "$create_ratio" 0.6 '>='));" \
        "analytics ≥ 1.0 of COPY: $analytics_ratio ($(verdict "$analytics_ratio" 1.0 '>='))"
    # Little's law: with N connections always busy, the mean latency is N / throughput.
    echo "  store p99 at $http_connections connections: the mean latency is $http_connections / $(num "$(h store 0)") req/s =" \
        "$(awk -v n="$http_connections" -v r="$(h store 0)" 'BEGIN { if (r > 0) printf "%.1f", 1000 * n / r; else print "n/a" }') ms (Little's law);" \
        "p99 ≤ 10 ms needs ≥ $(awk -v n="$http_connections" -v r="$(h store 0)" -v p="$store_p99" 'BEGIN { if (r > 0 && p > 0) printf "%.0f", r * p / 10; else print "n/a" }') req/s at this run's p99/mean"
    echo "  one connection, p50 ms (no worse than before issue 11): store $(h store-1 1), context $(h context-1 1), create $(h create-1 1), analytics $(h analytics-1 1)"
    echo "  server RSS through the store run ≤ 40 MB: ${rss_store:-n/a} MiB; idle ≤ 20 MB: ${rss_idle:-n/a} MiB"
}
