"""DLI's pure logic: splitting SQL scripts, Spark SQL literals for parameters, the conf list, result values
converted by their schema types, and the waiters' state tables."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest

from huaweicloud_toolkit.dli import (
    CONNECTIVITY_WAITER,
    ELASTIC_POOL_WAITER,
    ENHANCED_CONNECTION_WAITER,
    SPARK_BATCH_WAITER,
    SQL_JOB_WAITER,
    SparkBatchFailedError,
    check_max_rows,
    conf_list,
    convert_rows,
    convert_value,
    render_parameters,
    schema_columns,
    spark_literal,
    split_statements,
)
from huaweicloud_toolkit.waiters import Outcome

# Splitting ---------------------------------------------------------------------------------------------


def test_statements_split_on_semicolons_outside_literals_identifiers_and_comments() -> None:
    script = """
        -- load the orders
        CREATE TABLE `odd;name` (a INT);
        INSERT INTO t SELECT ';', "x;y", 'it\\'s; fine';  /* a; comment */
        SELECT 1 -- trailing; comment
        ;
        /* only a comment; */ ;
    """
    assert split_statements(script) == [
        "CREATE TABLE `odd;name` (a INT)",
        "INSERT INTO t SELECT ';', \"x;y\", 'it\\'s; fine'",
        "SELECT 1 -- trailing; comment",
    ]


def test_leading_comments_are_dropped_and_inner_ones_kept() -> None:
    # DLI tells a query from DDL by the first word; a hint inside a statement must survive.
    assert split_statements("/* report */ -- daily\nSELECT /*+ BROADCAST(d) */ * FROM f JOIN d") == [
        "SELECT /*+ BROADCAST(d) */ * FROM f JOIN d"
    ]


def test_nested_block_comments_and_escaped_backslashes() -> None:
    assert split_statements("/* a /* b; */ c; */ SELECT 1; SELECT 'a\\\\'; SELECT 2") == [
        "SELECT 1",
        "SELECT 'a\\\\'",
        "SELECT 2",
    ]


def test_a_script_without_statements_is_empty() -> None:
    assert split_statements("") == []
    assert split_statements(" ; ;\n-- nothing\n/* at all */") == []


def test_an_unterminated_literal_runs_to_the_end() -> None:
    assert split_statements("SELECT 'a;b") == ["SELECT 'a;b"]


# Parameters --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "literal"),
    [
        (None, "NULL"),
        (True, "TRUE"),
        (False, "FALSE"),
        (42, "42"),
        (-7, "-7"),
        (1.5, "CAST(1.5 AS DOUBLE)"),
        (1e-7, "CAST(1e-07 AS DOUBLE)"),
        (math.nan, "CAST('NaN' AS DOUBLE)"),
        (-math.inf, "CAST('-Infinity' AS DOUBLE)"),
        (Decimal("12.50"), "12.50"),
        (Decimal("1E+3"), "1000"),
        ("plain", "'plain'"),
        ("it's", "'it\\'s'"),
        ("back\\slash", "'back\\\\slash'"),
        ("\\'", "'\\\\\\''"),
        ("a\nb", "'a\nb'"),
        (b"\x00\xff", "X'00FF'"),
        (date(2026, 1, 31), "DATE '2026-01-31'"),
        (datetime(2026, 1, 31, 8, 5, 1, 250), "TIMESTAMP '2026-01-31 08:05:01.000250'"),
        ([1, "a"], "(1, 'a')"),
        (("x",), "('x')"),
    ],
)
def test_spark_literals(value: object, literal: str) -> None:
    assert spark_literal(value) == literal


def test_an_aware_datetime_is_written_in_utc() -> None:
    moment = datetime(2026, 1, 31, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    assert spark_literal(moment) == "TIMESTAMP '2026-01-31 00:00:00'"
    assert spark_literal(moment.astimezone(UTC)) == "TIMESTAMP '2026-01-31 00:00:00'"


def test_values_without_a_literal_are_refused() -> None:
    with pytest.raises(TypeError, match="no Spark SQL literal for a dict"):
        spark_literal({"a": 1})
    with pytest.raises(ValueError, match="empty collection"):
        spark_literal([])
    with pytest.raises(ValueError, match="decimal literal"):
        spark_literal(Decimal("NaN"))


def test_placeholders_are_filled_outside_literals_and_comments_only() -> None:
    sql = (
        "SELECT * FROM t WHERE name = %(name)s AND note LIKE 'a%' AND id IN %(ids)s "
        "AND tag = '%(name)s' -- %(name)s\n AND day = %(day)s"
    )
    rendered = render_parameters(sql, {"name": "O'Brien \\ Co", "ids": (1, 2), "day": date(2026, 2, 1)})
    assert rendered == (
        "SELECT * FROM t WHERE name = 'O\\'Brien \\\\ Co' AND note LIKE 'a%' AND id IN (1, 2) "
        "AND tag = '%(name)s' -- %(name)s\n AND day = DATE '2026-02-01'"
    )


def test_a_quoted_value_cannot_end_its_literal() -> None:
    """A value that tries to break out of its literal stays one literal: the script still splits into
    the statements it had."""
    rendered = render_parameters("SELECT %(v)s; SELECT 2", {"v": "x'; DROP TABLE t; --"})
    assert split_statements(rendered) == ["SELECT 'x\\'; DROP TABLE t; --'", "SELECT 2"]


def test_without_parameters_the_text_is_untouched_and_a_missing_one_is_named() -> None:
    assert render_parameters("SELECT '%(x)s', %(y)s", None) == "SELECT '%(x)s', %(y)s"
    with pytest.raises(KeyError, match=r"%\(y\)s"):
        render_parameters("SELECT %(y)s", {"x": 1})


def test_conf_list() -> None:
    assert conf_list(None) is None and conf_list({}) is None
    assert conf_list({"spark.sql.shuffle.partitions": 8, "dli.sql.cbo.enabled": True}) == [
        "spark.sql.shuffle.partitions=8",
        "dli.sql.cbo.enabled=true",
    ]
    assert conf_list(["a=1"]) == ["a=1"]
    with pytest.raises(ValueError, match="key=value"):
        conf_list(["a=1", "b"])


# Result values -----------------------------------------------------------------------------------------


def test_schema_columns_and_conversion_by_type() -> None:
    columns = schema_columns(
        [
            {"id": "bigint"},
            {"price": "decimal(10,2)"},
            {"ratio": "double"},
            {"ok": "boolean"},
            {"day": "date"},
            {"at": "timestamp"},
            {"tags": "array<string>"},
            {"name": "string"},
        ]
    )
    assert [name for name, _ in columns] == ["id", "price", "ratio", "ok", "day", "at", "tags", "name"]
    rows = convert_rows(
        columns,
        [
            ["7", "12.50", "0.25", "true", "2026-01-31", "2026-01-31 08:05:01", '["a", "b"]', "x"],
            [8, 3.5, 1, False, None, None, ["c"], None],
        ],
    )
    assert rows[0] == [
        7,
        Decimal("12.50"),
        0.25,
        True,
        date(2026, 1, 31),
        datetime(2026, 1, 31, 8, 5, 1),
        ["a", "b"],
        "x",
    ]
    assert rows[1] == [8, Decimal("3.5"), 1.0, False, None, None, ["c"], None]
    assert isinstance(rows[1][2], float)


def test_special_floats_and_unknown_types() -> None:
    assert math.isnan(convert_value("NaN", "double"))
    assert convert_value("-Infinity", "float") == -math.inf
    assert convert_value("abc", "varchar(10)") == "abc"
    assert convert_value(b"\x01", "binary") == b"\x01"


def test_a_value_that_does_not_fit_its_type_names_its_column() -> None:
    with pytest.raises(ValueError, match=r"column 'n' \(int\): cannot read 'seven'"):
        convert_rows([("n", "int")], [["seven"]])
    with pytest.raises(ValueError, match="2 values for 1 columns"):
        convert_rows([("n", "int")], [[1, 2]])


def test_max_rows_stays_within_the_preview() -> None:
    check_max_rows(0)
    check_max_rows(1000)
    with pytest.raises(ValueError, match="between 0 and 1,000 rows"):
        check_max_rows(1001)


# Waiters -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("waiter", "succeeded", "failed", "in_progress"),
    [
        (SQL_JOB_WAITER, ["FINISHED"], ["FAILED", "CANCELLED"], ["LAUNCHING", "RUNNING"]),
        (SPARK_BATCH_WAITER, ["success"], ["dead"], ["starting", "running", "recovering"]),
        (ELASTIC_POOL_WAITER, ["AVAILABLE"], ["FAILED"], ["CREATING", "SCALING"]),
        (ENHANCED_CONNECTION_WAITER, ["ACTIVE"], ["FAILED", "DELETED"], ["CREATING"]),
        (CONNECTIVITY_WAITER, ["REACHABLE", "UNREACHABLE"], [], ["CHECKING", ""]),
    ],
)
def test_waiter_states(waiter, succeeded: list[str], failed: list[str], in_progress: list[str]) -> None:
    assert {waiter.outcome(s) for s in succeeded} == {Outcome.SUCCEEDED}
    assert all(waiter.outcome(s) is Outcome.FAILED for s in failed)
    assert {waiter.outcome(s) for s in in_progress} == {Outcome.IN_PROGRESS}


def test_a_dead_batch_job_error_carries_its_log_tail() -> None:
    error = SparkBatchFailedError(
        batch_id="b-1", state="dead", log=["Traceback (most recent call last):", "ValueError: bad row"]
    )
    assert error.message == (
        "DLI Spark batch job b-1 ended dead: the last lines of its log:\n"
        "Traceback (most recent call last):\nValueError: bad row"
    )
    assert (error.state, error.service) == ("dead", "dli")
    assert "its log is empty" in SparkBatchFailedError(batch_id="b-2", state="dead", log=[]).message
