"""bench/RESULTS.md, rebuilt from every bench/results-<label>.json: one table per run with
the product owner's targets ticked, and the latency growth of each page from the smallest
database to each bigger one of the same engine."""

import json
from pathlib import Path
from typing import Any

# The targets of the issue: PostgreSQL, 1M reports, 2 workers, 20 concurrent users.
P95_TARGET_MS = {
    "dashboard": 50.0,
    "board": 50.0,
    "report": 50.0,
    "indicator": 50.0,
    "search_common": 150.0,
    "search_rare": 150.0,
}
FLOOR_SHARE_TARGET = {"board": 0.40}
MAX_QUERIES = 8
MAX_RSS_MB = 250.0
SOAK_P99_MS = 1000.0
MAX_GROWTH = 1.5
BUSY_MACHINE = 0.15  # share of the CPU in use by others that makes a run suspect
YES, NO, NONE = "✔", "✘", "—"

TARGETS_TEXT = """\
Targets (2-core machine, PostgreSQL, 1M reports, 2 workers, 20 concurrent users):

- dashboard, board, report and indicator pages: p95 < 50 ms; search: p95 < 150 ms
- board throughput ≥ 40% of the floor (bench/floor.py)
- latency at 1M ≤ 1.5 × latency at 10k, every page (the growth tables below)
- 100 concurrent users for 60 s (`--soak`): zero errors, p99 < 1 s
- worker RSS < 250 MB
- SQL statements per page constant (same at 10k and 1M) and ≤ 8

A run on another engine, size or concurrency is ticked against the same numbers, as an
indication only."""

METHOD_TEXT = """\
How: `python -m bench.run` starts the hub with `uvicorn hub.asgi:app --workers N`
(HUB_ENV=production, HUB_COUNT_QUERIES=1) on a loopback port, signs the member in by
creating their server-side session in the database and signing the `hub_session` cookie,
and drives each page with wrk (warm-up, then the timed run) at the given concurrency.
*SQL* is the `X-Queries` header of one request (statements, transaction control not
counted); *RSS* the largest resident set of a worker process during the timed run;
*CPU ms/req* the CPU time the server's workers, PostgreSQL (all its processes) and wrk
spent during the timed run, per answered request (on 2 cores, 2,000 ms of CPU a second
are all there is: their sum bounds the throughput);
*errors* the answers of 400 and above and socket errors; *timeouts* what wrk counts as
slower than 30 s (such answers are left out of its percentiles, and wrk counts a pending
request again every 2 s, so this is a rough count: a page with more than 5% of them misses
its p95 target whatever the percentiles say). Before each warm-up and each timed run the
runner waits until the server is idle again, cancelling on PostgreSQL the statements the
hub still runs for requests wrk stopped waiting for, and then (up to 10 minutes) while
other work uses more than 15% of the CPU; a run that started on a busier machine is
flagged above its table. *× floor*
is the page's throughput over the floor's: a Starlette + Jinja2 app reading the board's
50 newest reports with one query (bench/floor.py), served by the same number of workers.
wrk runs on the same cores as the server (there is no other machine), so every number
includes the load generator's share of the CPU; it is the same share for hub and floor.

The sign-up POST (`--signup testbuy`, the default) is the test-buy sign-up form of the
campaign page, sent by the bench member (a brand admin) again and again with the values the
page fills in (purchases wanted, products, targets, picked reports): POST
/testbuys/{id}/signup with the X-CSRF-Token header, answered by a 303 to the campaign page.
It is what fits a repeated load: a brand may send its form any number of times while the
window is open, and after the first time it changes the sign-up in place (same place in the
queue, same slots), so it never runs out of slots and needs no coordination between the
load threads; yet each POST runs the whole write path: the campaign's row lock, the
sign-up and its targets rewritten, a sign-up event, an audit entry and a notification to
each of the brand's admins. Event registration (`--signup event`: POST
/events/{id}/register and /withdraw in turn, one person and event per load thread) is the
alternative; it needs events open for registration without approval, which the 10k data
set does not have. The SQL column of a sign-up row is that POST's count."""


