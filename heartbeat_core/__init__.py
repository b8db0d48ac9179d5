"""The shared core that the receiver and the exporter both stand on; it imports neither of them.

Configuration (``config``), service types (``types``) and the status rule (``status``), the
Redis store (``store``), the pipeline's edges (``edges``), the command-line kit (``cli``) and the
web kit of both apps (``web``). See docs/architecture.md.
"""
