"""Helpers shared by the tests that drive Snakemake."""

from __future__ import annotations

import re


def job_counts(output: str) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table."""
    counts: dict[str, int] = {}
    if "Job stats" not in output:
        return counts
    table = output.split("Job stats:", 1)[1]
    for line in table.splitlines()[3:]:
        match = re.match(r"^(\w+)\s+(\d+)$", line.strip())
        if not match:
            break
        if match[1] != "total":
            counts[match[1]] = int(match[2])
    return counts
