"""Heartbeat exporter: Prometheus metrics, the status API and page, read from the shared store.

Importing the package loads nothing else: ``exporter.web.app.create_app`` builds the app.
"""
