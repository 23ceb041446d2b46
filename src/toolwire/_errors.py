"""Every exception toolwire raises.

```
ToolwireError
├── ConfigError                 a setting is missing, malformed or conflicts with another
├── RequestParameterError       a request the protocol would reject, caught before sending
├── ToolDefinitionError         a function cannot become a tool (found at decoration time)
├── ToolError                   raised by a tool to send the model an is_error result
├── APIError                    anything that went wrong talking to the endpoint
│   ├── APIConnectionError        no response: refused, reset, DNS, TLS
│   │   └── APITimeoutError         the endpoint did not answer in time
│   ├── APIResponseError          the response is not a valid Messages response
│   │   ├── StreamIncompleteError   the stream ended before message_stop
│   │   ├── ToolInputJSONError      a tool_use block's streamed input is not valid JSON
│   │   └── ResponseTooLargeError   the body or one event passed the configured cap
│   └── APIStatusError            the endpoint answered with an error (HTTP or a mid-stream event)
│       ├── InvalidRequestError       400 invalid_request_error
│       ├── AuthenticationError       401 authentication_error
│       ├── BillingError              402 billing_error
│       ├── PermissionDeniedError     403 permission_error
│       ├── NotFoundError             404 not_found_error
│       ├── ConflictError             409 conflict (retried)
│       ├── RequestTooLargeError      413 request_too_large
│       ├── RateLimitError            429 rate_limit_error
│       ├── InternalServerError       500 api_error, and any other 5xx
│       ├── GatewayTimeoutError       504 timeout_error
│       └── OverloadedError           529 overloaded_error
└── RunError                    a run ended without an answer (transcript and usage attached)
    ├── LimitExceeded             a configured limit (turns, tool calls, tokens, time) was reached
    ├── MaxTokensReached          the response was cut by max_tokens
    ├── RefusalError              the model refused (stop_reason "refusal")
    ├── ContextWindowExceeded     the model's context window is full
    ├── UnexpectedStopReason      a stop_reason this library does not know
    ├── OutputValidationError     structured output stayed invalid after its retries
    ├── ToolRetriesExceeded       a tool's input stayed invalid after its retries
    └── ToolAborted               a tool raised an exception the policy says ends the run
```

Every ``ToolwireError`` can carry ``transcript`` and ``usage``: a run that fails attaches what it
had built, so a worker can persist it and resume. Messages never contain secrets.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._wire.messages import MessageParam, Usage

__all__ = [
    "ToolAborted",
    "ToolRetriesExceeded",
    "OutputValidationError",
    "UnexpectedStopReason",
    "ContextWindowExceeded",
    "RefusalError",
    "MaxTokensReached",
    "StopReasonError",
    "LimitExceeded",
    "APIConnectionError",
    "APIError",
    "APIResponseError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BillingError",
    "ConfigError",
    "ConflictError",
    "GatewayTimeoutError",
    "InternalServerError",
    "InvalidRequestError",
    "NotFoundError",
    "OverloadedError",
    "PermissionDeniedError",
    "RateLimitError",
    "RequestParameterError",
    "RequestTooLargeError",
    "ResponseTooLargeError",
    "RunError",
    "StreamIncompleteError",
    "ToolDefinitionError",
    "ToolError",
    "ToolInputJSONError",
    "ToolwireError",
]


class ToolwireError(Exception):
    """Base of every toolwire exception."""

    transcript: list[MessageParam] | None = None
    usage: Usage | None = None

    def attach(self, transcript: list[MessageParam], usage: Usage) -> None:
        """Record the run's transcript and usage at the moment this error ended it."""
        self.transcript = list(transcript)
        self.usage = usage

    def redact(self, secrets: Iterable[str]) -> None:
        """Replace each of ``secrets`` with ``[redacted]`` in the message and text attributes.

        The client and the run call it on every error they raise: a server can echo a
        credential back anywhere (an error message, a request id, a stop reason).
        """
        found = [s for s in secrets if s]
        if not found:
            return

        def clean(value: Any) -> Any:
            if isinstance(value, str):
                for secret in found:
                    value = value.replace(secret, "[redacted]")
            return value

        self.args = tuple(clean(arg) for arg in self.args)
        for name, value in list(vars(self).items()):
            if isinstance(value, str):
                setattr(self, name, clean(value))


