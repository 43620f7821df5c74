"""How benchmarks report: a fixed-width table on stdout and a JSON file per benchmark."""

from __future__ import annotations

import json
import platform
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import psutil

DEFAULT_OUT = Path("artifacts") / "benchmarks"


def format_number(value: object, digits: int = 3) -> str:
    """A compact cell: floats to *digits* significant digits (at least whole), others as str."""
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        magnitude = abs(value)
        if magnitude >= 10 ** (digits - 1) or magnitude == 0:
            return f"{value:,.0f}"
        return f"{value:.{digits}g}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)


def format_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A table with a header rule; text left-aligned, numbers right-aligned."""
    cells = [[format_number(v) for v in row] for row in rows]
    for row in cells:
        if len(row) != len(headers):
            raise ValueError(f"row {row} has {len(row)} cells, the header has {len(headers)}")
    numeric = [
        all(isinstance(row[i], int | float) and not isinstance(row[i], bool) for row in rows)
        and bool(rows)
        for i in range(len(headers))
    ]
    widths = [max([len(h), *(len(row[i]) for row in cells)]) for i, h in enumerate(headers)]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.rjust(w) if is_num else v.ljust(w)
            for v, w, is_num in zip(values, widths, numeric, strict=True)
        ).rstrip()

    return "\n".join([line(headers), "  ".join("-" * w for w in widths), *map(line, cells)])


def machine() -> dict[str, Any]:
    """What the numbers were measured on."""
    return {
        "cpus_logical": psutil.cpu_count(logical=True),
        "cpus_physical": psutil.cpu_count(logical=False),
        "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
        "processor": platform.processor() or platform.machine(),
        "python": platform.python_version(),
    }


def write_json(name: str, results: dict[str, Any], out_dir: Path = DEFAULT_OUT) -> Path:
    """Write ``out_dir/name.json`` with the results, the machine and the time; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{name}.json"
    document = {"benchmark": name, "measured_at": time.time(), "machine": machine(), **results}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return path
