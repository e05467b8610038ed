"""Fixtures shared by the tests; helper functions are in capplan_helpers.py."""

from __future__ import annotations

import pytest


@pytest.fixture
def tmp_scenarios(tmp_path):
    """Write YAML texts to files in a temporary folder; returns a writer."""

    def write(name: str, text: str):
        path = tmp_path / name
        path.write_text(text)
        return path

    return write
