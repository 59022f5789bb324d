"""Shop text handed to the LLM is data, never instructions.

Review bodies, product descriptions, titles and search queries come from shoppers or merchants and may carry
prompt injections ("ignore previous instructions...", "忽略之前的指令..."). Every such string that a tool returns
goes through :func:`as_data`: control characters are dropped, instruction-like phrases are replaced by a visible
marker, tags that could close our wrapper are neutralised, the length is bounded, and the result is wrapped in
``<data>...</data>``. The agent's system prompt says that anything inside ``<data>`` is quoted shop content.
:func:`looks_like_injection` lets the agent's guardrail count or flag such text.
"""

from __future__ import annotations

import re
import unicodedata

from domain.privacy.masking import mask_text

REMOVED_MARK = "[removed instruction]"

# Phrases that try to change who the model is or what it should do. Deliberately broad: a false positive only
# blanks a few words of a review, a false negative lets shop content steer the agent.
_INJECTION_PATTERNS: tuple[str, ...] = (
    # English
    r"\b(?:please\s+)?(?:ignore|disregard|forget|override|bypass)\b[^.!?\n]{0,40}?"
    r"\b(?:instructions?|prompts?|rules?|guidelines?|context|messages?|system)\b",
    r"\byou\s+are\s+(?:now|no\s+longer)\b[^.!?\n]{0,60}",
    r"\b(?:act|behave|pretend|roleplay)\s+as\b[^.!?\n]{0,60}",
    r"\b(?:new|updated|real)\s+(?:instructions?|system\s+prompt|rules?)\b[^.!?\n]{0,60}",
    r"\b(?:reveal|print|show|repeat|output|leak)\b[^.!?\n]{0,30}?\b(?:system\s+prompt|instructions|prompt)\b",
    r"\b(?:call|use|invoke|run)\s+the\s+\w+\s+tool\b[^.!?\n]{0,60}",
    r"\b(?:recommend|say|tell\s+(?:the\s+)?(?:user|customer)s?)\b[^.!?\n]{0,40}?\b(?:only|always)\b[^.!?\n]{0,60}",
    r"^\s*(?:system|assistant|developer|user)\s*:",
    r"\b(?:jailbreak|dan\s+mode|developer\s+mode)\b",
    # Chinese
    r"(?:忽略|无视|忘记|忘掉|不要理会|跳过)[^。！？\n]{0,20}?(?:指令|指示|提示|规则|设定|要求|上下文|系统)",
    r"(?:你现在是|你不再是|从现在开始你|扮演)[^。！？\n]{0,40}",
    r"(?:新的|最新|真正的)(?:指令|指示|系统提示|规则)[^。！？\n]{0,40}",
    r"(?:输出|显示|泄露|告诉我|打印|重复)[^。！？\n]{0,20}?(?:系统提示|提示词|指令)",
    r"(?:调用|使用)[^。！？\n]{0,10}?工具[^。！？\n]{0,40}",
    r"(?:只|一定要|必须)(?:推荐|说|告诉)[^。！？\n]{0,40}",
    r"^\s*(?:系统|助手|开发者)\s*[:：]",
)
_INJECTION_RE = re.compile("|".join(f"(?:{p})" for p in _INJECTION_PATTERNS), re.IGNORECASE | re.MULTILINE)
# Markup that could end our wrapper early or pose as a chat-template role turn.
_TAG_RE = re.compile(r"</?\s*(?:data|system|assistant|user|tool|im_start|im_end|s)\b[^>]*>", re.IGNORECASE)
_TEMPLATE_RE = re.compile(r"<\|[^|>]{0,40}\|>|\[/?INST\]|```+")
_SPACES_RE = re.compile(r"[ \t\r\f\v]+")
_NEWLINES_RE = re.compile(r"\n{2,}")


def _drop_control(text: str) -> str:
    # Keep newlines; drop other control/format characters (zero-width joiners hide payloads from humans).
    return "".join(ch for ch in text if ch == "\n" or unicodedata.category(ch)[0] != "C")


def _raw_hit(text: str) -> bool:
    return bool(_INJECTION_RE.search(text) or _TAG_RE.search(text) or _TEMPLATE_RE.search(text))


def looks_like_injection(text: str | None) -> bool:
    """True when the text contains an instruction-like phrase or chat-template markup."""
    if not text:
        return False
    return _raw_hit(_drop_control(unicodedata.normalize("NFKC", text)))


def neutralise(text: str | None, max_chars: int = 300) -> str:
    """Plain text safe to quote to the LLM: no control chars, no role tags, instruction phrases replaced."""
    if not text:
        return ""
    cleaned = _drop_control(str(text))
    # Fullwidth/compatibility forms can hide a payload ("ｉｇｎｏｒｅ…"); normalise only when that reveals one,
    # so ordinary Chinese punctuation stays as written.
    folded = unicodedata.normalize("NFKC", cleaned)
    if folded != cleaned and _raw_hit(folded) and not _raw_hit(cleaned):
        cleaned = folded
    cleaned = _TAG_RE.sub(" ", cleaned)
    cleaned = _TEMPLATE_RE.sub(" ", cleaned)
    cleaned = _INJECTION_RE.sub(REMOVED_MARK, cleaned)
    cleaned = _SPACES_RE.sub(" ", cleaned)
    cleaned = _NEWLINES_RE.sub("\n", cleaned).strip()
    if len(cleaned) > max_chars:
        cleaned = cleaned[: max_chars - 1].rstrip() + "…"
    return cleaned


def as_data(text: str | None, max_chars: int = 300) -> str:
    """Neutralised text wrapped as ``<data>...</data>``: quoted shop content, never an instruction."""
    return f"<data>{neutralise(text, max_chars)}</data>"


def mask_pii(text: str) -> str:
    """Mask personal data in free text (another shopper's review may contain a phone number)."""
    return mask_text(text)


def quote_review(text: str | None, max_chars: int = 240) -> str:
    """A review body as data: PII masked, instructions neutralised, wrapped in ``<data>``."""
    return as_data(mask_pii(text or ""), max_chars)
