"""Where compiled loops are cached: a folder named by the sources, old ones removed."""

from __future__ import annotations

from pathlib import Path

from environments import compiled


def test_the_cache_folder_is_named_by_the_code_and_replaces_older_ones(tmp_path, monkeypatch):
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    older = tmp_path / "concession-lab-0123456789abcdef"
    (older / "sub").mkdir(parents=True)
    unrelated = tmp_path / "someone-else"
    unrelated.mkdir()
    folder = compiled.cache_dir()
    assert folder.parent == tmp_path and folder.is_dir()
    assert folder.name == f"concession-lab-{compiled._code_hash()}"
    assert not older.exists() and unrelated.exists()
    assert compiled.cache_dir() == folder  # the same code, the same folder


def test_the_hash_follows_every_source_file(tmp_path, monkeypatch):
    # A copy of the packages hashes alike; editing any one file changes the hash.
    for package in ("agents", "environments"):
        for path in (compiled._ROOT / package).rglob("*.py"):
            copy = tmp_path / path.relative_to(compiled._ROOT)
            copy.parent.mkdir(parents=True, exist_ok=True)
            copy.write_bytes(path.read_bytes())
    original = compiled._code_hash()
    monkeypatch.setattr(compiled, "_ROOT", tmp_path)
    assert compiled._code_hash() == original
    helper = Path(tmp_path / "agents" / "items.py")
    helper.write_text(helper.read_text() + "\n# edited\n")
    assert compiled._code_hash() != original
