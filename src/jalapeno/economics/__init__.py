"""Economics: what a chip costs to make, to own and to run, and what a token costs.

Reads hardware specs and engine results, nothing above them (tests/test_layers.py rank 5):
`area` estimates die area from a design's primitives at a process node, `unit_cost` turns it into
dies per wafer, yield and a known-good-die cost plus memory, packaging, board and system share,
`tco` amortizes capex and adds energy into a cost per chip-hour, `cloud` holds public rental prices,
and `money` turns a result's throughput and power into $/Mtoken and tokens/s per provisioned MW.
Every figure comes from economics/data/*.yaml, each with its source.
"""
