"""The shop tools: one plain typed function per file over a ShopContext; LangChain wrappers in tools.registry."""
