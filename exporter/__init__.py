"""Heartbeat exporter: Prometheus metrics, the status API and page, read from the shared store.

Importing the package loads nothing else: ``exporter.app.create_app`` builds the app.
"""
