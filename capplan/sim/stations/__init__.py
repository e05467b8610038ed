"""Component types as stations, registered by ``type`` (see ``base`` for the contract)."""

from capplan.sim.stations import cache, database, link, llm, service
from capplan.sim.stations.base import (
    STATION_TYPES,
    BuildContext,
    Station,
    StationMeasure,
    build_station,
)

__all__ = [
    "STATION_TYPES",
    "BuildContext",
    "Station",
    "StationMeasure",
    "build_station",
    "cache",
    "database",
    "link",
    "llm",
    "service",
]
