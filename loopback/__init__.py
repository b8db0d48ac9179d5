"""Servers as child processes on loopback: free ports, readiness, Redis. The all-in-one runs its
Redis, Prometheus and Alertmanager with it, and the tests' harness its servers, so that each
piece exists once. It imports nothing of ours (tests/unit/test_architecture.py checks it)."""