class ConfigError(ToolwireError, ValueError):
    """A setting is missing, malformed or conflicts with another; the message names it."""

    def __init__(self, setting: str, problem: str) -> None:
        self.setting = setting
        self.problem = problem
        super().__init__(f"{setting}: {problem}")


class RequestParameterError(ToolwireError, ValueError):
    """A request parameter the protocol would reject; raised before anything is sent."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{name} {why}" for name, why in problems))


class ToolDefinitionError(ToolwireError, TypeError):
    """A function cannot become a tool; the message names the function and the parameter."""


class ToolError(ToolwireError):
    """Raise inside a tool to answer the model with an ``is_error`` result of your choosing.

    ``content`` is the text (or list of content blocks) the model receives.
    """

    def __init__(self, content: str | list[Any]) -> None:
        self.content = content
        super().__init__(content if isinstance(content, str) else "tool error with content blocks")


class APIError(ToolwireError):
    """Anything that went wrong talking to the endpoint."""


class APIConnectionError(APIError):
    """No response arrived: the connection was refused, reset or could not be made."""


class APITimeoutError(APIConnectionError):
    """The endpoint did not answer within the timeout."""


class APIResponseError(APIError):
    """The endpoint answered, but not with a valid Messages response."""

    def __init__(self, message: str, *, request_id: str | None = None) -> None:
        self.request_id = request_id
        super().__init__(message)


class StreamIncompleteError(APIResponseError):
    """A streamed response ended before ``message_stop``."""


class ToolInputJSONError(APIResponseError):
    """A tool_use block's streamed input did not form valid JSON."""


class ResponseTooLargeError(APIResponseError):
    """A response body or one stream event was larger than the configured cap."""


class APIStatusError(APIError):
    """The endpoint answered with an error, as an HTTP status or a mid-stream ``error`` event."""

    status_code: int = 0
    error_type: str = ""

    def __init__(
        self,
        message: str,
        *,
        status_code: int,
        error_type: str,
        request_id: str | None = None,
        body: Any = None,
        retry_after: float | None = None,
        retryable: bool | None = None,
    ) -> None:
        self.message = message
        #: Whether another attempt may succeed (408, 409, 429, 5xx, 529 unless the server said no).
        self.retryable = (
            retryable
            if retryable is not None
            else status_code in (408, 409, 429) or status_code >= 500
        )
        self.status_code = status_code
        self.error_type = error_type
        self.request_id = request_id
        self.body = body
        self.retry_after = retry_after
        rid = f" (request-id {request_id})" if request_id else ""
        super().__init__(f"{status_code} {error_type}: {message}{rid}")


class InvalidRequestError(APIStatusError):
    """400 ``invalid_request_error``: the request's format or content is wrong."""


class AuthenticationError(APIStatusError):
    """401 ``authentication_error``: the API key or token is missing or wrong."""


class BillingError(APIStatusError):
    """402 ``billing_error``: the account cannot pay for the request."""


class PermissionDeniedError(APIStatusError):
    """403 ``permission_error``: the key may not use this resource."""


class NotFoundError(APIStatusError):
    """404 ``not_found_error``: wrong URL or model name."""


class ConflictError(APIStatusError):
    """409: a conflicting request; retried."""


class RequestTooLargeError(APIStatusError):
    """413 ``request_too_large``: the request is over the endpoint's size limit."""


class RateLimitError(APIStatusError):
    """429 ``rate_limit_error``: too many requests or tokens; retried, honouring retry-after."""


class InternalServerError(APIStatusError):
    """500 ``api_error`` and any other 5xx: the endpoint failed; retried."""