def _mark(ok: bool) -> str:
    return YES if ok else NO


def _ms(value: float | None) -> str:
    return NONE if value is None else f"{value:.1f}"


def _run_title(run: dict[str, Any]) -> str:
    engine = run["versions"].get("postgresql")
    engine_text = (
        f"PostgreSQL {engine}" if engine else f"SQLite {run['versions'].get('sqlite', '')}"
    )
    return f"{run['label']}: {engine_text}, {run['database']['reports']:,} reports"


def _errors(load: dict[str, Any]) -> tuple[int, int]:
    """(answers of 400 and above and socket errors, timeouts)."""
    timeouts = load.get("timeouts", 0)
    return load["status_errors"] + load["socket_errors"] - timeouts, timeouts


def _p95_met(entry: dict[str, Any], target: float) -> bool:
    """wrk leaves answers slower than its timeout out of the percentiles: a page with more
    than 5% of them misses any p95 target whatever its percentiles say."""
    _, timeouts = _errors(entry)
    return bool(entry["p95_ms"] < target and timeouts <= 0.05 * (entry["requests"] + timeouts))


def _interference(entry: dict[str, Any]) -> float:
    """The larger share of the CPU other work used just before and during a timed run."""
    return float(max(entry.get("machine_busy", 0), entry.get("others_busy", 0)))


def _cpu(entry: dict[str, Any]) -> str:
    """CPU milliseconds per request: the server's workers / PostgreSQL / wrk."""
    cpu = entry.get("cpu_ms")
    if not cpu:
        return NONE
    return f"{cpu['server']:.1f} / {cpu['postgres']:.1f} / {cpu['wrk']:.1f}"


def _row(entry: dict[str, Any], users: int) -> str:
    if "rps" not in entry:
        return (
            f"| {entry['title']} | answered {entry['status']}, not measured | | | | | | "
            f"{entry.get('queries', NONE)} | | | | | | |"
        )
    target = P95_TARGET_MS.get(entry["key"])
    p95_check = NONE if target is None else f"< {target:.0f} {_mark(_p95_met(entry, target))}"
    ratio = entry.get("floor_ratio")
    ratio_text = NONE if ratio is None else f"{ratio:.2f}"
    share = FLOOR_SHARE_TARGET.get(entry["key"])
    if ratio is not None and share is not None:
        ratio_text += f" (≥ {share:.2f} {_mark(ratio >= share)})"
    queries = entry["queries"]
    detail = entry.get("queries_detail")
    queries_text = (
        str(queries)
        if not detail
        else " / ".join(f"{count} ({action})" for action, count in detail.items())
    )
    errors, timeouts = _errors(entry)
    title = entry["title"]
    if entry["connections"] != users:
        title += f" ({entry['connections']} users)"
    return (
        f"| {title} | {entry['rps']:.1f} | {_ms(entry['p50_ms'])} | "
        f"{_ms(entry['p95_ms'])} | {_ms(entry['p99_ms'])} | {errors} | {timeouts} | "
        f"{queries_text} | "
        f"{entry['rss_mb']:.0f} | {_cpu(entry)} | {ratio_text} | {p95_check} | "
        f"{_mark(0 <= queries <= MAX_QUERIES)} | {_mark(entry['rss_mb'] < MAX_RSS_MB)} |"
    )


