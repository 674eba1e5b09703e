"""Nightly cohort NRR pipeline: landing, quarantine, dbt ARR movements, retention reports."""

__version__ = "0.1.0"
