"""Schemathesis hooks for scripts/fuzz: values at the edges that the schema alone rarely yields.

Loaded with SCHEMATHESIS_HOOKS=fuzz_hooks (scripts/ on PYTHONPATH). After schemathesis draws a
query or a JSON body from the OpenAPI document, these hooks may swap some of its values for:

- ``cursor`` (query): random base64url text, forged cursors in the server's own format
  (``base64url("v1|sessions|9000000000000000000|<uuid>")``: the list's own kind with Int64
  positions at the extremes or anywhere, and other kinds), cursors with bytes appended, and
  broken padding;
- integers (``limit``, ``max_tokens``, ``max_messages``, ``ttl_seconds``, ``*_tokens``,
  ``duration_ms``, ``cost_usd``, ``rating``, …): Int64 min/max, 2^31, 2^63, -1, 0, huge and tiny
  floats, and the same as strings;
- dates (``from``, ``to``, ``*_at``): years 0001 and 9999, the edges of PostgreSQL's range,
  out-of-range and malformed strings.

Each request gets at most one edge value, so the rest of it stays valid and the odd value gets
past validation to the code behind it. The rule of scripts/fuzz stays: any 5xx fails the run. Set FUZZ_HOOKS_LOG to a file path to log
every replaced value (for checking that the hooks are in effect).
"""

import base64
import os
import uuid
from copy import deepcopy

import schemathesis
from hypothesis import strategies as st

INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

INTEGER_NAMES = {
    "limit", "max_tokens", "max_messages", "ttl_seconds", "prompt_tokens", "completion_tokens",
    "total_tokens", "token_count", "tokens", "duration_ms", "cost_usd", "rating", "seq", "offset",
}
DATE_NAMES = {"from", "to", "occurred_at", "started_at", "finished_at", "created_at", "updated_at", "since", "until"}
# The server's cursor kinds by list path (a cursor names its list; see Sources/ResearchStore/Cursor.swift).
CURSOR_KINDS_BY_PATH = {
    "/db/sessions": ["sessions"],
    "/db/sessions/{id}/messages": ["messages-asc", "messages-desc"],
    "/db/research": ["research"],
    "/db/admin/audit": ["audit"],
    "/db/domain-sets": ["domain-sets"],
}
CURSOR_KINDS = sorted({kind for kinds in CURSOR_KINDS_BY_PATH.values() for kind in kinds}) + ["messages", "analytics"]


def _b64(text):
    raw = text if isinstance(text, bytes) else text.encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


_extreme_numbers = st.sampled_from(
    [INT64_MIN, INT64_MAX, INT64_MIN - 1, INT64_MAX + 1, 2**31, 2**31 - 1, -(2**31) - 1, 2**32, 2**53 + 1,
     2**64, -1, 0, 1e308, -1e308, 5e-324, 1.5, -0.0, 1e19]
)
extreme_integers = st.one_of(_extreme_numbers, _extreme_numbers.map(str), st.integers(min_value=INT64_MIN, max_value=INT64_MAX))

extreme_dates = st.sampled_from(
    [
        "0001-01-01T00:00:00Z", "9999-12-31T23:59:59.999Z", "0000-01-01T00:00:00Z", "10000-01-01T00:00:00Z",
        "-4713-11-24T00:00:00Z", "294276-12-31T23:59:59Z", "1969-12-31T23:59:59.999999999Z",
        "2026-02-30T00:00:00Z", "2026-13-01T00:00:00Z", "2026-01-01T24:00:00Z", "2026-01-01T00:00:60Z",
        "2026-01-01T00:00:00+99:99", "2026-01-01", "infinity", "-infinity", "epoch", "now", "", "0",
        "9223372036854775807", "2026-01-01T00:00:00.0000000000000000001Z",
    ]
)

_positions = st.sampled_from([str(INT64_MAX), str(INT64_MIN), "9000000000000000000", "-1", "0", "1e30",
                              "99999999999999999999", "", "NaN"])
