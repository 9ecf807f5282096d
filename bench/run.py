"""``make bench``: measure the hot paths side by side with their limits, with the whole suite
running, and write bench/results/<date>-<commit>.{json,md} (+ PNG) and docs/benchmarks.md.

    python -m bench.run [--quick] [--only ingest,matching,fanout]

Run it through ``make bench`` (which brings the stack up and migrates, as ``make run`` does).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench import ingest, report
from bench.suite import ROOT, Suite

EXPOSURE_BENCH = ROOT / "services" / "checkin" / "bench" / "exposure_bench.py"
FANOUT_BENCH = ROOT / "services" / "notifier" / "bench" / "fanout_bench.py"
FEED_BENCH = ROOT / "services" / "health-records" / "bench" / "feed_bench.py"
IMPORT_BENCH = ROOT / "services" / "health-records" / "bench" / "import_bench.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def run_script(script: Path, args: list[str], env: dict[str, str] | None = None) -> dict[str, Any]:
    """Run a scenario script that prints its results as the last JSON object on stdout."""
    if not script.exists():
        return {"skipped": f"{script.relative_to(ROOT)} does not exist"}
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, str(script), *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        return {"failed": proc.stderr[-3000:], "seconds": round(time.monotonic() - started)}
    text = proc.stdout
    start = text.find("\n{") + 1 if not text.startswith("{") else 0
    try:
        result, end = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError:
        return {"failed": "no JSON result in the output", "output": text[-3000:]}
    trailer = text[start + end :].strip()
    if trailer:  # e.g. the query plans printed after the figures
        result["notes"] = trailer[:8000]
    result["seconds"] = round(time.monotonic() - started)
    return result


def fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{value:,.1f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def _failed(title: str, result: dict[str, Any]) -> list[str]:
    why = result.get("skipped") or result.get("failed") or "no result"
    return [f"### {title}", "", "Not measured in this run:", "", "```", str(why)[-2000:], "```", ""]


def matching_summary(m: dict[str, Any] | None) -> list[str]:
    if m is None:
        return []
    if "a_40_visit_case" not in m:
        return _failed("Exposure matching", m)
    seed, small, mall = m.get("seed") or {}, m["a_40_visit_case"], m["b_mall_case"]
    return [
        f"### Exposure matching at {fmt(m.get('visits'))} stored visits",
        "",
        "From the case event entering Kafka to the last exposure event read back from Kafka, "
        "through the real matcher and outbox relay; every event decoded against the catalogue "
        f"({fmt(m.get('events_validated_with_decode_event'))} checked).",
        "",
        "| | target | measured |",
        "|---|---|---|",
        f"| 40-visit case, p50 / p99 ({small['runs']} runs, "
        f"~{fmt(small['exposures_per_case_mean'])} contacts each) | p99 < 500 ms | "
        f"{fmt(small['p50_ms'], ' ms')} / {fmt(small['p99_ms'], ' ms')} |",
        f"| — the bare SQL overlap query for the same case, p50 / p99 (the limit) | — | "
        f"{fmt(small['bare_sql_p50_ms'], ' ms')} / {fmt(small['bare_sql_p99_ms'], ' ms')} |",
        f"| mall case ({fmt(mall['exposures_per_case_mean'])} contacts): exposure events/s, "
        f"p50 (min) | ≥ 20,000/s | {fmt(mall['exposure_events_per_second_p50'])} "
        f"({fmt(mall['exposure_events_per_second_min'])}) |",
        f"| — mall case end to end p50 / p99; first event after | — | "
        f"{fmt(mall['p50_ms'], ' ms')} / {fmt(mall['p99_ms'], ' ms')}; "
        f"{fmt(mall['to_first_exposure_p50_ms'], ' ms')} |",
        f"| — the bare SQL overlap query for the mall case, p50 (the limit) | — | "
        f"{fmt(mall['bare_sql_p50_ms'], ' ms')} |",
        f"| seeding with COPY (rows/s): COPY alone / with the index build / with Python "
        f"generating the rows | ≥ 150,000/s | {fmt(seed.get('rows_per_second_copy'))} / "
        f"{fmt(seed.get('rows_per_second_copy_and_indexes'))} / "
        f"{fmt(seed.get('rows_per_second_with_generation'))} |",
        "",
    ]


def fanout_summary(f: dict[str, Any] | None) -> list[str]:
    if f is None:
        return []
    if "runs" not in f:
        return _failed("Notification fan-out", f)
    lines = [
        f"### Notification fan-out: a {fmt(f['contacts'])}-contact case, one and two workers",
        "",
        "| workers | fan-out: notifications rendered, stored, queued (target ≥ 5,000/s per "
        "worker) | worker CPU per notification | PostgreSQL CPU per notification | "
        "delivery calls/s (SMS + push) | plain "
        "client calls/s, same gateway | delivery / plain (target ≥ 0.9) | CPU per call: "
        "worker / plain | load 1m |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in f["runs"]:
        lines.append(
            f"| {r['workers']} | {fmt(r['fanout_notifications_per_s'])}/s | "
            f"{r['fanout_cpu_ms_per_notification']} ms | "
            f"{r.get('fanout_postgres_cpu_ms_per_notification', '—')} ms | "
            f"{fmt(r['delivery_calls_per_s'])}/s | "
            f"{fmt(r['plain_client_calls_per_s'])}/s | {r['delivery_vs_plain']} | "
            f"{r['delivery_cpu_ms_per_call']} ms / {r['plain_cpu_ms_per_call']} ms | "
            f"{r['load_average_1m']} |"
        )
    return [*lines, ""]


def import_summary(f: dict[str, Any] | None) -> list[str]:
    if f is None:
        return []
    if "end_to_end_lines_per_second" not in f:
        return _failed("Bulk NDJSON import", f)
    return [
        f"### Bulk NDJSON import: {fmt(f['records'])} records ({f['file_megabytes']} MB)",
        "",
        "`lindung feeds import` against the health-records API and one worker (processes); "
        f"load average: {', '.join(f'{x:.1f}' for x in f['uptime'])}.",
        "",
        "| | measured |",
        "|---|---|",
        f"| upload, lines/s | {fmt(f['upload_lines_per_second'])}/s |",
        f"| end to end (upload, apply, statuses), lines/s | "
        f"{fmt(f['end_to_end_lines_per_second'])}/s ({f['end_to_end_seconds']} s) |",
        f"| CPU per line: worker / PostgreSQL | {fmt(f['worker_cpu_us_per_line'])} µs / "
        f"{fmt(f['postgres_cpu_us_per_line'])} µs |",
        f"| feed record -> status changed while it runs, p50 / p99 | "
        f"{f['record_to_status_p50_seconds']} s / {f['record_to_status_p99_seconds']} s "
        f"({fmt(f['probe_records'])} records) |",
        "",
    ]


def feeds_summary(f: dict[str, Any] | None) -> list[str]:
    if f is None:
        return []
    if "records_per_second" not in f:
        return _failed("National feed ingest", f)
    limit = f["copy_limit"]
    return [
        f"### National feed ingest through Kafka: {fmt(f['records'])} FHIR records, "
        f"{f.get('worker_processes', 1)} worker process(es)",
        "",
        f"Bundles of {f['records_per_message']} records per message, {f['messages_per_batch']} "
        "messages per consumer batch; every affected person's status recomputed and the events "
        f"written to the outbox in the same transaction. Load average during the run: "
        f"{', '.join(f'{x:.1f}' for x in f['uptime'])}.",
        "",
        "| | target | measured |",
        "|---|---|---|",
        f"| FHIR records/s, statuses recomputed, events written | ≥ 5,000/s (reach 20,000) | "
        f"{fmt(f['records_per_second'])}/s |",
        f"| — CPU per record: the worker / PostgreSQL (what load barely moves) | — | "
        f"{fmt(f.get('worker_cpu_us_per_record'))} µs / "
        f"{fmt(f.get('postgres_cpu_us_per_record'))} µs |",
        f"| — validation alone (lean models), records/s | — | "
        f"{fmt(f.get('validation_records_per_second'))}/s |",
        f"| — validation by fhir.resources in full, records per CPU second | — | "
        f"{fmt(f.get('full_fhir_resources_validation_records_per_cpu_second'))}/s |",
        f"| — COPY of the same rows into a copy of the table (the limit) | — | "
        f"{fmt(limit['copy_rows_per_second'])}/s |",
        f"| statuses / history rows / cases / outbox events | — | {fmt(f['statuses'])} / "
        f"{fmt(f['status_history'])} / {fmt(f['cases'])} / {fmt(f['outbox_events'])} |",
        "",
    ]


def summary(results: dict[str, Any]) -> str:
    m = results["machine"]
    lines = [
        f"## Latest run: {results['date']} at commit `{results['commit']}`",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB; Python {m['python']}. "
        f"Command: `{results['command']}` (whole suite running: 4 APIs, 4 workers, PostgreSQL, "
        "Kafka).",
        "",
    ]
    ing = results.get("ingest")
    if ing and "checkin" in ing:
        at = ing.get("at_1000_per_s") or {}
        lines += [
            "### Check-in ingest (open loop, latency from the intended send time)",
            "",
            "| | target | measured |",
            "|---|---|---|",
            f"| highest rate with p99 < 100 ms and no errors | ≥ 2,000/s (reach 4,000) | "
            f"{fmt(ing.get('best_rate_p99_under_100ms'), '/s')} |",
            f"| bare FastAPI endpoint, same criterion (the limit) | — | "
            f"{fmt(ing.get('bare_best_rate_p99_under_100ms'), '/s')} |",
            f"| ratio to the bare endpoint | ≥ 50 % | {fmt(ing.get('ratio_to_bare'))} |",
            f"| p50 / p95 / p99 at 1,000/s | p99 < 100 ms | {fmt(at.get('p50_ms'), ' ms')} / "
            f"{fmt(at.get('p95_ms'), ' ms')} / {fmt(at.get('p99_ms'), ' ms')} |",
            f"| freshness: 200 → visible to the matcher, p50 / p99 | — | "
            f"{fmt(ing['freshness'].get('p50_ms'), ' ms')} / "
            f"{fmt(ing['freshness'].get('p99_ms'), ' ms')} |",
            f"| consumer lag after the run (messages) | — | {ing.get('consumer_lag')} |",
            "",
            f"Check-in API processes: {ing.get('workers')}. CPU per answered request: the "
            "check-in API's process tree and the whole PostgreSQL server, from /proc; load: "
            "the machine's 1-minute load average after the step (other work shares it).",
            "",
            "| offered/s | check-in p50 | p99 | errors | API CPU/scan | PostgreSQL CPU/scan "
            "| load | bare p50 | bare p99 |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        bare = {s["target_rate"]: s for s in ing.get("bare", [])}
        for s in ing["checkin"]:
            b = bare.get(s["target_rate"], {})
            lines.append(
                f"| {fmt(int(s['target_rate']))} | {fmt(s['p50_ms'], ' ms')} | "
                f"{fmt(s['p99_ms'], ' ms')} | {s['errors']} | "
                f"{fmt(s.get('api_cpu_ms_per_request'), ' ms')} | "
                f"{fmt(s.get('postgres_cpu_ms_per_request'), ' ms')} | "
                f"{fmt(s.get('load_average_1m'))} | "
                f"{fmt(b.get('p50_ms'), ' ms')} | {fmt(b.get('p99_ms'), ' ms')} |"
            )
        lines.append("")
    if results.get("peak_rss_mb"):
        lines += [
            "### Peak RSS per process (target: every API process < 150 MB)",
            "",
            "| process | peak RSS |",
            "|---|---|",
        ]
        lines += [f"| {name} | {fmt(mb, ' MB')} |" for name, mb in results["peak_rss_mb"].items()]
        lines.append("")
    lines += matching_summary(results.get("matching"))
    lines += fanout_summary(results.get("fanout"))
    lines += feeds_summary(results.get("feeds"))
    lines += import_summary(results.get("import"))
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(prog="bench")
    parser.add_argument("--quick", action="store_true", help="short steps, fewer rates")
    parser.add_argument("--only", default="ingest,matching,fanout,feeds,import")
    parser.add_argument(
        "--import-records", type=int, default=100_000, help="lines of the bulk import scenario"
    )
    parser.add_argument(
        "--feed-records", type=int, default=20_000, help="records for the feed scenario"
    )
    parser.add_argument(
        "--visits", type=int, default=1_000_000, help="stored visits for the matching scenario"
    )
    parser.add_argument(
        "--feed-workers",
        type=int,
        default=1,
        help="worker processes sharing the feed topic's partitions (scenario 4)",
    )
    args = parser.parse_args()
    only = set(args.only.split(","))
    results: dict[str, Any] = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d"),
        "commit": report.commit(),
        "machine": report.machine(),
        "command": "make bench"
        + (f" BENCH_ARGS='{' '.join(sys.argv[1:])}'" if len(sys.argv) > 1 else ""),
    }
    suite = Suite(log_dir=ROOT / "bench" / "results" / "logs")
    try:
        if "ingest" in only:
            print("starting the suite...", flush=True)
            suite.start_services()
            suite.wait_ready()
            rates = [500, 1000, 2000] if args.quick else [250, 500, 1000, 1500, 2000, 3000, 4000]
            seconds = 5 if args.quick else 10
            print("scenario 1: check-in ingest", flush=True)
            results["ingest"] = ingest.run(
                suite,
                venues=200 if args.quick else 1000,
                people=2000 if args.quick else 20000,
                rates=rates,
                seconds=seconds,
            )
            results["peak_rss_mb"] = suite.peak_rss()
        if "matching" in only:
            print("scenario 2: exposure matching", flush=True)
            results["matching"] = run_script(
                EXPOSURE_BENCH, ["--rows", str(args.visits), "--reseed"]
            )
        if "fanout" in only:
            print("scenario 3: notification fan-out", flush=True)
            results["fanout"] = run_script(FANOUT_BENCH, [])
        if "feeds" in only:
            print("scenario 4: national feed ingest", flush=True)
            results["feeds"] = run_script(
                FEED_BENCH,
                ["--records", str(args.feed_records), "--workers", str(args.feed_workers)],
            )
        if "import" in only:
            print("scenario 5: bulk NDJSON import", flush=True)
            # Its own API and worker beside the suite's health-records (on the service's ports
            # its API could not bind, and the upload went to the suite's API and database).
            ports = {
                name: os.environ.get(name) or str(_free_port())
                for name in ("LINDUNG_IMPORT_BENCH_HTTP_PORT", "LINDUNG_IMPORT_BENCH_METRICS_PORT")
            }
            results["import"] = run_script(
                IMPORT_BENCH, ["--records", str(args.import_records)], env=ports
            )
    finally:
        suite.stop()
    path = report.write(results, summary(results))
    print(summary(results))
    print(f"results: {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
