"""Kubernetes' autoscalers as pure decisions: the HorizontalPodAutoscaler's replica count
(:func:`hpa_replicas`, :mod:`.calculator`) and the cluster autoscaler's node count
(:mod:`.cluster`). The simulation's controllers call these; tests check them against
upstream's own cases."""

from capplan.autoscaling.hpa import hpa_replicas

__all__ = ["hpa_replicas"]
