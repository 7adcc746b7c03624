"""The benchmarks (`make bench`) and the race checker."""
