"""The profile's versioned JSON (``profile.json``), read back by ``perfkit diff``."""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from perfkit.profiling.model import Profile


class JsonRenderer:
    """``Profile.to_dict()`` as indented strict JSON (NaN-free; call trees flat, any depth)."""

    name: ClassVar[str] = "json"
    file_name: ClassVar[str] = "profile.json"

    def render(self, profile: Profile) -> str:
        """The JSON text."""
        from perfkit.profiling.model import to_json

        return to_json(profile) + "\n"
