"""Benchmarks of the hub at realistic volume: `python -m bench.generate` fills a database
with a large, coherent alliance (brands, people, reports, indicators, discussion, test buys,
events) for the benchmarks to read."""
