"""The discrete-event engine: a validated Scenario in, plain replication records out.

Imports only ``capplan.scenario``, SimPy and numpy (a test holds it to that).
"""

from capplan.sim import budget
from capplan.sim.engine import run_replication
from capplan.sim.records import LatencySummary, ReplicationRecord, TypeRecord
from capplan.sim.runner import Progress, run_replications
from capplan.sim.stations import STATION_TYPES, StationMeasure

__all__ = [
    "STATION_TYPES",
    "LatencySummary",
    "Progress",
    "ReplicationRecord",
    "StationMeasure",
    "TypeRecord",
    "budget",
    "run_replication",
    "run_replications",
]