_ids = st.one_of(st.uuids().map(str), st.sampled_from(["", "not-a-uuid", str(uuid.UUID(int=0)), "z" * 40]))
def _forged(kinds):
    """Cursors in the server's format, for `kinds`, with extreme positions and odd tails."""
    return st.builds(
        lambda kind, position, ident, extra: _b64(f"v1|{kind}|{position}|{ident}" + extra),
        st.sampled_from(kinds),
        _positions,
        _ids,
        st.sampled_from(["", "", "|", "|x", "|1|2", "\x00", "\u00ed\u00b3\u00bf"]),
    )


forged_cursors = _forged(CURSOR_KINDS + ["", "v2", "sessions|sessions"])


def _well_formed_for(kinds):
    """A cursor this list would accept in form: its own kind, an Int64 position (at the extremes
    or anywhere), a UUID or none."""
    return st.builds(
        lambda kind, position, ident: _b64(f"v1|{kind}|{position}|{ident}"),
        st.sampled_from(kinds),
        st.one_of(st.sampled_from([INT64_MAX, INT64_MIN, 9000000000000000000, -1, 0, 2**53]),
                  st.integers(min_value=INT64_MIN, max_value=INT64_MAX)),
        st.one_of(st.uuids().map(str), st.just("")),
    )


cursors = st.one_of(
    forged_cursors,
    st.binary(max_size=96).map(_b64),  # random base64url bytes
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=", max_size=120),
    st.tuples(forged_cursors, st.binary(min_size=1, max_size=16)).map(lambda t: t[0] + _b64(t[1])),  # appended bytes
    st.tuples(forged_cursors, st.sampled_from(["=", "==", "===", ".", "%00", "+/"])).map("".join),
)


def _log(name, value):
    path = os.environ.get("FUZZ_HOOKS_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as log:
            log.write(f"{name}={value!r}\n")


def _edge_for(name, path=None):
    if name == "cursor":
        kinds = CURSOR_KINDS_BY_PATH.get(path)
        return st.one_of(_well_formed_for(kinds), _well_formed_for(kinds), _forged(kinds), cursors) if kinds else cursors
    if name in INTEGER_NAMES or name.endswith("_tokens") or name.endswith("_ms"):
        return extreme_integers
    if name in DATE_NAMES or name.endswith("_at"):
        return extreme_dates
    return None


def _edge_paths(obj, prefix=()):
    """Where `obj` holds a field with edge values: (key path, field name), at any depth."""
    if isinstance(obj, dict):
        for key, value in obj.items():
            if _edge_for(key) is not None:
                yield prefix + (key,), key
            else:
                yield from _edge_paths(value, prefix + (key,))
    elif isinstance(obj, list):
        for index, item in enumerate(obj):
            yield from _edge_paths(item, prefix + (index,))


def _replaced(obj, keys, name, value):
    _log(name, value)
    copy = deepcopy(obj)
    target = copy
    for key in keys[:-1]:
        target = target[key]
    target[keys[-1]] = value
    return copy


def _one_edge(obj, path=None, extra_names=()):
    """`obj` as drawn, or with exactly one field set to an edge value: one odd value per request,
    so that the rest of the request stays valid and the odd value reaches the code behind it.
    `extra_names` are top-level fields the draw left out that may be added."""
    options = [st.just(obj)]
    for keys, name in _edge_paths(obj):
        options.append(_edge_for(name, path).map(lambda value, keys=keys, name=name: _replaced(obj, keys, name, value)))
    for name in extra_names:
        options.append(_edge_for(name, path).map(lambda value, name=name: _replaced(obj, (name,), name, value)))
    return st.one_of(*options)


def _path(ctx):
    return getattr(getattr(ctx, "operation", None), "path", None)


def _declared_query_names(ctx):
    try:
        return [parameter.name for parameter in ctx.operation.query]
    except Exception:  # the operation's shape differs across schemathesis versions: keep what was drawn
        return []


@schemathesis.hook
def flatmap_query(ctx, query):
    query = dict(query or {})
    # Parameters the operation declares but the draw left out may come in with an edge value.
    absent = [name for name in _declared_query_names(ctx) if name not in query and _edge_for(name) is not None]
    return _one_edge(query, _path(ctx), absent).map(lambda value: value or None)


@schemathesis.hook
def flatmap_body(ctx, body):
    return _one_edge(body, _path(ctx))
