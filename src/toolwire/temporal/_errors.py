"""The one error only durable runs have: a step's data too large for the engine to keep."""

from __future__ import annotations

from .._errors import LimitExceeded, RunError

__all__ = ["PayloadTooLarge"]


class PayloadTooLarge(LimitExceeded):
    """A step's data would pass ``max_payload_bytes`` once encoded; the run ends here.

    ``what`` names the data (a turn's request, a response, the state carried to the next
    workflow run, the run's result); ``value`` is its encoded size and ``maximum`` the cap,
    both in bytes; ``limit`` is ``"max_payload_bytes"``. The transcript is attached when it
    fits under the cap itself.
    """

    def __init__(self, what: str, size: int, maximum: int) -> None:
        self.what = what
        self.limit = "max_payload_bytes"
        self.value = size
        self.maximum = maximum
        RunError.__init__(
            self,
            f"{what} is {size} bytes once encoded, over max_payload_bytes={maximum}: Temporal "
            f"keeps no payload over 2 MiB; keep tool results small (max_result_chars), or "
            f"store large data elsewhere and pass a reference",
        )
