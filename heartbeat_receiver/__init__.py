"""Heartbeat receiver: services POST heartbeats, their last-seen time goes to Redis.

Importing the package loads nothing else: ``heartbeat_receiver.app.create_app`` builds the app.
"""
