"""The agent loop and its public face: Agent, RunResult, Limits, Conversation."""
