"""Fixtures of the Python tests: the repository (its data/ folder, fetched by the command
line, and its release binary, built by the README's test command), and a fresh working folder
per test so that every run directory a test writes is its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def work(tmp_path, monkeypatch) -> Path:
    """A fresh working directory (runs/ and studies/ land in it)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def binary() -> Path:
    """The command line, built in release (``$MEANFIELD_BIN`` overrides)."""
    target = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    path = Path(os.environ.get("MEANFIELD_BIN", target / "release" / "experiments"))
    if not path.is_file():
        pytest.fail(f"{path} is missing: build it with `cargo build --release` first (the README's test command does)")
    return path


@pytest.fixture(scope="session")
def mnist_dir() -> Path:
    """The data folder holding MNIST (``experiments fetch mnist`` puts it in data/)."""
    data = ROOT / "data"
    if not (data / "mnist").is_dir():
        pytest.fail(f"MNIST is missing from {data}: run `cargo run --release -p experiments -- fetch mnist` first (.ci/run does)")
    return data
