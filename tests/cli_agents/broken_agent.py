"""A module that fails while it loads."""

raise RuntimeError("the database is not configured")
