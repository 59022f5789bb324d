"""How a page picks its language: the browser's (``navigator.language``) first, then a switch. The words
themselves live in ``domain.i18n``, the one table every layer reads."""

from __future__ import annotations

LANG_CHOICES: list[tuple[str, str]] = [("中文", "zh"), ("English", "en")]

# Runs in the browser on page load; its return value sets the language switch.
DETECT_LANG_JS = "() => ((navigator.language || 'en').toLowerCase().startsWith('zh') ? 'zh' : 'en')"

# Example prompts shown under the chat, in both languages whatever the switch says: shoppers mix them.
EXAMPLE_PROMPTS: list[str] = [
    "推荐一双 500 元以内的跑鞋",
    "我最近的订单到哪了？",
    "Recommend headphones under 800",
    "Compare your two best-rated coffee makers",
]
