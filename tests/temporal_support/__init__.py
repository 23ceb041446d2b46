"""Helpers of the Temporal tests: a worker that runs in its own process."""
