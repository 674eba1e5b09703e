"""Failures of the machine (disk, memory, a locked warehouse) named in words, not as data blocks."""

import errno
import os
import subprocess
import sys
from types import SimpleNamespace

import dagster as dg
import duckdb
import pytest

from pipeline.cli import (
    EXIT_BLOCKED,
    EXIT_FAILED,
    EXIT_REJECTED,
    RunOutcome,
    failed_run_outcome,
)
from pipeline.defs.guards import out_of_disk_or_memory_not_retried
from pipeline.failures import (
    DISK_FULL_KIND,
    OUT_OF_MEMORY_KIND,
    WAREHOUSE_LOCKED_KIND,
    ErrorLink,
    exception_chain,
    infrastructure_cause,
)

# What dagster-dbt raises when dbt exits non-zero: its error log lines, ANSI colours included.
DBT_DISK_FULL = (
    "The dbt CLI process with command\n\n`nrr-dbt build`\n\nfailed with exit code `1`.\n\n"
    "Errors parsed from dbt logs:\n\n"
    "\x1b[31mFailure in test assert_restated_arr_at_own_rate_is_end_arr "
    "(tests/assert_restated_arr_at_own_rate_is_end_arr.sql)\x1b[0m\n\n"
    "  Runtime Error in test assert_restated_arr_at_own_rate_is_end_arr "
    "(tests/assert_restated_arr_at_own_rate_is_end_arr.sql)\n"
    '  IO Error: Could not write file "/srv/nrr/warehouse.duckdb.tmp/duckdb_temp_storage-4.tmp": '
    "No space left on device\n"
)
DBT_OUT_OF_MEMORY = (
    "The dbt CLI process with command\n\n`nrr-dbt build`\n\nfailed with exit code `1`.\n\n"
    "Errors parsed from dbt logs:\n\n"
    "  Runtime Error in model fct_arr_bridge (models/marts/fct_arr_bridge.sql)\n"
    "  Out of Memory Error: could not allocate block of size 256.0 KiB (15.1 MiB/15.2 MiB used)\n"
    "  \n  Possible solutions:\n  * Reducing the number of threads (SET threads=X)\n"
)
DBT_DATA_FAILURE = (
    "The dbt CLI process with command\n\n`nrr-dbt build`\n\nfailed with exit code `1`.\n\n"
    "Errors parsed from dbt logs:\n\n"
    "  Failure in test assert_fx_bridge_chains (tests/assert_fx_bridge_chains.sql)\n"
    "  Got 3 results, configured to fail if != 0\n"
)


def error_info(cls_name: str, message: str, cause=None):
    """The shape of Dagster's SerializableErrorInfo that the CLI reads."""
    return SimpleNamespace(cls_name=cls_name, message=message, cause=cause, context=None)


def dbt_error(text: str):
    return error_info("DagsterDbtCliRuntimeError", f"DagsterDbtCliRuntimeError: {text}")


def retries_exhausted(cause):
    return error_info("RetryRequestedFromPolicy", "Exceeded max_retries of 2\n", cause)


def dbt_check(name: str, passed: bool, status: str) -> dg.AssetCheckEvaluation:
    """A dbt test as dagster-dbt reports it: passed, and the dbt status in the metadata."""
    return dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("fct_arr_movements"),
        check_name=name,
        passed=passed,
        metadata={"status": dg.MetadataValue.text(status)},
    )


def cause_of(*texts: str):
    return infrastructure_cause([ErrorLink("Error", text) for text in texts])


def test_a_full_disk_is_named_with_the_file_it_could_not_write():
    cause = cause_of(DBT_DISK_FULL)
    assert cause.kind == DISK_FULL_KIND
    assert cause.summary == (
        "the disk is full (/srv/nrr/warehouse.duckdb.tmp/duckdb_temp_storage-4.tmp)"
    )


def test_a_full_disk_raised_by_python_is_named_with_its_path():
    try:
        try:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/srv/nrr/reports/.staging-1")
        except OSError as exc:
            raise RuntimeError("publishing failed") from exc
    except RuntimeError as exc:
        cause = infrastructure_cause(exception_chain(exc))
    assert cause.summary == "the disk is full (/srv/nrr/reports/.staging-1)"


@pytest.mark.parametrize(
    ("text", "summary"),
    [
        (
            DBT_OUT_OF_MEMORY,
            "DuckDB ran out of memory (could not allocate block of size 256.0 KiB "
            "(15.1 MiB/15.2 MiB used))",
        ),
        (
            "OutOfMemoryException: Out of Memory Error: failed to allocate data of size 32.0 KiB",
            "DuckDB ran out of memory (failed to allocate data of size 32.0 KiB)",
        ),
        ("MemoryError: ", "the run ran out of memory"),
        ("[Errno 12] Cannot allocate memory", "the run ran out of memory"),
    ],
)
def test_running_out_of_memory_is_named(text, summary):
    cause = cause_of(text)
    assert (cause.kind, cause.summary) == (OUT_OF_MEMORY_KIND, summary)


def test_the_memory_advice_names_the_limit_in_force():
    cause = infrastructure_cause([ErrorLink("MemoryError", "")], memory_limit="4MB")
    assert "Raise NRR_DUCKDB_MEMORY_LIMIT (now 4MB)" in cause.advice


