"""Moved to :mod:`perfkit._env`, the one run-metadata module; kept as an alias for old imports."""

from __future__ import annotations

from perfkit._env import VERSIONED_MODULES as VERSIONED
from perfkit._env import CommitLookup, cpu_model, utc_now_iso
from perfkit._env import machine_info as _machine_info


def machine_info() -> dict:
    """The light machine info of a profile (versions of the modules the program loaded)."""
    return _machine_info(light=True)


__all__ = ["VERSIONED", "CommitLookup", "cpu_model", "machine_info", "utc_now_iso"]
