"""Structured output: the run returns a validated pydantic object instead of text.

    python examples/structured_output.py

The agent reads an invoice e-mail, looks the vendor up with a tool, and answers with an
``Invoice``. The model answers through a ``final_answer`` tool whose input schema is the
``Invoice`` schema; an answer that does not validate goes back to it as an error result
naming each wrong field, and it tries again (``output_retries`` times at most). This example
is synchronous: ``run_sync`` runs the agent from plain code.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from _offline import MODEL, scripted_model
from pydantic import BaseModel, Field

from toolwire import Agent, ToolError, ToolResultBlock, tool
from toolwire.testing import reply, tool_call

EMAIL = """\
From: accounts@northwind-supplies.example
Subject: Invoice NW-2291

Hello, please find our invoice NW-2291 dated 3 March 2025 for 40 ergonomic chairs
at 189.50 EUR each, plus delivery (120 EUR). Payment within 30 days.
"""


class LineItem(BaseModel):
    """One line of an invoice."""

    description: str
    quantity: int = Field(ge=1)
    unit_price: Decimal


class Invoice(BaseModel):
    """An invoice, as the accounts system stores it."""

    number: str = Field(pattern=r"^[A-Z]{2}-\d+$")
    issued: date
    vendor: str
    vendor_vat_id: str
    currency: str = Field(min_length=3, max_length=3)
    lines: list[LineItem]
    due_in_days: int

    @property
    def total(self) -> Decimal:
        """The sum of the lines."""
        return sum((line.quantity * line.unit_price for line in self.lines), Decimal(0))


@tool
def lookup_vendor(email_domain: str) -> dict[str, str]:
    """Find a vendor in the accounts system by the domain it e-mails from.

    Args:
        email_domain: The sender's domain, e.g. "example.com".
    """
    vendors = {
        "northwind-supplies.example": {"name": "Northwind Supplies Ltd", "vat_id": "GB123456789"},
    }
    if email_domain not in vendors:
        raise ToolError(f"No vendor e-mails from {email_domain}.")
    return vendors[email_domain]


def main() -> None:
    agent = Agent(MODEL, tools=[lookup_vendor], system="You file invoices.", max_tokens=2048)
    result = agent.run_sync(f"File this invoice:\n\n{EMAIL}", output_type=Invoice)
    invoice = result.output
    assert isinstance(invoice, Invoice)

    # Every answer the model gave that did not validate, and what it was told.
    for message in result.messages:
        for block in message.blocks():
            if isinstance(block, ToolResultBlock) and block.is_error:
                print(f"rejected answer, fed back to the model: {block.content}")
    print(f"\n{type(invoice).__name__} after {result.turns} requests:")
    print(invoice.model_dump_json(indent=2))
    print(f"total: {invoice.total} {invoice.currency}")


SCRIPT = [
    reply(tool_call("lookup_vendor", {"email_domain": "northwind-supplies.example"})),
    # A first answer with two mistakes: a made-up date format, and the delivery's quantity.
    reply(
        tool_call(
            "final_answer",
            {
                "number": "NW-2291",
                "issued": "3 March 2025",
                "vendor": "Northwind Supplies Ltd",
                "vendor_vat_id": "GB123456789",
                "currency": "EUR",
                "lines": [
                    {"description": "Ergonomic chair", "quantity": 40, "unit_price": "189.50"},
                    {"description": "Delivery", "quantity": 0, "unit_price": "120"},
                ],
                "due_in_days": 30,
            },
        )
    ),
    reply(
        tool_call(
            "final_answer",
            {
                "number": "NW-2291",
                "issued": "2025-03-03",
                "vendor": "Northwind Supplies Ltd",
                "vendor_vat_id": "GB123456789",
                "currency": "EUR",
                "lines": [
                    {"description": "Ergonomic chair", "quantity": 40, "unit_price": "189.50"},
                    {"description": "Delivery", "quantity": 1, "unit_price": "120"},
                ],
                "due_in_days": 30,
            },
        )
    ),
]

if __name__ == "__main__":
    with scripted_model(SCRIPT):
        main()
