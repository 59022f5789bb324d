"""Guardrails applied to every reply: grounding, no leaks, injection. ``guards`` holds the checks shared by
both modes; ``agent.react.middleware`` wraps them as LangChain v1 agent middleware."""
