"""A live twin of a scenario: the model, run on the wall clock, behind a real HTTP server.

``capplan emulate`` serves it so that ``capplan loadtest`` (and anything else that speaks
HTTP) can be tried against a system that behaves as the scenario says, without a cluster.
"""

from capplan.emulate.twin import Twin

__all__ = ["Twin"]
