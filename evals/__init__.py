"""The conversation evaluation suite of the agent (``shopguide eval agent``)."""
