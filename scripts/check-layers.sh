#!/usr/bin/env bash
# Layer check: data flows one way (see src/lib.rs). Fails, naming file:line, when
#   - a reader (src/ipvs, src/keepalived, src/logs), the detectors (src/incidents) or
#     src/model, src/health.rs reach up:
#     a path to crate::metrics, crate::http, crate::cli, crate::demo or crate::app (in a
#     `use` or anywhere in the code, also grouped `use crate::{…}` and `super::…::metrics`),
#     or the crates prometheus_client, clap, hyper, hyper_util;
#   - src/model reaches a reader: crate::ipvs, crate::keepalived, crate::logs.
# Comments are ignored (`//…`, `/* … */`); tests inside those files are held to the same rule.
#
#   bash scripts/check-layers.sh [ROOT]      check ROOT (default: the repository)
#   bash scripts/check-layers.sh --self-test inject bad lines into a copy; each must fail
#
# Needs bash and grep only.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

UP='metrics|http|cli|demo|app'
READERS='ipvs|keepalived|logs'
CRATES='prometheus_client|clap|hyper|hyper_util'

# Prints "file:line: message" for every forbidden path in one file; $2 = names forbidden
# after `crate::` (alternation), $3 = file name to print.
check_file() {
    local file=$1 names=$2 shown=$3
    local n=0 line code stmt='' stmt_line=0
    local re_crate="(^|[^A-Za-z0-9_:])crate::($names)([^A-Za-z0-9_]|$)"
    local re_super="(^|[^A-Za-z0-9_:])((super::)+)($names)([^A-Za-z0-9_]|$)"
    local re_ext="(^|[^A-Za-z0-9_:])(::)?($CRATES)::"
    local re_use_ext="(^|[^A-Za-z0-9_])(use|extern[[:space:]]+crate)[[:space:]]+(::)?($CRATES)([^A-Za-z0-9_]|$)"
    local re_maybe="crate|super|use|$CRATES"
    while IFS= read -r line || [ -n "$line" ]; do
        n=$((n + 1))
        # Fast path: most lines name nothing that could matter.
        [[ -z $stmt && ! $line =~ $re_maybe ]] && continue
        if [[ $line == *[/\"]* ]]; then
            code=$(strip_comments "$line")
        else
            code=$line
        fi
        if [[ $code =~ $re_crate ]]; then
            echo "$shown:$n: crate::${BASH_REMATCH[2]}: $line"
        elif [[ $code =~ $re_super ]]; then
            echo "$shown:$n: ${BASH_REMATCH[2]}${BASH_REMATCH[4]} (the crate's ${BASH_REMATCH[4]}): $line"
        elif [[ $code =~ $re_ext ]]; then
            echo "$shown:$n: crate ${BASH_REMATCH[3]}: $line"
        elif [[ $code =~ $re_use_ext ]]; then
            echo "$shown:$n: crate ${BASH_REMATCH[4]}: $line"
        fi
        # Grouped imports: `use crate::{ipvs, metrics::Foo};`, possibly over several lines.
        if [ -z "$stmt" ] && [[ $code =~ (^|[^A-Za-z0-9_])use[[:space:]] ]]; then
            stmt=$code
            stmt_line=$n
        elif [ -n "$stmt" ]; then
            stmt+=" $code"
        fi
        if [ -n "$stmt" ] && [[ $stmt == *";"* ]]; then
            grouped_use "$stmt" "$names" "$shown:$stmt_line"
            stmt=''
        fi
    done < <(block_comments_blanked <"$file")
    return 0
}

# Removes a `//` comment (not inside a string literal) and string literals themselves.
strip_comments() {
    local s=$1 out='' c in_str=0 i
    for ((i = 0; i < ${#s}; i++)); do
        c=${s:i:1}
        if ((in_str)); then
            if [ "$c" = '\' ]; then
                i=$((i + 1))
            elif [ "$c" = '"' ]; then
                in_str=0
                out+='""'
            fi
            continue
        fi
        if [ "$c" = '"' ]; then
            in_str=1
            continue
        fi
        if [ "$c" = '/' ] && [ "${s:i+1:1}" = '/' ]; then
            break
        fi
        out+=$c
    done
    printf '%s' "$out"
}

# Copies stdin to stdout with `/* … */` comments replaced by blanks (line numbers kept).
block_comments_blanked() {
    local line depth=0 out i c
    while IFS= read -r line || [ -n "$line" ]; do
        if ((depth == 0)) && [[ $line != *"/*"* ]]; then
            printf '%s\n' "$line"
            continue
        fi
        out=''
        for ((i = 0; i < ${#line}; i++)); do
            c=${line:i:2}
            if [ "$c" = '/*' ]; then
                depth=$((depth + 1))
                i=$((i + 1))
            elif ((depth > 0)) && [ "$c" = '*/' ]; then
                depth=$((depth - 1))
                i=$((i + 1))
            elif ((depth == 0)); then
                out+=${line:i:1}
            fi
        done
        printf '%s\n' "$out"
    done
}

# `use crate::{a, b::{c, d}, e};`: the top-level names a, b, e.
grouped_use() {
    local stmt=$1 names=$2 where=$3 inner item
    [[ $stmt =~ crate::[[:space:]]*\{(.*) ]] || return 0
    inner=${BASH_REMATCH[1]}
    while [[ $inner =~ ^(.*)\{[^{}]*\}(.*)$ ]]; do
        inner="${BASH_REMATCH[1]}${BASH_REMATCH[2]}"
    done
    inner=${inner%%;*}
    local IFS=','
    for item in $inner; do
        item=${item//[[:space:]]/}
        item=${item%%::*}
        if [[ $item =~ ^($names)$ ]]; then
            echo "$where: crate::$item (in a grouped use): $stmt"
        fi
    done
    return 0
}

# Checks the tree at $1; prints violations, returns 1 if there were any.
check_tree() {
    local root=$1 f rel found
    local -a files=()
    for d in src/ipvs src/keepalived src/logs src/model; do
        [ -d "$root/$d" ] || { echo "check-layers: $root/$d missing" >&2; return 2; }
    done
    shopt -s globstar nullglob
    for f in "$root"/src/{ipvs,keepalived,logs,model,incidents}/**/*.rs "$root/src/health.rs"; do
        [ -f "$f" ] && files+=("${f#"$root"/}")
    done
    found=$(
        for rel in "${files[@]}"; do
            check_file "$root/$rel" "$UP" "$rel"
            case $rel in src/model/*) check_file "$root/$rel" "$READERS" "$rel" ;; esac
        done
    )
    if [ -n "$found" ]; then
        printf '%s\n' "$found"
        echo "check-layers: FAILED: a reader or the model reaches up (or the model reaches a reader); see src/lib.rs" >&2
        return 1
    fi
    echo "check-layers: ok (${#files[@]} files)"
}

# Checks a tree holding only $3 from $1 with $4 appended (in the scratch dir $2).
inject() {
    local repo=$1 tmp=$2 file=$3 text=$4 rc=0
    rm -rf "$tmp/one"
    mkdir -p "$tmp"/one/src/{ipvs,keepalived,logs,model} "$tmp/one/$(dirname "$file")"
    cp "$repo/$file" "$tmp/one/$file"
    printf '\n%s\n' "$text" >>"$tmp/one/$file"
    check_tree "$tmp/one" 2>/dev/null || rc=$?
    return "$rc"
}

self_test() {
    local repo=$1 tmp rc bad
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' RETURN
    mkdir -p "$tmp/all/src"
    cp -r "$repo/src/ipvs" "$repo/src/keepalived" "$repo/src/logs" "$repo/src/model" "$repo/src/health.rs" "$tmp/all/src/"
    check_tree "$tmp/all" >/dev/null || { echo "self-test: the clean copy fails" >&2; return 1; }
    # Each of these must fail, alone, in the file given.
    local -a cases=(
        'src/logs/stats.rs|use crate::metrics::labels;'
        'src/ipvs/reader.rs|    let x = crate::http::serve(a, b);'
        'src/keepalived/state.rs|use crate::{keepalived::model::X, cli::Args};'
        'src/keepalived/state.rs|use crate::{
    keepalived::{model::X, dump},
    demo,
};'
        'src/logs/source/file.rs|use super::super::super::app::App;'
        'src/health.rs|use super::metrics::health;'
        'src/ipvs/netlink/client.rs|use prometheus_client::encoding::EncodeMetric;'
        'src/logs/bus.rs|#[derive(clap::Parser)]'
        'src/ipvs/mod.rs|use hyper;'
        'src/model/identity.rs|use crate::ipvs::model::Dest;'
        'src/model/mod.rs|fn f() -> crate::logs::event::Event { todo!() }'
        'src/model/identity.rs|use super::super::keepalived::model;'
    )
    # And these must pass: comments and strings are not code.
    local -a fine=(
        'src/logs/stats.rs|// use crate::metrics::labels;'
        'src/logs/stats.rs|/// see [`crate::metrics`]'
        'src/logs/stats.rs|/* crate::http::serve */'
        'src/logs/stats.rs|const S: &str = "crate::metrics";'
        'src/logs/stats.rs|use crate::{lines::Splitter, model::Protocol};'
        'src/ipvs/reader.rs|use crate::ipvs::model::Dest;'
    )
    local c file text failed=0
    for c in "${cases[@]}"; do
        file=${c%%|*}
        text=${c#*|}
        rc=0
        bad=$(inject "$repo" "$tmp" "$file" "$text") || rc=$?
        if [ "$rc" -ne 1 ] || ! grep -q "^$file:[0-9]*: " <<<"$bad"; then
            echo "self-test: not caught in $file: $text" >&2
            failed=1
        fi
    done
    for c in "${fine[@]}"; do
        file=${c%%|*}
        text=${c#*|}
        rc=0
        bad=$(inject "$repo" "$tmp" "$file" "$text") || rc=$?
        if [ "$rc" -ne 0 ]; then
            echo "self-test: wrongly refused in $file: $text" >&2
            printf '%s\n' "$bad" >&2
            failed=1
        fi
    done
    if ((failed)); then
        echo "check-layers: self-test FAILED" >&2
        return 1
    fi
    echo "check-layers: self-test ok (${#cases[@]} injected violations caught, ${#fine[@]} look-alikes passed)"
}

repo="$(cd "$here/.." && pwd)"
case "${1:-}" in
--self-test) self_test "$repo" ;;
-h | --help) sed -n '2,13p' "$0" ;;
'') check_tree "$repo" ;;
*) check_tree "$(cd "$1" && pwd)" ;;
esac
