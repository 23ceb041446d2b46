"""Return values and exceptions become tool_result content."""

from __future__ import annotations

import base64
import dataclasses
import datetime
import io
import logging
from typing import Any

import pytest
from pydantic import BaseModel

from toolwire._errors import ToolError
from toolwire._tools import Context, ToolOutcome, tool
from toolwire._tools.results import cap_content, cut_text, sniff_image_type, to_content
from toolwire._wire.blocks import DocumentBlock, ImageBlock, TextBlock

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
JPEG = b"\xff\xd8\xff\xe0" + b"\x00" * 16
GIF = b"GIF89a" + b"\x00" * 16
WEBP = b"RIFF\x10\x00\x00\x00WEBPVP8 " + b"\x00" * 16


class Reading(BaseModel):
    city: str
    temp: float


@dataclasses.dataclass
class Pair:
    left: int
    right: list[str]


class FakeImage:
    """Quacks like a PIL image: ``mode``, ``format`` and ``save(fp, format=...)``."""

    mode = "RGB"

    def __init__(self, fmt: str | None) -> None:
        self.format = fmt
        self.saved_as: str | None = None

    def save(self, fp: io.BytesIO, format: str) -> None:
        self.saved_as = format
        fp.write({"PNG": PNG, "JPEG": JPEG, "GIF": GIF, "WEBP": WEBP}[format])


def test_text_none_and_json() -> None:
    assert to_content("plain text") == "plain text"
    assert to_content(None) is None
    assert to_content({"a": 1, "b": [1, 2]}) == '{"a":1,"b":[1,2]}'
    assert to_content([1, "x", None]) == '[1,"x",null]'
    assert to_content(3) == "3"
    assert to_content(2.5) == "2.5"
    assert to_content(True) == "true"
    assert to_content(Reading(city="Paris", temp=21.5)) == '{"city":"Paris","temp":21.5}'
    assert to_content(Pair(1, ["a"])) == '{"left":1,"right":["a"]}'
    assert to_content({"when": datetime.date(2025, 1, 2)}) == '{"when":"2025-01-02"}'
    assert to_content([Reading(city="A", temp=1)]) == '[{"city":"A","temp":1.0}]'


@pytest.mark.parametrize(
    ("data", "media_type"),
    [(PNG, "image/png"), (JPEG, "image/jpeg"), (GIF, "image/gif"), (WEBP, "image/webp")],
)
def test_bytes_become_image_blocks_with_the_sniffed_type(data: bytes, media_type: str) -> None:
    assert sniff_image_type(data) == media_type
    content = to_content(data)
    assert isinstance(content, list)
    (block,) = content
    assert isinstance(block, ImageBlock)
    assert block.to_wire() == {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": media_type,
            "data": base64.b64encode(data).decode(),
        },
    }


def test_bytes_that_are_no_image_are_refused() -> None:
    assert sniff_image_type(b"hello") is None
    with pytest.raises(TypeError, match="5 bytes that are not a PNG, JPEG, GIF or WEBP"):
        to_content(b"hello")


def test_image_objects_are_saved_in_their_format_or_png() -> None:
    jpeg = FakeImage("JPEG")
    content = to_content(jpeg)
    assert isinstance(content, list)
    assert isinstance(content[0], ImageBlock)
    assert content[0].source.to_wire()["media_type"] == "image/jpeg"
    assert jpeg.saved_as == "JPEG"
    unknown = FakeImage("BMP")
    to_content(unknown)
    assert unknown.saved_as == "PNG"


def test_content_blocks_as_given_and_mixed_lists() -> None:
    text = TextBlock(text="hello")
    doc = DocumentBlock.model_validate(
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "x"}}
    )
    assert to_content(text) == [text]
    assert to_content([text, doc]) == [text, doc]
    mixed = to_content(["caption", PNG, {"k": 1}])
    assert isinstance(mixed, list)
    assert [b.to_wire()["type"] for b in mixed] == ["text", "image", "text"]
    assert mixed[0] == TextBlock(text="caption")
    assert mixed[2] == TextBlock(text='{"k":1}')


def test_objects_with_no_json_form_are_refused() -> None:
    with pytest.raises(TypeError, match="returned a value of type object with no JSON form"):
        to_content(object())


def test_cut_text_keeps_head_and_tail_and_says_how_much_went() -> None:
    text = "H" * 500 + "M" * 1000 + "T" * 500
    cut = cut_text(text, 200)
    assert len(cut) <= 200
    head, _, rest = cut.partition("\n[... ")
    dropped_text, _, tail = rest.partition(" characters dropped ...]\n")
    assert head == "H" * len(head)
    assert tail == "T" * len(tail)
    assert len(head) > 50
    assert len(tail) > 50
    assert int(dropped_text) == len(text) - len(head) - len(tail)
    assert cut_text("short", 200) == "short"