def _run_section(run: dict[str, Any]) -> list[str]:
    settings, sizes = run["settings"], run["database"]
    lines = [
        f"## {_run_title(run)}",
        "",
        f"Measured {run['measured_at']}: {settings['workers']} workers, {settings['users']} "
        f"user{'s' if settings['users'] != 1 else ''}, {settings['duration_s']} s per page "
        f"after a {settings['warmup_s']} s warm-up, "
        f"signed in as {run['member']}. Workers at rest: {run['idle_rss_mb']:.0f} MB. "
        f"Code: {run.get('source', 'unknown')}. CPU in use just before the run: "
        f"{run['machine'].get('cpu_busy_before', 0):.0%}."
        + (
            f" Schema upgraded before the run, {run['schema_upgraded']}."
            if run.get("schema_upgraded")
            else ""
        ),
        "",
        "Database: "
        + ", ".join(
            f"{sizes[key]:,} {key}"
            for key in ("reports", "comments", "indicators", "events", "campaigns", "people")
            if key in sizes
        )
        + f"; {sizes.get('bytes', 0) / 1024 / 1024:,.0f} MB.",
        "",
        "| Page | req/s | p50 ms | p95 ms | p99 ms | errors | timeouts | SQL | RSS MB "
        "| CPU ms/req hub / db / wrk | × floor "
        f"| p95 target | SQL ≤ {MAX_QUERIES} | RSS < {MAX_RSS_MB:.0f} MB |",
        "|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|---|",
        *(_row(entry, settings["users"]) for entry in run["pages"]),
    ]
    floor, soak = run.get("floor"), run.get("soak")
    busy = [
        f"{entry.get('title', 'Soak')} {_interference(entry):.0%}"
        for entry in [*run["pages"], *([floor] if floor else []), *([soak] if soak else [])]
        if _interference(entry) > BUSY_MACHINE
    ]
    if busy:
        lines[2:2] = [
            "**Caution:** other work on the machine used this share of its CPU before or "
            "during the timed runs of: " + ", ".join(busy) + ". These numbers are low.",
            "",
        ]
    if floor:
        lines.append(
            f"| *Floor* | {floor['rps']:.1f} | {_ms(floor['p50_ms'])} | {_ms(floor['p95_ms'])} "
            f"| {_ms(floor['p99_ms'])} | {_errors(floor)[0]} | {_errors(floor)[1]} | 1 "
            f"| {floor['rss_mb']:.0f} | {_cpu(floor)} | 1.00 | | | |"
        )
    lines += ["", "Pages:", ""]
    for entry in run["pages"]:
        lines.append(f"- {entry['title']}: `{entry['method']} {entry['path']}`: {entry['note']}")
    if soak:
        pages, signups = soak["pages"], soak["signups"]
        lines += [
            "",
            f"Soak: {soak['users']} users for {soak['seconds']} s, {pages['connections']} on "
            f"a mix of the {len(soak['paths'])} pages, {signups['connections']} sending the "
            "sign-up POST.",
            "",
            "| | requests | req/s | p50 ms | p99 ms | max ms | errors | timeouts |",
            "|---|--:|--:|--:|--:|--:|--:|--:|",
        ]
        for name, load in (("pages", pages), ("sign-ups", signups)):
            lines.append(
                f"| {name} | {load['requests']:,} | {load['rps']:.1f} | {_ms(load['p50_ms'])} | "
                f"{_ms(load['p99_ms'])} | {_ms(load['max_ms'])} | "
                f"{_errors(load)[0]} | {_errors(load)[1]} |"
            )
        lines += [
            "",
            f"Zero errors (timeouts included): {soak['errors']} {_mark(soak['errors'] == 0)}; "
            f"p99 < 1 s: {soak['p99_ms']:.0f} ms {_mark(soak['p99_ms'] < SOAK_P99_MS)}; "
            f"worker RSS {soak['rss_mb']:.0f} MB {_mark(soak['rss_mb'] < MAX_RSS_MB)}.",
        ]
    lines.append("")
    return lines


