"""React mode: LangChain v1 ``create_agent`` with the shop's tools and the guardrail middleware."""
