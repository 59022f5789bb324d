"""Privacy, access control and abuse limits.

``masking`` (PII placeholders for prompts, logs and traces), ``crypto`` (PII encryption at rest) and ``rotation``
(``shopguide keys rotate``), ``access`` (roles, principals, audit), ``tokens`` (signed widget tokens),
``ratelimit`` (per-session rate and request-size limits), ``erasure`` (``shopguide forget``).
"""
