"""Real servers that the tests and the benchmarks start and stop (never part of the product)."""
