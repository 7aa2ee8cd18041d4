"""Local worker processes: one thread each for numpy and polars, the command's own left as it was."""

from __future__ import annotations

import os
from concurrent.futures import wait

import pytest

from experiments import workers
from experiments.workers import SINGLE_THREAD_ENV, LocalPool
from tests.helpers.probe import threads


@pytest.fixture
def unset_env(monkeypatch):
    for var in SINGLE_THREAD_ENV:
        monkeypatch.delenv(var, raising=False)


def test_workers_run_single_threaded_and_the_command_keeps_its_setting(unset_env, monkeypatch):
    # Replaced after 2 tasks (the warm-up and one probe): the other probes run in a worker
    # spawned later, from this process's environment as it is during the sweep.
    monkeypatch.setattr(workers, "MAX_TASKS_PER_CHILD", 2)
    pool = LocalPool(1)
    try:
        assert not any(var in os.environ for var in SINGLE_THREAD_ENV)
        seen = [pool.executor.submit(threads).result(timeout=120) for _ in range(3)]
    finally:
        pool.close()
    first, second, third = seen
    assert first[0] != second[0] == third[0]  # the first worker was replaced
    assert [probe[1:] for probe in seen] == [("1", 1)] * 3
    assert not any(var in os.environ for var in SINGLE_THREAD_ENV)


def test_a_setting_of_the_user_is_kept(unset_env, monkeypatch):
    monkeypatch.setenv("POLARS_MAX_THREADS", "2")
    pool = LocalPool(1)
    try:
        _, env, used = pool.executor.submit(threads).result(timeout=120)
    finally:
        pool.close()
    assert (env, used) == ("2", 2)
    assert os.environ["POLARS_MAX_THREADS"] == "2"


def test_workers_that_reach_their_task_limit_are_replaced_while_tasks_wait(unset_env, monkeypatch):
    # Python's own executor (3.11 up to its fix for gh-115634) can fail to replace a worker that
    # exits at its task limit while tasks are queued, and then waits for ever: a long sweep hung.
    monkeypatch.setattr(workers, "MAX_TASKS_PER_CHILD", 2)
    pool = LocalPool(1)
    futures = [pool.executor.submit(threads) for _ in range(10)]
    _, waiting = wait(futures, timeout=60)
    if waiting:  # fail without waiting for the executor (pytest's exit then still would)
        pool.executor.shutdown(wait=False, cancel_futures=True)
        pytest.fail(f"a worker at its task limit was not replaced: {len(waiting)} of 10 tasks wait")
    pool.close()
    seen = [future.result() for future in futures]
    assert len({pid for pid, _, _ in seen}) >= 5  # every worker ran at most 2 tasks
