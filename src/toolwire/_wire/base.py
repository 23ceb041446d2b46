"""The base every protocol model shares: unknown fields are kept and sent back unchanged."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class WireModel(BaseModel):
    """A protocol object: extra fields from the server are kept, and dumps omit what was never set.

    Dumping with ``exclude_unset`` is what makes a response round-trip field for field: a field the
    server left out stays out, one it sent as ``null`` stays ``null``. Fields listed in
    ``_always_sent`` (the ``type`` discriminators) count as set even when they took their default.
    """

    model_config = ConfigDict(extra="allow", populate_by_name=True, validate_assignment=False)

    _always_sent: ClassVar[tuple[str, ...]] = ()

    def model_post_init(self, context: Any, /) -> None:
        if self._always_sent:
            self.__pydantic_fields_set__.update(self._always_sent)

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready dict this object is sent as."""
        return self.model_dump(mode="json", exclude_unset=True, by_alias=True)
