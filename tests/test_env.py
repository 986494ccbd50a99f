"""Tests for gca_lab._env: one reading of yes/no text for environment flags and command-line values."""

from __future__ import annotations

import pytest

import gca_lab
from gca_lab._env import env_flag, parse_bool


@pytest.mark.parametrize("text", ["1", "true", "YES", " on "])
def test_true_values(text: str) -> None:
    assert parse_bool(text) is True


@pytest.mark.parametrize("text", ["0", "False", "no", "off", ""])
def test_false_values(text: str) -> None:
    assert parse_bool(text) is False


def test_anything_else_is_an_error_naming_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GCA_LAB_QUICK", "maybe")
    with pytest.raises(ValueError, match="GCA_LAB_QUICK must be one of .* got 'maybe'"):
        gca_lab.quick_mode()


def test_env_flag_default_and_quick_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GCA_LAB_TEST_FLAG", raising=False)
    assert env_flag("GCA_LAB_TEST_FLAG") is False and env_flag("GCA_LAB_TEST_FLAG", default=True) is True
    monkeypatch.setenv("GCA_LAB_QUICK", "1")
    assert gca_lab.quick_mode() is True
    monkeypatch.setenv("GCA_LAB_QUICK", "0")
    assert gca_lab.quick_mode() is False
