"""Run summaries for logs and the demo: what a run produced, read back from its reports.

Reads the silver ``quality_report.json`` and the gold ``gold_summary.json`` and
``statistical_distributions.json`` of a run date (the layers' documents, written once their tables
are committed).
"""

from __future__ import annotations

import logging
from typing import Any

from medallion.config import Settings
from medallion.lake import display_uri, read_document

log = logging.getLogger(__name__)


def load_run_reports(settings: Settings, run_date: str) -> dict[str, Any]:
    """The quality report, gold summary and statistical distributions of ``run_date``.

    Returns:
        ``{"quality_report": {...}, "gold_summary": {...}, "statistical_distributions": {...},
        "locations": {"silver": uri, "gold": uri}}`` (the locations of the layers' tables).

    Raises:
        FileNotFoundError: silver or gold has no committed output for ``run_date``.
    """
    return {
        "quality_report": read_document(settings, "silver", run_date, "quality_report"),
        "gold_summary": read_document(settings, "gold", run_date, "gold_summary"),
        "statistical_distributions": read_document(settings, "gold", run_date, "statistical_distributions"),
        "locations": {"silver": display_uri(settings, "silver"), "gold": display_uri(settings, "gold")},
    }


def log_run_summary(settings: Settings, run_date: str) -> dict[str, Any]:
    """Log per-table row counts, the data-quality score and gold totals; return them as a dict."""
    reports = load_run_reports(settings, run_date)
    quality = reports["quality_report"]
    overall = reports["statistical_distributions"].get("overall_metrics", {})
    summary: dict[str, Any] = {"run_date": run_date, "tables": {}}
    for table in ("clients", "purchases"):
        stats = quality[table]
        summary["tables"][table] = {key: stats[key] for key in ("input_rows", "output_rows", "rejected_rows")}
        log.info("silver %-9s input=%d output=%d rejected=%d %s", table, stats["input_rows"],
                 stats["output_rows"], stats["rejected_rows"], stats.get("rejects_by_reason", {}))
    summary["data_quality_score"] = quality["summary"]["data_quality_score"]
    summary["total_revenue"] = overall.get("total_revenue")
    summary["gold_tables"] = reports["gold_summary"].get("tables", {})
    log.info("data quality score %.2f %% | gold revenue %s | gold tables %s", summary["data_quality_score"],
             summary["total_revenue"], summary["gold_tables"])
    log.info("silver: %s | gold: %s", reports["locations"]["silver"], reports["locations"]["gold"])
    return summary


def print_run_reports(settings: Settings, run_date: str) -> None:
    """Print the quality report and gold summary of ``run_date`` as tables (the demo's closing output)."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    try:
        reports = load_run_reports(settings, run_date)
    except FileNotFoundError as error:
        console.print(f"[yellow]No complete run output for {run_date}: {error}[/]")
        return
    quality = reports["quality_report"]
    table = Table(title=f"Silver quality report — run date {run_date}")
    for column in ("table", "input", "output", "rejected", "rejects by reason", "total recalculated"):
        table.add_column(column, justify="left" if column in ("table", "rejects by reason") else "right")
    for name in ("clients", "purchases"):
        stats = quality[name]
        reasons = ", ".join(f"{k}={v}" for k, v in stats.get("rejects_by_reason", {}).items() if v) or "-"
        table.add_row(name, f"{stats['input_rows']:,}", f"{stats['output_rows']:,}", f"{stats['rejected_rows']:,}",
                      reasons, f"{stats.get('total_recalculated', 0):,}")
    console.print(table)
    console.print(f"data quality score: [bold]{quality['summary']['data_quality_score']} %[/]")

    summary = reports["gold_summary"]
    overall = reports["statistical_distributions"].get("overall_metrics", {})
    gold = Table(title="Gold summary")
    gold.add_column("metric")
    gold.add_column("value", justify="right")
    for key in ("total_revenue", "total_orders", "total_customers", "avg_order_value"):
        if key in overall:
            gold.add_row(key, str(overall[key]))
    for key, value in summary.items():
        if isinstance(value, (str, int, float)) and key not in ("run_id",):
            gold.add_row(key, str(value))
        elif isinstance(value, dict) and all(isinstance(v, (str, int, float)) for v in value.values()):
            gold.add_row(key, ", ".join(f"{k}={v}" for k, v in value.items()))
    console.print(gold)
    console.print(f"silver: {reports['locations']['silver']}\ngold:   {reports['locations']['gold']}")


if __name__ == "__main__":
    import sys

    if len(sys.argv) != 2:
        sys.exit("usage: python -m medallion.reporting YYYY-MM-DD")
    print_run_reports(Settings.from_env(), sys.argv[1])
