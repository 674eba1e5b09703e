"""Dagster assets of the nightly NRR job."""
