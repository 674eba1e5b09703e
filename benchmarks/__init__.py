"""Benchmarks of the nightly job (not part of the runtime package): `make bench`."""
