# shellcheck shell=bash disable=SC2154 # set by scripts/bench and http.bash
# token-cost.bash: scripts/bench --token-cost; sourced after http.bash.
#
# What counting tokens at write time costs (issue 12: at most 10 % of the store workload). The
# server runs with TOKEN_ENCODING=estimate (v1: nothing counted) and with o200k_base (every message
# counted in both encodings, token_count falling back to the o200k_base count), three rounds each,
# alternating, so that the machine's drift falls on both alike. Each round stores 300-byte messages
# without token_count at 64 connections, then 256 KiB messages (this README's text, the API's
# largest content) at 4. Then, once, the context route budgeted by v1's token_count against the
# same budget in o200k_base, after `research-store tokens backfill` has counted its messages.

token_cost_rounds=3
token_cost_big_connections=4
# 300 bytes of English, JSON-safe.
token_cost_content="$store_content Lithium-ion cells fade through calendar ageing, cycling at a high state of charge and heat."
token_cost_content=${token_cost_content:0:300}

http_token_cost() {
    log "migrating the bench cluster"
    DATABASE_URL=$url scripts/migrate >&2
    http_build_server
    http_prepare_data
    # The largest content the API takes: the first 256 KiB of README.md, whole characters, JSON-escaped.
    python3 -c '
import json, sys
text = open(sys.argv[1], encoding="utf-8").read().encode()[:262144].decode("utf-8", "ignore")
sys.stdout.write(json.dumps(text)[1:-1])' README.md >"$work/content-256k.json"
    local round mode
    for round in $(seq "$token_cost_rounds"); do
        for mode in estimate o200k_base; do
            http_token_encoding=$mode http_start_server "$server_binary" "research-store-$mode"
            http_wrk "store300-$mode-$round" "$http_connections" store.lua "$store_sessions" "$store_prefix" \
                "$token_cost_content" no-count
            http_wrk "store256k-$mode-$round" "$token_cost_big_connections" store.lua "$store_sessions" "$store_prefix" \
                "@$work/content-256k.json" no-count
            rss_token_cost[$mode-$round]=$(http_rss VmHWM)
            http_stop_server
        done
    done
    log "counting the context sessions' messages: research-store tokens backfill"
    DATABASE_URL=$url ENV_FILE=/dev/null "$server_binary" tokens backfill >"$work/backfill.out" 2>&1 ||
        fail "tokens backfill failed: $(cat "$work/backfill.out")"
    http_start_server "$server_binary" research-store
    http_wrk context-v1 "$http_connections" context.lua "$context_sessions" "$context_prefix" "$context_query"
    http_wrk context-o200k "$http_connections" context.lua "$context_sessions" "$context_prefix" \
        "$context_query&encoding=o200k_base"
    http_stop_server
    http_token_cost_report
}

declare -A rss_token_cost=()

# Median of the rounds' field FIELD (0 req/s, 2 p99 ms) of workload KIND (store300, store256k) in MODE.
http_token_cost_median() {
    local kind=$1 mode=$2 field=$3 round values=()
    for round in $(seq "$token_cost_rounds"); do
        local -a p
        read -r -a p <<<"${http[$kind-$mode-$round]}"
        values+=("${p[$field]}")
    done
    printf '%s\n' "${values[@]}" | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

http_token_cost_report() {
    local format='%-44s %10s %10s %10s %12s\n' kind mode round
    echo
    echo "Token counting at write time: research-store (release, DB_POOL_MAX=$http_pool) on 127.0.0.1, $(nproc) cores shared;"
    echo "wrk -d${duration}s after a 1s warm-up, $token_cost_rounds rounds alternating TOKEN_ENCODING=estimate (nothing counted)"
    echo "and o200k_base (both encodings counted); messages sent without token_count."
    echo
    # shellcheck disable=SC2059
    printf "$format" run "req/s" "p99 ms" "MB/s in" "server µs/req"
    for kind in store300 store256k; do
        local bytes=300 connections=$http_connections
        if [[ $kind == store256k ]]; then bytes=$(wc -c <"$work/content-256k.json") connections=$token_cost_big_connections; fi
        for round in $(seq "$token_cost_rounds"); do
            for mode in estimate o200k_base; do
                local -a p c
                read -r -a p <<<"${http[$kind-$mode-$round]}"
                read -r -a c <<<"${http_cpu[$kind-$mode-$round]:-n/a}"
                # shellcheck disable=SC2059
                printf "$format" "$kind $mode round $round (-c$connections)" "$(printf '%.0f' "${p[0]}")" "${p[2]}" \
                    "$(awk -v r="${p[0]}" -v b="$bytes" 'BEGIN { printf "%.1f", r * b / 1e6 }')" "${c[0]}"
            done
        done
    done
    echo
    for kind in store300 store256k; do
        local estimate counted
        estimate=$(http_token_cost_median "$kind" estimate 0)
        counted=$(http_token_cost_median "$kind" o200k_base 0)
        echo "$kind: median req/s estimate $estimate, o200k_base $counted: counting costs" \
            "$(awk -v e="$estimate" -v c="$counted" 'BEGIN { printf "%.1f %%", 100 * (1 - c / e) }')" \
            "of throughput (ratio $(awk -v e="$estimate" -v c="$counted" 'BEGIN { printf "%.3f", c / e }'));" \
            "median p99 $(http_token_cost_median "$kind" estimate 2) → $(http_token_cost_median "$kind" o200k_base 2) ms"
    done
    echo "peak RSS MiB per server run: $(for key in $(printf '%s\n' "${!rss_token_cost[@]}" | sort); do printf '%s %s  ' "$key" "${rss_token_cost[$key]}"; done)"
    local -a v1 o200k
    read -r -a v1 <<<"${http[context-v1]}"
    read -r -a o200k <<<"${http[context-o200k]}"
    echo "context (100 of 200 messages, max_tokens=4000): v1 $(printf '%.0f' "${v1[0]}") req/s, p99 ${v1[2]} ms;" \
        "encoding=o200k_base $(printf '%.0f' "${o200k[0]}") req/s, p99 ${o200k[2]} ms" \
        "(ratio $(awk -v a="${o200k[0]}" -v b="${v1[0]}" 'BEGIN { printf "%.2f", a / b }'))"
    echo "backfill: $(cat "$work/backfill.out")"
}
