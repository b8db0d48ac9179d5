"""``heartbeat-monitor``: receiver and exporter in one process on embedded defaults."""
