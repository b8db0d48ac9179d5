"""Prometheus: the collectors of /metrics and their exposition; never imports web."""
