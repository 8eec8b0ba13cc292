"""The repair workers: a deadline, a memory cap, replacement, fork and shutdown (issue 16, 2).

Real worker processes (``python -m geosite.engines.repair_pool``), each pool of the test's own.
"""

from __future__ import annotations

import os
import time

import numpy as np
import pytest
import shapely

from geosite.engines.repair_pool import RepairFailed, RepairPool


def _ring(n: int, seed: int = 3) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random points as one ring: about n²/8 self-intersections."""
    coords = np.random.default_rng(seed).random((n, 2)) * 100
    return coords, np.array([0, n], dtype=np.int64)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_repairs_and_keeps_its_worker() -> None:
    pool = RepairPool(max_workers=1)
    try:
        bowtie = np.array([[0, 0], [0, 2], [2, 0], [2, 2]], dtype=float)
        shape = shapely.from_wkb(pool.repair(bowtie, np.array([0, 4]), 30))
        assert shape.geom_type == "MultiPolygon" and shape.area == pytest.approx(2)
        (pid,) = pool.workers()
        pool.repair(bowtie, np.array([0, 4]), 30)
        assert pool.workers() == [pid]
    finally:
        pool.shutdown()


def test_a_late_worker_is_killed_and_replaced() -> None:
    pool = RepairPool(max_workers=1)
    try:
        pool.repair(*_ring(10), 30)  # started
        (first,) = pool.workers()
        started = time.monotonic()
        with pytest.raises(RepairFailed) as failed:
            pool.repair(*_ring(3000), 0.3)  # minutes of work
        assert failed.value.reason == "time"
        assert time.monotonic() - started < 2
        assert _gone(first)
        deadline = time.monotonic() + 30
        while not pool.workers() and time.monotonic() < deadline:
            time.sleep(0.05)  # the replacement starts in the background
        (second,) = pool.workers()
        assert second != first
        pool.repair(*_ring(10), 30)
    finally:
        pool.shutdown()


def test_memory_is_capped() -> None:
    pool = RepairPool(max_workers=1, memory_cap=16 << 20)
    try:
        with pytest.raises(RepairFailed) as failed:
            pool.repair(*_ring(2000), 60)
        assert failed.value.reason == "memory"
        # The next repair gets a fresh worker.
        bowtie = np.array([[0, 0], [0, 2], [2, 0], [2, 2]], dtype=float)
        assert shapely.from_wkb(pool.repair(bowtie, np.array([0, 4]), 30)).area > 0
    finally:
        pool.shutdown()


def test_a_forked_child_leaves_the_parents_workers_alone() -> None:
    pool = RepairPool(max_workers=1)
    try:
        pool.repair(*_ring(10), 30)
        (pid,) = pool.workers()
        child = os.fork()
        if child == 0:  # the child: no workers of its own, and it ends none
            code = 0 if pool.workers() == [] else 1
            pool.shutdown()
            os._exit(code)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        assert pool.workers() == [pid] and not _gone(pid)
        pool.repair(*_ring(10), 30)
    finally:
        pool.shutdown()
    assert _gone(pid)
