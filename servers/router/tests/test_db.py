"""The ledger database: batched writes keep every row and the order that matters."""

from __future__ import annotations

from pathlib import Path

from strata.router.db import MAX_PARAMETERS, SQLiteDatabase, _coalesce

REQUEST = "INSERT INTO requests VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
CALL = "INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
RAW = "INSERT INTO raw_outputs VALUES (?, ?, ?, ?, ?)"


def request(i: int) -> tuple[object, ...]:
    return (f"r{i}", float(i), "2026-11-24", "k", None, "default", "m", "", 0.001, 0.002, None, 0, "", "ok", 1.0)


def call(i: int) -> tuple[object, ...]:
    return (f"r{i}", 0, "m", "ok", "", 5, 1, 0.001, 0.0, 1.0)


def test_interleaved_inserts_become_one_statement_per_table_and_other_statements_are_barriers() -> None:
    statements = [(REQUEST, request(1)), (CALL, call(1)), (REQUEST, request(2)), (CALL, call(2))]
    statements += [("DELETE FROM raw_outputs WHERE id = ?", ("x",)), (RAW, ("x", 1.0, "log", "raw", "c"))]
    folded = _coalesce(statements)
    assert [sql.split(" VALUES")[0] for sql, _ in folded] == [
        "INSERT INTO requests", "INSERT INTO calls", "DELETE FROM raw_outputs WHERE id = ?", "INSERT INTO raw_outputs",
    ]  # fmt: skip
    assert list(folded[0][1]) == [*request(1), *request(2)]


def test_every_row_lands_even_past_sqlites_parameter_limit(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "router.db")
    rows = MAX_PARAMETERS // 15 + 500  # more parameters than one statement may bind
    for i in range(rows):
        db.write(REQUEST, request(i))
        db.write(CALL, call(i))
    db.write("DELETE FROM calls WHERE request_id = ?", ("r0",))
    db.write(CALL, call(0))  # after the barrier: must not be folded before the delete
    db.flush()
    assert db.query("SELECT count(*) FROM requests") == [(rows,)]
    assert db.query("SELECT count(*) FROM calls") == [(rows,)]
    assert db.query("SELECT ts FROM requests ORDER BY rowid LIMIT 3") == [(0.0,), (1.0,), (2.0,)]
    db.close()


def test_a_bad_row_is_dropped_alone(tmp_path: Path) -> None:
    db = SQLiteDatabase(tmp_path / "router.db")
    db.write(REQUEST, request(1))
    db.write(REQUEST, request(1))  # duplicate primary key: the folded statement fails, then rows go one by one
    db.write(REQUEST, request(2))
    db.flush()
    assert db.query("SELECT id FROM requests ORDER BY id") == [("r1",), ("r2",)]
    db.close()
