"""Random public identifiers with a readable prefix (job_…, upl_…): never integer ids in URLs."""

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyz"


def random_id(prefix: str, length: int = 20) -> str:
    return prefix + "_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


# Module-level functions so that migrations can reference them as field defaults.
def new_workspace_id() -> str:
    return random_id("ws")


def new_key_id() -> str:
    return random_id("key")


def new_upload_id() -> str:
    return random_id("upl")


def new_job_id() -> str:
    return random_id("job")


def new_output_id() -> str:
    return random_id("out")


def new_mix_id() -> str:
    return random_id("mix")
