"""`concession validate`, as a user meets it."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from experiments.cli import app

runner = CliRunner()


def test_validate_exact_prints_the_table_and_writes_it(tmp_path):
    out = tmp_path / "validation"
    result = runner.invoke(
        app, ["validate", "--only", "exact", "--out", str(out), "--workers", "0"]
    )
    assert result.exit_code == 0, result.output
    assert "donation game" in result.output and "within tolerance?" in result.output
    assert "13 of 13 within tolerance" in result.output
    for name in ("table.md", "table.csv", "results.json"):
        assert (out / name).is_file()
    table = (out / "table.md").read_text()
    assert table.startswith("| result | setup | theory | measured | within tolerance? |")
    payload = json.loads((out / "results.json").read_text())
    assert payload["size"] == "quick" and len(payload["rows"]) == 13


def test_quick_and_full_exclude_each_other(tmp_path):
    result = runner.invoke(app, ["validate", "--quick", "--full", "--out", str(tmp_path / "v")])
    assert result.exit_code == 2
    assert "exclude each other" in result.stderr
    assert not (tmp_path / "v").exists()


def test_an_unknown_part_is_one_clear_line(tmp_path):
    result = runner.invoke(app, ["validate", "--only", "exact,nework", "--out", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "'nework'" in lines[0] and "network" in lines[0]


def test_out_must_be_a_folder(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("x")
    result = runner.invoke(app, ["validate", "--only", "exact", "--out", str(path)])
    assert result.exit_code == 2
    assert "is a file" in result.stderr
