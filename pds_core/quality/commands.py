"""`pds metrics`: the metric history from the results tables, with sparklines."""

from __future__ import annotations

from typing import Any

from pds_adapters import connect
from pds_core.errors import ProjectError, did_you_mean
from pds_core.history import ResultsHistory
from pds_core.loader import Project

SPARKS = "▁▂▃▄▅▆▇█"


# ---- pds metrics -----------------------------------------------------------------------------------
def metric_history(project: Project, name: str | None = None, limit: int | None = 20) -> list[dict[str, Any]]:
    """The values of every metric (or of NAME, MODEL.NAME or a unique id), oldest first, per series."""
    with connect(project.target) as adapter:
        history = ResultsHistory(adapter, project.config.results_schema)
        if not history.exists():
            raise ProjectError(f"no metric history in schema {history.schema!r} of target {project.target.name!r} yet",
                               hint="metrics are computed by `pds build`, after their models")
        rows = history.metric_rows(project.target.name, name, limit)
        if name and not rows:
            known = {r["metric"] for r in history.metric_rows(project.target.name, None, 1)}
            raise ProjectError(f"no values recorded for metric {name!r}",
                               hint=did_you_mean(name, known) or f"metrics with history: {', '.join(sorted(known))}")
    for row in rows:
        row["measured_at"] = row["measured_at"].isoformat(sep=" ", timespec="seconds") \
            if hasattr(row["measured_at"], "isoformat") else row["measured_at"]
    return rows


def sparkline(values: list[float | None]) -> str:
    """▁▂▃▄▅▆▇█ scaled between the series' min and max; a gap for a missing value."""
    present = [v for v in values if v is not None]
    if not present:
        return ""
    lo, hi = min(present), max(present)
    span = hi - lo
    return "".join(" " if v is None else SPARKS[0 if span == 0 else round((v - lo) / span * (len(SPARKS) - 1))]
                   for v in values)


def series(rows: list[dict[str, Any]]) -> dict[tuple[str, str, str], list[dict[str, Any]]]:
    """Rows grouped into series: (model.metric, group, unique id) -> values oldest first."""
    out: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
    for row in rows:
        key = (f"{row['model']}.{row['metric']}", _group_label(row["group_key"]), row["unique_id"])
        out.setdefault(key, []).append(row)
    return out


def _group_label(key: str | None) -> str:
    if not key:
        return ""
    import json

    return ", ".join(f"{k}={v}" for k, v in json.loads(key).items())


def print_history(rows: list[dict[str, Any]], detail: bool) -> None:
    """The terminal view of `pds metrics`: a line per series, and each value when one metric was asked for."""
    import click

    grouped = series(rows)
    lines = [("metric", "group", "history", "last", "min", "max", "n", "status")]
    for (label, group, _uid), values in grouped.items():
        numbers = [v["value"] for v in values]
        present = [n for n in numbers if n is not None]
        lines.append((label, group, sparkline(numbers), _fmt(numbers[-1]), _fmt(min(present, default=None)),
                      _fmt(max(present, default=None)), str(len(values)), str(values[-1]["status"])))
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    for line in lines:
        cells = [cell.rjust(w) if i in (3, 4, 5, 6) else cell.ljust(w)
                 for i, (cell, w) in enumerate(zip(line, widths, strict=True))]
        colour = {"fail": "red", "warn": "yellow"}.get(line[-1])
        click.echo(click.style("  ".join(cells).rstrip(), fg=colour) if colour else "  ".join(cells).rstrip())
    if detail:
        for (label, group, _uid), values in grouped.items():
            click.echo(f"\n{label}" + (f" ({group})" if group else ""))
            for v in values:
                click.echo(f"  {v['measured_at']}  run {str(v['run_id'])[:8]}  {_fmt(v['value']):>14}  {v['status']}")


def _fmt(value: float | None) -> str:
    return "null" if value is None else f"{value:.6g}"
