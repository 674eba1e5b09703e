"""Failures of the machine, not of the data: a full disk, no memory, a warehouse locked by
another program.

A step that fails for one of these reasons must not look like a data-quality block (a dbt test
that errored because DuckDB could not write is not a failed check), must not be retried (the
disk is as full a few seconds later), and must be reported in words with the step it stopped.
The functions here read an error chain, as Python exceptions or as Dagster's serialized error
info, without importing Dagster.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")
DISK_FULL = re.compile(r"No space left on device|\bENOSPC\b|\[Errno 28\]", re.IGNORECASE)
OUT_OF_MEMORY = re.compile(
    r"\bMemoryError\b|OutOfMemoryException|Out of Memory|Cannot allocate memory|\[Errno 12\]",
    re.IGNORECASE,
)
LOCKED = re.compile(r'Could not set lock on file "(?P<path>[^"]+)"', re.IGNORECASE)
LOCK_HOLDER = re.compile(r"Conflicting lock is held in (?P<program>.+?) \(PID (?P<pid>\d+)\)")
QUOTED_PATH = re.compile(r"\"([^\"]+)\"|'([^']+)'")
DBT_NODE = re.compile(r"Error in (?P<node>(?:model|test|seed|snapshot) [\w.]+)")
RETRIES_EXCEEDED = re.compile(r"Exceeded max_retries of (?P<retries>\d+)")

DISK_FULL_KIND = "disk_full"
OUT_OF_MEMORY_KIND = "out_of_memory"
WAREHOUSE_LOCKED_KIND = "warehouse_locked"
# A retry a few seconds later finds the disk as full and the memory as short; a program that
# holds the warehouse may have closed it.
NOT_RETRIED_KINDS = frozenset({DISK_FULL_KIND, OUT_OF_MEMORY_KIND})


@dataclass(frozen=True)
class ErrorLink:
    """One exception of a chain: its class name and its message."""

    cls_name: str
    message: str

    @property
    def text(self) -> str:
        return ANSI_ESCAPE.sub("", f"{self.cls_name}: {self.message}")


@dataclass(frozen=True)
class InfrastructureCause:
    kind: str
    summary: str
    """What happened, in words: 'the disk is full (/data/nrr/warehouse.duckdb.wal)'."""
    advice: str

    def sentence(self) -> str:
        return f"{self.summary[0].upper()}{self.summary[1:]}. {self.advice}"


def exception_chain(exc: BaseException | None) -> list[ErrorLink]:
    """An exception and the exceptions it was raised from (or while handling), outermost first."""
    links: list[ErrorLink] = []
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        links.append(ErrorLink(type(exc).__name__, str(exc)))
        exc = exc.__cause__ or exc.__context__
    return links


def error_info_chain(error) -> list[ErrorLink]:
    """Dagster's SerializableErrorInfo (cls_name, message, cause, context) as links."""
    links: list[ErrorLink] = []
    while error is not None:
        links.append(ErrorLink(error.cls_name or "", error.message or ""))
        error = error.cause or error.context
    return links


def _line_of(text: str, match: re.Match) -> str:
    start = text.rfind("\n", 0, match.start()) + 1
    end = text.find("\n", match.end())
    return text[start : end if end >= 0 else len(text)].strip()


def _disk_full(text: str) -> InfrastructureCause | None:
    match = DISK_FULL.search(text)
    if not match:
        return None
    path = QUOTED_PATH.search(_line_of(text, match))
    where = f" ({path.group(1) or path.group(2)})" if path else ""
    return InfrastructureCause(
        DISK_FULL_KIND,
        f"the disk is full{where}",
        "Free space on that disk, then run again.",
    )


def _warehouse_locked(text: str) -> InfrastructureCause | None:
    match = LOCKED.search(text)
    if not match:
        return None
    holder = LOCK_HOLDER.search(text)
    by = f" ({holder['program']}, PID {holder['pid']})" if holder else ""
    return InfrastructureCause(
        WAREHOUSE_LOCKED_KIND,
        f"the warehouse {match['path']} is locked by another program{by}",
        "Close the program that has it open (a DuckDB shell, a notebook, a BI tool), "
        "then run again.",
    )


def _out_of_memory(text: str, memory_limit: str | None) -> InfrastructureCause | None:
    match = OUT_OF_MEMORY.search(text)
    if not match:
        return None
    duckdb = "Out of Memory" in match[0] or "OutOfMemoryException" in match[0]
    line = _line_of(text, match).split("Out of Memory Error: ", 1)
    detail = f" ({line[1]})" if duckdb and len(line) > 1 else ""
    limit = f" (now {memory_limit})" if memory_limit else ""
    return InfrastructureCause(
        OUT_OF_MEMORY_KIND,
        ("DuckDB" if duckdb else "the run") + " ran out of memory" + detail,
        f"Raise NRR_DUCKDB_MEMORY_LIMIT{limit} if the machine has the memory, or run on a "
        "larger machine, then run again.",
    )


def infrastructure_cause(
    links: list[ErrorLink], memory_limit: str | None = None
) -> InfrastructureCause | None:
    """The machine's reason a step failed, if the chain names one; None for any other error.

    The innermost error is read first (it is the original one; outer ones restate it), and in
    each a full disk first: DuckDB that cannot spill to disk may also say it is out of memory.
    """
    for link in reversed(links):
        text = link.text
        cause = _disk_full(text) or _warehouse_locked(text) or _out_of_memory(text, memory_limit)
        if cause:
            return cause
    return None


def dbt_node(links: list[ErrorLink]) -> str | None:
    """The dbt model or test named in dbt's error log ('model fct_arr_bridge'), if any."""
    for link in links:
        match = DBT_NODE.search(link.text)
        if match:
            return match["node"]
    return None


def step_label(step: str, links: list[ErrorLink]) -> str:
    node = dbt_node(links)
    return f"step {step} (dbt {node})" if node else f"step {step}"


def root_error(links: list[ErrorLink]) -> ErrorLink | None:
    """The error behind the retries: 'Exceeded max_retries' names none, its cause does."""
    for link in links:
        if not RETRIES_EXCEEDED.search(link.message):
            return link
    return None


def attempts(links: list[ErrorLink]) -> int:
    """How many times the step ran: 1, or max_retries + 1 when its retries ran out."""
    for link in links:
        match = RETRIES_EXCEEDED.search(link.message)
        if match:
            return int(match["retries"]) + 1
    return 1


def infrastructure_message(step: str, links: list[ErrorLink], cause: InfrastructureCause) -> str:
    """One paragraph: the step, the machine's reason, what to do."""
    return (
        f"The nightly run failed in {step_label(step, links)}: {cause.summary}. This is a "
        f"problem of the machine, not of the data. {cause.advice}"
    )


def step_failure_message(step: str, links: list[ErrorLink]) -> str:
    """Any other failed step: its own error (the last attempt's, when retries ran out)."""
    root = root_error(links)
    tries = attempts(links)
    after = f" after {tries} attempts" if tries > 1 else ""
    if root is None:
        return f"Step {step} failed{after}."
    return f"Step {step} failed{after}: {ANSI_ESCAPE.sub('', root.message).strip()}"
