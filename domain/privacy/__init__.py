"""Privacy, access control and abuse limits.

``masking`` (PII placeholders for prompts, logs and traces), ``crypto`` (PII encryption at rest, per-purpose
keys, keyed pseudonyms) and ``rotation`` (``shopguide keys rotate``), ``access`` (roles, principals, audit),
``tokens`` (signed, revocable widget tokens), ``staff_auth`` (argon2 staff accounts with lockout), ``ratelimit``
(per-caller rate and request-size limits), ``erasure`` (the store part of ``shopguide forget``; ``ui.erasure``
runs all of it).
"""
