"""The demo shop: a deterministic, bilingual synthetic shop written as files, plus the hidden truth of its next year."""

from domain.demo.generator import FILE_NAMES, KIND_ORDER, DemoManifest, generate_demo_shop

__all__ = ["FILE_NAMES", "KIND_ORDER", "DemoManifest", "generate_demo_shop"]