class GatewayTimeoutError(APIStatusError):
    """504 ``timeout_error``: the endpoint timed out while processing; retried."""


class OverloadedError(APIStatusError):
    """529 ``overloaded_error``: the endpoint is overloaded; retried."""


class RunError(ToolwireError):
    """A run ended without an answer; ``transcript`` and ``usage`` hold what it had."""


class LimitExceeded(RunError):
    """A configured limit was reached; ``limit`` names it, ``value`` is what was reached."""

    def __init__(self, limit: str, value: float, maximum: float) -> None:
        self.limit = limit
        self.value = value
        self.maximum = maximum
        super().__init__(f"run limit {limit} reached: {value:g} of at most {maximum:g}")


class StopReasonError(RunError):
    """A response's stop reason ends the run without an answer; ``message`` is that response."""

    def __init__(self, text: str, message: Any = None) -> None:
        self.message = message
        super().__init__(text)


class MaxTokensReached(StopReasonError):
    """The response hit ``max_tokens``; ``cut_tool_uses`` names tool calls that were not run."""

    def __init__(self, text: str, message: Any = None, cut_tool_uses: list[str] | None = None):
        self.cut_tool_uses = cut_tool_uses or []
        super().__init__(text, message)


class RefusalError(StopReasonError):
    """The model declined to answer (stop_reason ``refusal``); no tool was run."""


class ContextWindowExceeded(StopReasonError):
    """The model's context window is full (stop_reason ``model_context_window_exceeded``)."""


class UnexpectedStopReason(StopReasonError):
    """A stop reason this library does not know; no tool was run. ``stop_reason`` holds it."""


class OutputValidationError(RunError):
    """The structured output stayed invalid after its retry budget; the last problem is named."""


class ToolRetriesExceeded(RunError):
    """A tool's input failed validation more often than its retry budget allows."""


class ToolAborted(RunError):
    """A tool raised an exception that the tool policy says ends the run (see ``__cause__``)."""


_BY_TYPE: dict[str, type[APIStatusError]] = {
    "invalid_request_error": InvalidRequestError,
    "authentication_error": AuthenticationError,
    "billing_error": BillingError,
    "permission_error": PermissionDeniedError,
    "not_found_error": NotFoundError,
    "request_too_large": RequestTooLargeError,
    "rate_limit_error": RateLimitError,
    "api_error": InternalServerError,
    "timeout_error": GatewayTimeoutError,
    "overloaded_error": OverloadedError,
}
_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: InvalidRequestError,
    401: AuthenticationError,
    402: BillingError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    413: RequestTooLargeError,
    429: RateLimitError,
    504: GatewayTimeoutError,
    529: OverloadedError,
}
ERROR_TYPE_STATUS: dict[str, int] = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
"""The HTTP status the real API pairs with each error type."""


def status_error(
    *,
    status_code: int | None,
    error_type: str | None,
    message: str,
    request_id: str | None = None,
    body: Any = None,
    retry_after: float | None = None,
    retryable: bool | None = None,
) -> APIStatusError:
    """The typed error for an HTTP error status or an error object (``{"type", "message"}``).

    The HTTP status decides when it is an error status; a body's ``error.type`` decides otherwise
    (a mid-stream event, or a 200 whose body is ``{"type": "error"}``).
    """
    cls: type[APIStatusError] | None = None
    if status_code is not None and status_code >= 400:
        cls = _BY_STATUS.get(status_code)
        if cls is None and status_code >= 500:
            cls = InternalServerError
    if cls is None and error_type:
        cls = _BY_TYPE.get(error_type)
    if cls is None:
        cls = (
            InvalidRequestError
            if status_code is not None and status_code < 500
            else InternalServerError
        )
    if status_code is None or status_code < 400:
        status_code = ERROR_TYPE_STATUS.get(error_type or "", 500)
    return cls(
        message,
        status_code=status_code,
        error_type=error_type or "error",
        request_id=request_id,
        body=body,
        retry_after=retry_after,
        retryable=retryable,
    )
