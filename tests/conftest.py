"""Shared fixtures: the repository root and small inputs the project makes itself."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def prompt_file() -> Path:
    return REPO / "resources" / "prompts.yaml"
