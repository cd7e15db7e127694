"""Shared test setup: no test may reach the network, `datasets` caches go to a temporary folder, and tests marked
``slow`` run only when ``PARALLELBENCH_SLOW=1``."""

from __future__ import annotations

import os

import pytest

#: Set to 1 to run the tests marked ``@pytest.mark.slow`` (e.g. gold answers checked at scale).
SLOW_ENV = "PARALLELBENCH_SLOW"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if os.environ.get(SLOW_ENV) == "1":
        return
    skip = pytest.mark.skip(reason=f"slow: set {SLOW_ENV}=1 to run")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path_factory.getbasetemp() / "hf_home"))
