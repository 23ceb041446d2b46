"""toolwire: decorated Python functions as tools, and the agent loop, over the Messages API."""