def _growth_section(small: dict[str, Any], big: dict[str, Any]) -> list[str]:
    before = {entry["key"]: entry for entry in small["pages"] if "rps" in entry}
    lines = [
        f"## Growth: {big['label']} against {small['label']} ({big['backend']})",
        "",
        f"Latency with {big['database']['reports']:,} reports over latency with "
        f"{small['database']['reports']:,}; target ≤ {MAX_GROWTH}×, and the same SQL count.",
        "",
        f"| Page | p50 {small['label']} | p50 {big['label']} | × | p95 {small['label']} "
        f"| p95 {big['label']} | × ≤ {MAX_GROWTH} | SQL | SQL constant |",
        "|---|--:|--:|--:|--:|--:|---|---|---|",
    ]
    for entry in big["pages"]:
        old = before.get(entry["key"])
        if old is None or "rps" not in entry:
            continue
        p50 = entry["p50_ms"] / old["p50_ms"] if old["p50_ms"] else 0.0
        p95 = entry["p95_ms"] / old["p95_ms"] if old["p95_ms"] else 0.0
        same = old["queries"] == entry["queries"]
        lines.append(
            f"| {entry['title']} | {_ms(old['p50_ms'])} | {_ms(entry['p50_ms'])} | {p50:.2f} "
            f"| {_ms(old['p95_ms'])} | {_ms(entry['p95_ms'])} | {p95:.2f} "
            f"{_mark(p95 <= MAX_GROWTH)} | {old['queries']} → {entry['queries']} | "
            f"{_mark(same)} |"
        )
    lines.append("")
    return lines


def _kind(run: dict[str, Any]) -> tuple[str, int, int]:
    return run["backend"], run["settings"]["workers"], run["settings"]["users"]


def load_runs(directory: Path) -> list[dict[str, Any]]:
    runs = [json.loads(path.read_text()) for path in sorted(directory.glob("results-*.json"))]
    return sorted(
        runs, key=lambda run: (run["backend"] != "postgresql", run["database"]["reports"])
    )


def markdown(runs: list[dict[str, Any]]) -> str:
    lines = ["# Benchmark results", "", TARGETS_TEXT, ""]
    if runs:
        latest = max(runs, key=lambda run: run["measured_at"])
        box, soft = latest["machine"], latest["versions"]
        lines += [
            f"Machine: {box.get('cores')} cores ({box.get('cpu', 'unknown CPU')}), "
            f"{box.get('memory_gb', '?')} GB of memory, {box.get('system', '')}.",
            "",
            "Versions: " + ", ".join(f"{name} {value}" for name, value in soft.items()) + ".",
            "",
        ]
    for run in runs:
        lines += _run_section(run)
    # Growth: from the smallest database to each bigger one, same engine and load only.
    kinds = sorted({_kind(run) for run in runs})
    for kind in kinds:
        same = [run for run in runs if _kind(run) == kind]
        for big in same[1:]:
            if big["database"]["reports"] > same[0]["database"]["reports"]:
                lines += _growth_section(same[0], big)
    lines += ["## Method", "", METHOD_TEXT, ""]
    return "\n".join(lines)


def write_markdown(directory: Path) -> Path:
    path = directory / "RESULTS.md"
    path.write_text(markdown(load_runs(directory)))
    return path


def summary(run: dict[str, Any]) -> str:
    """The run on the terminal: throughput, p95 and the share of the floor per page."""
    floor = run.get("floor")
    lines = [f"{_run_title(run)}; floor: {floor['rps']:.1f} req/s" if floor else _run_title(run)]
    for entry in run["pages"]:
        if "rps" not in entry:
            lines.append(f"  {entry['title']:<22} answered {entry['status']}")
            continue
        ratio = entry.get("floor_ratio")
        share = f"{ratio:6.1%} of the floor" if ratio is not None else ""
        lines.append(
            f"  {entry['title']:<22} {entry['rps']:8.1f} req/s  p95 {entry['p95_ms']:7.1f} ms  "
            f"{entry['queries']:>3} SQL  {share}"
        )
    soak = run.get("soak")
    if soak:
        lines.append(f"  Soak: {soak['errors']} errors, p99 {soak['p99_ms']:.0f} ms")
    return "\n".join(lines)
