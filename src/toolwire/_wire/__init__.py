"""The Messages protocol as pydantic models. No I/O."""
