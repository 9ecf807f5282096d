"""Write a benchmark run's results: JSON, a Markdown summary, PNG plots, docs/benchmarks.md."""

from __future__ import annotations

import json
import platform
import subprocess
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"
GENERATED_START = "<!-- bench:generated:start -->"
GENERATED_END = "<!-- bench:generated:end -->"


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gb = None
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gb = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    import os

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "memory_gb": mem_gb,
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def commit() -> str:
    try:
        return subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def plot_ingest(ingest: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    fig, ax = plt.subplots(figsize=(8, 4.5))
    for label, key in (("Lindung check-in", "checkin"), ("bare FastAPI endpoint", "bare")):
        steps = [s for s in ingest.get(key, []) if s.get("completed")]
        if not steps:
            continue
        ax.plot(
            [s["target_rate"] for s in steps],
            [s["p99_ms"] for s in steps],
            marker="o",
            label=f"{label} p99",
        )
        ax.plot(
            [s["target_rate"] for s in steps],
            [s["p50_ms"] for s in steps],
            marker=".",
            linestyle="--",
            label=f"{label} p50",
        )
    ax.axhline(100, color="grey", linestyle=":", label="100 ms")
    ax.set_yscale("log")
    ax.set_xlabel("offered load (requests/s, open loop)")
    ax.set_ylabel("latency from intended send (ms)")
    ax.set_title("Check-in ingest vs. the bare endpoint")
    ax.legend(fontsize=8)
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def write(results: dict[str, Any], summary_md: str) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = f"{results['date']}-{results['commit']}"
    json_path = RESULTS / f"{stem}.json"
    json_path.write_text(json.dumps(results, indent=2, default=str))
    (RESULTS / f"{stem}.md").write_text(summary_md)
    if "ingest" in results:
        plot_ingest(results["ingest"], RESULTS / f"{stem}-ingest.png")
    docs = ROOT / "docs" / "benchmarks.md"
    text = docs.read_text() if docs.exists() else "# Benchmarks\n"
    block = f"{GENERATED_START}\n{summary_md}\n{GENERATED_END}"
    if GENERATED_START in text and GENERATED_END in text:
        before = text.split(GENERATED_START)[0]
        after = text.split(GENERATED_END, 1)[1]
        text = before + block + after
    else:
        lines = text.split("\n", 1)
        text = lines[0] + "\n\n" + block + "\n" + (lines[1] if len(lines) > 1 else "")
    docs.write_text(text)
    return json_path
