"""HTTP: the app, the status API, maintenance, events, login; it may import every other room."""
