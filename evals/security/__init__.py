"""The security suite: attacks (``attacks.jsonl``), a private shop with planted malicious content
(``world``), leak detectors (``detectors``) and the runner behind ``shopguide eval security``."""
