"""The profile's versioned JSON (``profile.json``), read back by ``perfkit diff``."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from perfkit.profiling.model import Profile


class JsonRenderer:
    """``Profile.to_dict()`` as indented JSON (NaN-free)."""

    name: ClassVar[str] = "json"
    file_name: ClassVar[str] = "profile.json"

    def render(self, profile: Profile) -> str:
        """The JSON text."""
        return json.dumps(profile.to_dict(), indent=1, allow_nan=False) + "\n"
