"""Roll-up to the ultimate parent, with loops and unknown parents named, never looping."""

import polars as pl
from polars.testing import assert_frame_equal

from pipeline.quarantine import resolve_hierarchy


def edges(pairs: list[tuple[str, str | None]]) -> pl.DataFrame:
    return pl.DataFrame(pairs, schema=["account_id", "parent_account_id"], orient="row")


def test_every_account_rolls_up_to_the_top_of_its_chain():
    result = resolve_hierarchy(
        edges([("A", None), ("B", "A"), ("C", "B"), ("D", "C"), ("E", None)])
    )
    expected = pl.DataFrame(
        {
            "account_id": ["A", "B", "C", "D", "E"],
            "ultimate_parent_id": ["A", "A", "A", "A", "E"],
            "problem": [None] * 5,
            "detail": [None] * 5,
        },
        schema={c: pl.String for c in ["account_id", "ultimate_parent_id", "problem", "detail"]},
    )
    assert_frame_equal(result, expected)


def test_a_deep_chain_resolves_in_logarithmic_rounds():
    chain = [("N0000", None)] + [(f"N{i:04d}", f"N{i - 1:04d}") for i in range(1, 1000)]
    result = resolve_hierarchy(edges(chain))
    assert result["ultimate_parent_id"].unique().to_list() == ["N0000"]
    assert result["problem"].null_count() == 1000


def test_unknown_parent_names_the_missing_account_for_the_whole_branch():
    result = resolve_hierarchy(edges([("A", "Z"), ("B", "A"), ("C", None)]))
    assert result.select("account_id", "problem", "detail").rows() == [
        (
            "A",
            "unknown_parent",
            "parent account Z of account A is not a valid account in the CRM extract",
        ),
        (
            "B",
            "unknown_parent",
            "account B rolls up to account A, whose parent account Z is not a valid account in "
            "the CRM extract",
        ),
        ("C", None, None),
    ]


def test_two_separate_loops_are_named_separately():
    result = resolve_hierarchy(
        edges([("A", "B"), ("B", "A"), ("X", "Y"), ("Y", "Z"), ("Z", "X"), ("K", "Z"), ("S", "S")])
    )
    details = dict(result.select("account_id", "detail").rows())
    assert details["A"] == "account A is in parent loop A (2 accounts): its members are A, B"
    assert details["B"] == (
        "account B is in parent loop A (2 accounts), whose members are listed on account A"
    )
    assert details["X"] == "account X is in parent loop X (3 accounts): its members are X, Y, Z"
    assert details["Y"] == (
        "account Y is in parent loop X (3 accounts), whose members are listed on account X"
    )
    assert details["K"] == (
        "account K rolls up into parent loop X (3 accounts), whose members are listed on account X"
    )
    assert details["S"] == "account S is in parent loop S (1 account): its members are S"
    assert set(result["problem"]) == {"parent_loop"}


def test_a_large_loop_is_described_in_text_that_grows_with_it_not_its_square():
    # 16,000 accounts in one loop: before, each detail listed every member (2.5 GB of text).
    ids = [f"A{i:05d}" for i in range(16_000)]
    result = resolve_hierarchy(edges(list(zip(ids, ids[1:] + ids[:1], strict=True))))
    lengths = result["detail"].str.len_bytes()
    assert result.height == 16_000
    first = "account A00000 is in parent loop A00000 (16000 accounts): its members are "
    assert result["detail"][0] == first + ", ".join(ids)  # the members, listed once
    assert lengths.sum() < 3_000_000  # 16,000 short lines and one list of 16,000 ids
