"""Bulk staging and insert from Arrow (binary COPY on PostgreSQL, Arrow in place on DuckDB): every value arrives."""

from __future__ import annotations

import pyarrow as pa
import pytest
from sqlalchemy import text

from public_health.warehouse.bulk import binary_copy_rows, bulk_insert, stage_table, staged

SPEC = [("i", "INTEGER"), ("b", "BIGINT"), ("s", "SMALLINT"), ("f", "DOUBLE PRECISION"), ("r", "REAL"),
        ("ok", "BOOLEAN"), ("t", "VARCHAR"), ("u", "TEXT")]
DATA = pa.table({
    "i": pa.array([1, None, -2147483648, 2147483647, 0], pa.int64()),
    "b": pa.array([None, 9007199254740993, -1, 0, 20210000], pa.int64()),
    "s": pa.array([-32768, 32767, None, 0, 1], pa.int64()),
    "f": pa.array([0.1, None, -0.0, 1e300, 13.08], pa.float64()),
    "r": pa.array([0.5, 1.25, None, -2.0, 3.0], pa.float64()),
    "ok": pa.array([True, False, None, True, False]),
    "t": pa.array(["plain", "", None, 'quote " comma , newline\n tab\t', "Leicester, City"]),
    "u": pa.array(["é ü — 😀", None, "\\N", "back\\slash", "x" * 5000]),
})


def _read(conn, table):
    return [tuple(r) for r in conn.execute(text(f"SELECT {', '.join(c for c, _ in SPEC)} FROM {table} ORDER BY b"))]


def _expected():
    rows = list(zip(*(DATA.column(c).to_pylist() for c, _ in SPEC), strict=True))
    return sorted(rows, key=lambda r: (r[1] is None, r[1] if r[1] is not None else 0))


def test_stage_table_keeps_every_value_type_and_null(warehouse):
    with warehouse.begin() as conn:
        assert stage_table(conn, "stg_values", SPEC, DATA) == 5
        got = _read(conn, "stg_values")
    expected = _expected()
    assert [r[:3] for r in got] == [r[:3] for r in expected]
    assert [r[5:] for r in got] == [r[5:] for r in expected]
    for g, e in zip(got, expected, strict=True):
        assert g[3] == e[3] and (g[4] is None) == (e[4] is None) and (g[4] is None or g[4] == pytest.approx(e[4]))


def test_staged_rows_and_a_bulk_insert_in_one_transaction(warehouse):
    with warehouse.begin() as conn:
        conn.exec_driver_sql(f"CREATE TABLE t_bulk ({', '.join(f'{c} {t}' for c, t in SPEC)})")
        with staged(conn, "stg_values", SPEC, DATA) as name:
            assert conn.execute(text(f"SELECT count(*), count(t) FROM {name}")).one() == (5, 4)
        assert bulk_insert(conn, "t_bulk", SPEC, DATA.slice(1)) == 4
        assert len(_read(conn, "t_bulk")) == 4


def test_a_bulk_insert_is_all_or_nothing(warehouse):
    with warehouse.begin() as conn:
        conn.exec_driver_sql("CREATE TABLE t_keyed (i INTEGER PRIMARY KEY, t VARCHAR)")
    with pytest.raises(Exception, match="(?i)duplicate|unique|primary key|constraint"):
        with warehouse.begin() as conn:
            bulk_insert(conn, "t_keyed", [("i", "INTEGER"), ("t", "VARCHAR")],
                        pa.table({"i": [1, 2, 1], "t": ["a", "b", "c"]}))
    with warehouse.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM t_keyed")).scalar_one() == 0


def test_binary_copy_rows_layout():
    """PostgreSQL's binary tuple: field count, then each field's length (-1 for null) and big-endian bytes."""
    rows = binary_copy_rows(pa.table({"i": pa.array([7, None], pa.int64()), "t": ["ab", None]}),
                            [("i", "INTEGER"), ("t", "VARCHAR")])
    assert bytes(rows) == (b"\x00\x02" + b"\x00\x00\x00\x04\x00\x00\x00\x07" + b"\x00\x00\x00\x02ab"
                           + b"\x00\x02" + b"\xff\xff\xff\xff" + b"\xff\xff\xff\xff")
    with pytest.raises(ValueError, match="'DATE'"):
        binary_copy_rows(pa.table({"d": [1]}), [("d", "DATE")])