def test_cap_content_shares_the_limit_between_text_blocks() -> None:
    blocks: Any = [TextBlock(text="a" * 3000), ImageBlock.model_validate(
        {"type": "image", "source": {"type": "url", "url": "https://example.com/x.png"}}
    ), TextBlock(text="b" * 1000)]  # fmt: skip
    capped = cap_content(blocks, 400)
    assert isinstance(capped, list)
    texts = [b.text for b in capped if isinstance(b, TextBlock)]
    assert sum(len(t) for t in texts) <= 400
    assert texts[0].startswith("a")
    assert texts[1].startswith("b")
    assert len(texts[0]) > len(texts[1])
    assert isinstance(capped[1], ImageBlock)
    assert blocks[0].text == "a" * 3000  # the original is untouched
    assert cap_content(blocks, None) is blocks


def ctx(tool_use_id: str = "toolu_1") -> Context[None]:
    return Context(deps=None, tool_use_id=tool_use_id)


@pytest.mark.anyio
async def test_run_success_and_empty_results() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    @tool
    async def nothing() -> None:
        """Nothing."""

    outcome = await add.run({"a": 2, "b": "3"}, ctx())
    assert outcome == ToolOutcome.success("toolu_1", "5")
    assert outcome.result.to_wire() == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": "5",
    }
    empty = await nothing.run({}, ctx("toolu_2"))
    assert empty.error is None
    assert empty.result.to_wire() == {"type": "tool_result", "tool_use_id": "toolu_2"}


@pytest.mark.anyio
async def test_run_caps_long_results() -> None:
    @tool(max_result_chars=100)
    def long() -> str:
        """Long."""
        return "x" * 1000

    @tool
    def also_long() -> str:
        """Long, capped by the caller's default."""
        return "y" * 1000

    outcome = await long.run({}, ctx(), max_result_chars=10_000)
    assert isinstance(outcome.result.content, str)
    assert len(outcome.result.content) <= 100
    assert "characters dropped" in outcome.result.content
    other = await also_long.run({}, ctx(), max_result_chars=50)
    assert isinstance(other.result.content, str)
    assert len(other.result.content) <= 50


@pytest.mark.anyio
async def test_tool_error_content_goes_to_the_model() -> None:
    @tool
    def refuse(flag: bool) -> str:
        """Refuse."""
        if flag:
            raise ToolError("City not found; try a nearby larger city.")
        raise ToolError(["see this", PNG])

    outcome = await refuse.run({"flag": True}, ctx())
    assert outcome.error == "tool_error"
    assert outcome.result.to_wire() == {
        "type": "tool_result",
        "tool_use_id": "toolu_1",
        "content": "City not found; try a nearby larger city.",
        "is_error": True,
    }
    blocks = await refuse.run({"flag": False}, ctx())
    assert isinstance(blocks.result.content, list)
    assert [b.to_wire()["type"] for b in blocks.result.content] == ["text", "image"]
    assert blocks.result.is_error is True


@pytest.mark.anyio
async def test_other_exceptions_show_type_and_message_and_log_the_traceback(
    caplog: pytest.LogCaptureFixture,
) -> None:
    @tool
    async def broken(n: int) -> int:
        """Broken."""
        raise KeyError(f"no item {n}")

    @tool
    def silent() -> None:
        """Raises with no message."""
        raise RuntimeError

    with caplog.at_level(logging.INFO, logger="toolwire"):
        outcome = await broken.run({"n": 7}, ctx())
    assert outcome.error == "exception"
    assert isinstance(outcome.exception, KeyError)
    assert outcome.result.content == "KeyError: 'no item 7'"
    assert outcome.result.is_error is True
    assert "Traceback" not in str(outcome.result.content)
    (record,) = [r for r in caplog.records if r.name == "toolwire"]
    assert record.exc_info is not None
    assert "broken" in record.getMessage()
    assert (await silent.run({}, ctx())).result.content == "RuntimeError"


@pytest.mark.anyio
async def test_a_result_with_no_faithful_form_is_an_exception_result() -> None:
    @tool
    def raw() -> bytes:
        """Returns text as bytes, by mistake."""
        return b"not an image"

    outcome = await raw.run({}, ctx())
    assert outcome.error == "exception"
    assert outcome.result.content == (
        "TypeError: returned 12 bytes that are not a PNG, JPEG, GIF or WEBP image; "
        "return str for text"
    )


@pytest.mark.anyio
async def test_validation_failure_is_an_error_result() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add."""
        return a + b

    outcome = await add.run({"a": "x"}, ctx())
    assert outcome.error == "validation"
    assert outcome.result.is_error is True
    assert outcome.result.content == (
        "Invalid input for add: a: expected an integer, got 'x'; b: missing required field"
    )
