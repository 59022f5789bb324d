"""Guardrails applied to every reply: grounding, no leaks, injection. ``guards`` holds the checks shared by
both modes; ``react`` wraps them as LangChain v1 agent middleware."""
