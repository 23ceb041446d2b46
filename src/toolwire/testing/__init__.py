"""A fake Messages API to test against: scripted replies, fault injection, protocol checks.

```python
from toolwire.testing import FakeMessagesAPI, Fault, reply, tool_call

api = FakeMessagesAPI([
    reply("Let me look.", tool_call("get_weather", {"city": "Paris"})),
    Fault.status(429, retry_after=0),                 # the client retries
    reply("It is 21°C."),
    lambda request: reply(f"{len(request.messages)} messages so far"),
])
client = httpx2.AsyncClient(transport=api.transport())  # in-process, streamed, no sockets
endpoint = api.endpoint()                                 # an Endpoint for that transport
with api.serve() as base_url:                             # or a real server on 127.0.0.1
    ...
api.requests        # every request: .request (parsed), .body, .headers, .path, .streamed
api.assert_valid()  # fails listing every protocol rule a request broke
```

One ASGI app (``api.app``) answers both ways: ``POST …/messages`` (any path ending in
``/messages``) and ``GET …/models``. Each ``/messages`` request takes the next script entry; a
``reply(...)`` message is sent as JSON, or as a real incremental SSE stream when the request
says ``"stream": true``. Every request is checked with ``check_request`` (see ``RULES``); a
request that breaks a rule is recorded in ``api.violations`` and answered with a 400 naming
the rule. A script that runs out answers 500 and records a violation too.

Scripts can live in JSON files (``FakeMessagesAPI.from_file``): a list whose items are
strings (text replies), message objects, or faults such as
``{"fault": "status", "status": 429, "retry_after": 0}``. ``serve_forever(port, path)`` serves
one from the command line, repeating the script when it runs out.
"""

from ._api import FAKE_API_KEY, FAKE_BASE_URL, FakeMessagesAPI, serve_forever
from ._app import DEFAULT_MODELS, MessagesApp
from ._faults import Fault
from ._load import load_script
from ._records import RecordedRequest
from ._rules import RULES, check_request
from ._script import reply, thinking, tool_call
from ._types import Reply, Responder, ScriptEntry

__all__ = [
    "DEFAULT_MODELS",
    "FAKE_API_KEY",
    "FAKE_BASE_URL",
    "RULES",
    "FakeMessagesAPI",
    "Fault",
    "MessagesApp",
    "RecordedRequest",
    "Reply",
    "Responder",
    "ScriptEntry",
    "check_request",
    "load_script",
    "reply",
    "serve_forever",
    "thinking",
    "tool_call",
]
