"""SQL: engines with deadlines, typed failures, the probe, the traffic poll, the log tables.

Imports no other room."""
