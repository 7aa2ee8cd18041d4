"""Limits: a run that would not fit in memory is refused before it starts, with the estimate;
long runs can keep agent snapshots every n steps instead of every step.
"""

from __future__ import annotations

import polars as pl
import pytest

from environments.config import ConfigError, load_config
from environments.limits import (
    MEMORY_ENV,
    available_memory,
    check_memory,
    estimate_memory,
    parse_size,
)
from experiments.runner import fit_workers, run_sweep
from experiments.spec import dumps_toml, load_spec
from tests.helpers.sweeps import tiny_spec, write_spec
from tests.reliability.faulty import assert_refused, cli

SMALL = {"seed": 1, "steps": 6, "population": {"n": 40}, "network": {"m": 2}}


def test_the_estimate_grows_with_what_costs_memory():
    base = estimate_memory(load_config(SMALL))
    bigger = {
        "population.n": {"population": {"n": 4000}},
        "network.m": {"network": {"m": 10}},
        "items.count": {"items": {"count": 30}},
        "steps": {"steps": 100_000},
        "gossip": {"reputation": {"gossip_prob": 0.5}},
        "referrals": {"reputation": {"referral_prob": 0.5}},
        "snapshots": {"output": {"agents_every": 1}},
    }
    for what, change in bigger.items():
        assert estimate_memory(load_config({**SMALL, **change})) > base, what
    # and it is an upper estimate of what this small run really takes (about 330 MiB with
    # Python, numba and the compiled loops)
    assert 330 * 2**20 < base < 600 * 2**20


def test_a_run_too_big_for_the_memory_available_is_refused_with_the_estimate(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    cfg = load_config({"population": {"n": 50_000_000}, "network": {"m": 3}})
    with pytest.raises(ConfigError) as err:
        check_memory(cfg, available=22 * 2**30)
    message = str(err.value)
    assert message.startswith("population.n = 50,000,000 and network.m = 3 needs about ")
    assert "GiB; this machine has 22 GiB available" in message
    assert check_memory(load_config(SMALL), available=22 * 2**30) < 22 * 2**30


def test_memory_available_reads_the_machine_and_can_be_overridden(monkeypatch):
    monkeypatch.delenv(MEMORY_ENV, raising=False)
    found = available_memory()
    assert found is None or found > 0
    monkeypatch.setenv(MEMORY_ENV, "64G")
    assert available_memory() == 64 * 2**30
    monkeypatch.setenv(MEMORY_ENV, "off")
    assert available_memory() is None
    assert parse_size("512M") == 512 * 2**20 and parse_size("1.5GiB") == int(1.5 * 2**30)
    with pytest.raises(ConfigError, match=MEMORY_ENV):
        parse_size("lots")


def test_run_and_sweep_refuse_a_run_that_does_not_fit_before_writing_anything(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(dumps_toml(SMALL))
    spec = write_spec(
        tmp_path / "s.toml", tiny_spec(base={"population": {"n": 40}, "network": {"m": 2}})
    )
    small = {MEMORY_ENV: "100M"}  # less than Python with numpy and polars loaded
    line = assert_refused(cli("run", str(config), "--out", str(tmp_path / "o"), env=small))
    assert "population.n = 40 and network.m = 2 needs about" in line
    assert f"{MEMORY_ENV} allows 100 MiB" in line
    line = assert_refused(
        cli("sweep", str(spec), "--out", str(tmp_path / "s"), "--no-progress", env=small)
    )
    assert line.startswith("error: point 0 (") and "needs about" in line
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.toml", "s.toml"]
    # the override is the way out when the estimate is too cautious
    ok = cli("run", str(config), "--out", str(tmp_path / "o"), env={MEMORY_ENV: "off"})
    assert ok.returncode == 0, ok.stderr


def test_local_workers_are_lowered_so_that_their_runs_fit_together():
    spec = load_spec(tiny_spec())
    notes: list[str] = []
    assert fit_workers(8, spec, notes, available=100 * spec.memory) == 8 and not notes
    assert fit_workers(8, spec, notes, available=3 * spec.memory + 1) == 3
    assert "--workers lowered from 8 to 3" in notes[0]
    assert fit_workers(8, spec, [], available=spec.memory // 2) == 1


def test_a_dask_cluster_whose_workers_are_too_small_is_refused_before_writing(tmp_path):
    distributed = pytest.importorskip("distributed")
    spec = load_spec(tiny_spec(), check_memory=False)
    with (
        distributed.LocalCluster(
            n_workers=1,
            threads_per_worker=1,
            processes=False,
            dashboard_address=None,
            memory_limit="150MiB",
        ) as cluster,
        pytest.raises(ConfigError, match="Dask workers have 150 MiB each"),
    ):
        run_sweep(spec, tmp_path / "r", scheduler=cluster.scheduler_address, progress=False)
    assert not (tmp_path / "r").exists()


def test_run_keeps_agent_snapshots_every_n_steps(tmp_path):
    config = tmp_path / "c.toml"
    config.write_text(dumps_toml({**SMALL, "steps": 8, "output": {"agents_every": 3}}))
    result = cli("run", str(config), "--out", str(tmp_path / "o"))
    assert result.returncode == 0, result.stderr
    agents = pl.read_parquet(tmp_path / "o" / "agents.parquet")
    assert agents.columns[0] == "step"
    # every 3 steps, and the end of the run
    assert agents.group_by("step").len().sort("step").rows() == [(3, 40), (6, 40), (8, 40)]
    # the last snapshot is the end state a run without snapshots writes
    config.write_text(dumps_toml({**SMALL, "steps": 8}))
    assert cli("run", str(config), "--out", str(tmp_path / "plain")).returncode == 0
    plain = pl.read_parquet(tmp_path / "plain" / "agents.parquet")
    assert "step" not in plain.columns
    assert agents.filter(pl.col("step") == 8).drop("step").equals(plain)


def test_the_sweep_agents_table_has_the_snapshots_with_a_step_column(tmp_path):
    raw = tiny_spec(
        replicates=1,
        base={
            "population": {"n": 24, "mix": {"strategic": 0.5, "reciprocal": 0.5}},
            "network": {"m": 2},
            "output": {"agents_every": 4},
        },
        sweep={"parameters": {"deal.continuation": [0.5, 0.9]}},
        pairs=None,
    )
    summary = run_sweep(load_spec(raw), tmp_path / "r", workers=0, progress=False)
    assert summary.exit_code == 0
    agents = pl.read_parquet(tmp_path / "r" / "agents.parquet")
    assert agents.columns[:2] == ["run_id", "step"]
    assert agents.group_by("run_id", "step").len()["len"].to_list() == [24] * 4
    assert sorted(set(agents["step"])) == [4, 8]
