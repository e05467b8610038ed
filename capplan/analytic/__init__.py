"""Queueing theory in closed form: M/M/1, Erlang-C M/M/c, M/M/c/K, M/G/1, tandems, MVA."""

from capplan.analytic.mva import MvaResult, mva
from capplan.analytic.queues import (
    StationPrediction,
    erlang_c,
    mg1,
    mm1,
    mmc,
    mmck_blocking,
    tandem_mm1,
)

__all__ = [
    "MvaResult",
    "StationPrediction",
    "erlang_c",
    "mg1",
    "mm1",
    "mmc",
    "mmck_blocking",
    "mva",
    "tandem_mm1",
]
