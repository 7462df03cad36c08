import base64
import json
import sqlite3
from pathlib import Path

import nbformat
import polars as pl

from interestlab.privacy_scan import bank_identifiers, scan, scanned_files

IDS = frozenset({"C0000001", "C0000002", "A0000000001"})


def _notebook(path: Path, *, text: str, image: bytes = b"") -> None:
    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("x = 1")
    outputs = [nbformat.v4.new_output("stream", name="stdout", text=text)]
    if image:
        data = {"image/png": base64.b64encode(image).decode()}
        outputs.append(nbformat.v4.new_output("display_data", data=data))
    cell.outputs = outputs
    nb.cells = [cell]
    nbformat.write(nb, path)


def test_finds_ids_in_notebook_text_json_and_sqlite(tmp_path):
    _notebook(tmp_path / "a.ipynb", text="top customer C0000001 planned\n")
    (tmp_path / "r.json").write_text(json.dumps({"account": "A0000000001"}))
    with sqlite3.connect(tmp_path / "mlflow.db") as conn:
        conn.execute("CREATE TABLE tags (key TEXT, value TEXT)")
        conn.execute("INSERT INTO tags VALUES ('example', 'C0000002')")
    found = {(f.path.name, f.identifier) for f in scan([tmp_path], IDS)}
    assert found == {
        ("a.ipynb", "C0000001"),
        ("r.json", "A0000000001"),
        ("mlflow.db", "C0000002"),
    }
    assert scanned_files([tmp_path]) == 3


def test_aggregates_longer_tokens_and_images_are_not_findings(tmp_path):
    _notebook(
        tmp_path / "b.ipynb",
        text="1,474 contacts; XC0000001 is not an id; C00000011 neither\n",
        image=b"C0000001" * 10,
    )
    (tmp_path / "plan.parquet").write_bytes(b"PAR1 C0000001 binary")
    assert scan([tmp_path], IDS) == []
    assert scanned_files([tmp_path]) == 1


def test_bank_identifiers_are_customer_account_and_communication_ids(make_bank):
    bank = make_bank()
    ids = bank_identifiers(bank)
    customers = set(pl.read_parquet(bank / "customers").get_column("customer_id"))
    comms = set(pl.read_parquet(bank / "communications").get_column("comm_id"))
    assert customers and customers <= ids
    assert comms <= ids
    assert all(not i.isdigit() for i in ids)


def test_short_ids_of_a_literal_bank_are_found_too(make_bank, tmp_path):
    ids = bank_identifiers(make_bank())
    (tmp_path / "log.txt").write_text("scored C1, 3 rows\n")
    assert [f.identifier for f in scan([tmp_path / "log.txt"], ids)] == ["C1"]


def test_ids_glued_to_words_are_found(tmp_path):
    (tmp_path / "a.md").write_text("file customer_C0000001.csv and C0000002-mortgage\n")
    assert sorted(f.identifier for f in scan([tmp_path], IDS)) == ["C0000001", "C0000002"]