def test_a_warehouse_held_by_another_process_is_named_with_that_process(tmp_path):
    """The real DuckDB error, from a second process holding the file."""
    path = tmp_path / "warehouse.duckdb"
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True);"
            " time.sleep(60)",
            str(path),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(duckdb.Error) as raised:
            duckdb.connect(str(path), read_only=True)
    finally:
        holder.kill()
        holder.wait(timeout=10)
    cause = infrastructure_cause(exception_chain(raised.value))
    assert cause.kind == WAREHOUSE_LOCKED_KIND
    assert cause.summary.startswith(f"the warehouse {path} is locked by another program (")
    assert cause.summary.endswith(f", PID {holder.pid})")


def test_a_data_failure_is_not_the_machine():
    assert cause_of(DBT_DATA_FAILURE) is None
    assert cause_of("KeyError: 'customer_id'") is None


def test_an_errored_dbt_test_is_not_a_blocked_check_but_the_machine_named():
    """Case 13: the disk filled during dbt; the ARR identity test errored (could not write)."""
    outcome = failed_run_outcome(
        [("arr_models", dbt_error(DBT_DISK_FULL))],
        [dbt_check("assert_restated_arr_at_own_rate_is_end_arr", passed=False, status="error")],
    )
    assert outcome.exit_code == EXIT_FAILED
    assert outcome.message == (
        "The nightly run failed in step arr_models (dbt test "
        "assert_restated_arr_at_own_rate_is_end_arr): the disk is full "
        "(/srv/nrr/warehouse.duckdb.tmp/duckdb_temp_storage-4.tmp). This is a problem of the "
        "machine, not of the data. Free space on that disk, then run again."
    )


def test_an_errored_dbt_test_without_a_known_cause_is_a_failure_not_a_block():
    outcome = failed_run_outcome(
        [("arr_models", dbt_error("Runtime Error in test t: Catalog Error: no table x"))],
        [dbt_check("t", passed=False, status="error")],
    )
    assert outcome.exit_code == EXIT_FAILED
    assert outcome.message.startswith("Step arr_models failed: DagsterDbtCliRuntimeError:")


def test_a_failed_dbt_test_still_blocks_publishing():
    outcome = failed_run_outcome(
        [("arr_models", dbt_error(DBT_DATA_FAILURE))],
        [dbt_check("assert_fx_bridge_chains", passed=False, status="fail")],
    )
    assert outcome.exit_code == EXIT_BLOCKED
    assert outcome.message.startswith("Publishing was blocked")


def test_retries_that_ran_out_name_the_last_attempts_cause():
    lock = error_info(
        "IOException",
        'IOException: IO Error: Could not set lock on file "/srv/nrr/warehouse.duckdb": '
        "Conflicting lock is held in /usr/bin/duckdb (PID 4242).",
    )
    outcome = failed_run_outcome([("land_delivery", retries_exhausted(lock))], [], "4GB")
    assert outcome.exit_code == EXIT_FAILED
    assert outcome.message.startswith(
        "The nightly run failed in step land_delivery: the warehouse /srv/nrr/warehouse.duckdb "
        "is locked by another program (/usr/bin/duckdb, PID 4242)."
    )
    assert "max_retries" not in outcome.message


def test_retries_that_ran_out_for_another_reason_show_that_reason():
    error = retries_exhausted(error_info("KeyError", "KeyError: 'customer_id'\n"))
    outcome = failed_run_outcome([("published_report", error)], [])
    assert outcome == RunOutcome(
        EXIT_FAILED, "Step published_report failed after 3 attempts: KeyError: 'customer_id'"
    )


def test_a_rejected_delivery_keeps_its_own_exit_code():
    cause = error_info("DeliveryRejected", "DeliveryRejected: no rows")
    rejected = error_info("Failure", "Failure: no rows", cause)
    assert failed_run_outcome([("land_delivery", rejected)], []).exit_code == EXIT_REJECTED


def _attempts(error: Exception) -> tuple[int, str]:
    """Run an asset that retries twice and raises `error` inside the guard."""
    calls = []

    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2))
    def guarded():
        calls.append(1)
        with out_of_disk_or_memory_not_retried():
            raise error

    result = dg.materialize([guarded], raise_on_error=False)
    failure = next(e for e in result.all_events if e.is_step_failure)
    return len(calls), failure.step_failure_data.error.message


def test_a_step_that_filled_the_disk_is_not_retried():
    calls, message = _attempts(OSError(errno.ENOSPC, "No space left on device", "/srv/x"))
    assert calls == 1
    assert "The disk is full (/srv/x). Free space on that disk, then run again." in message


def test_a_step_that_ran_out_of_memory_is_not_retried():
    calls, _ = _attempts(MemoryError())
    assert calls == 1


@pytest.mark.parametrize(
    "error",
    [
        KeyError("customer_id"),
        # The program holding the warehouse may have closed it by the next attempt.
        RuntimeError('Could not set lock on file "/srv/w.duckdb": Conflicting lock is held'),
    ],
)
def test_a_step_that_failed_otherwise_is_still_retried(error):
    calls, _ = _attempts(error)
    assert calls == 3
