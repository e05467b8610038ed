"""Results: replication records aggregated into estimates with confidence intervals."""

from capplan.results.stats import mean_ci
from capplan.results.summary import summarize

__all__ = ["mean_ci", "summarize"]
