"""A step that runs out of disk or memory stops at once: a retry cannot free either."""

from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from pipeline.failures import NOT_RETRIED_KINDS, exception_chain, infrastructure_cause
from pipeline.warehouse import duckdb_config


@contextmanager
def out_of_disk_or_memory_not_retried() -> Iterator[None]:
    """A full disk or no memory becomes a Failure Dagster does not retry, described in words;
    the original error stays its cause. Any other error (a warehouse locked by another program
    included: it may be closed by the next attempt) passes as it is."""
    try:
        yield
    except Exception as exc:
        if isinstance(exc, dg.Failure) and not exc.allow_retries:
            raise
        cause = infrastructure_cause(exception_chain(exc), duckdb_config()["memory_limit"])
        if cause is None or cause.kind not in NOT_RETRIED_KINDS:
            raise
        raise dg.Failure(description=cause.sentence(), allow_retries=False) from exc
