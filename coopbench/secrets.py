"""Keeping API keys out of everything a job stores.

Keys reach litellm only through the workers' environment. An agent config may not hold
anything named like a secret (it is stored with the run), and everything a job stores
(trajectories, patches, errors, results) has the values of secret-named environment
variables replaced, in case a provider's error message, a response or an agent's command
echoes one.
"""

import json
import os
import re

# Names like these hold credentials. `*_per_token` (prices) and `*_tokens` (counts such as
# max_tokens) are ordinary settings, hence the exclusions.
_SECRET_NAME = re.compile(r"api_?key|secret|passw|credential|authorization|(^|_)(token|key)$",
                          re.IGNORECASE)
_NOT_SECRET_NAME = re.compile(r"_per_token$|tokens$", re.IGNORECASE)
MIN_SECRET_CHARS = 8  # shorter values ("1", "true") would blank out ordinary text
REDACTED = "<redacted>"


def looks_secret(name: str) -> bool:
    return bool(_SECRET_NAME.search(name)) and not _NOT_SECRET_NAME.search(name)


def secret_keys(value: object, path: str = "") -> list[str]:
    """Dotted paths of the keys in a nested config whose names look like secrets."""
    found = []
    if isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}{key}"
            if looks_secret(str(key)):
                found.append(name)
            found += secret_keys(item, f"{name}.")
    elif isinstance(value, list):
        for item in value:
            found += secret_keys(item, path)
    return found


def environment_secrets() -> list[str]:
    return [value for name, value in os.environ.items()
            if looks_secret(name) and len(value) >= MIN_SECRET_CHARS]


def redact(value):
    """``value`` made JSON-clean (as ``json.dumps(default=str)``) with secrets replaced."""
    text = json.dumps(value, default=str)
    for secret in environment_secrets():
        text = text.replace(json.dumps(secret)[1:-1], REDACTED)
    return json.loads(text)


def redact_text(text: str) -> str:
    for secret in environment_secrets():
        text = text.replace(secret, REDACTED)
    return text


def redact_files(files: dict[str, str]) -> dict[str, str]:
    return {name: redact_text(text) for name, text in files.items()}
