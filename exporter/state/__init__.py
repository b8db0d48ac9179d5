"""Redis reads and writes (the store read, history, rollup) and what follows (windows, pipeline).

May import sql."""
