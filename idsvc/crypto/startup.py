"""What the service and every command that opens the data check before anything else.

A deployment that starts on a default password, an exposed key file or a key the
passphrase does not open would keep running that way, or fail at the first card it
signs; refusing at start says what to fix while nobody depends on the service yet.
"""

from __future__ import annotations

import logging

from idsvc.config import SECRET_MIN_LENGTH, Settings, unsafe_settings
from idsvc.crypto import keystore
from idsvc.crypto.keyfiles import KeyFileError, read_secret, use_passphrase
from idsvc.crypto.strength import weak_secret

log = logging.getLogger("idsvc")


class StartupRefused(RuntimeError):
    """Settings or key files that must not run, each problem on its own line."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("idsvc refuses to start:\n" + "\n".join(f"  - {p}" for p in problems))


def key_passphrase(settings: Settings) -> bytes | None:
    """The passphrase from IDSVC_KEY_PASSPHRASE or the owner-only IDSVC_KEY_PASSPHRASE_FILE."""
    if settings.key_passphrase is not None:
        text = settings.key_passphrase.get_secret_value()
    elif settings.key_passphrase_file is not None:
        text = read_secret(settings.key_passphrase_file).decode().rstrip("\r\n")
    else:
        return None
    if not text:
        raise KeyFileError("The key passphrase is empty.")
    return text.encode()


def prepare(settings: Settings, *, require_encrypted_keys: bool = True) -> None:
    """Refuse unsafe settings and key files, then make the passphrase the keys' own.

    Outside demo mode private key files must be passphrase-encrypted unless
    IDSVC_ALLOW_UNENCRYPTED_KEYS says they are protected otherwise (then it is logged);
    `idsvc keys encrypt`, which fixes that, passes `require_encrypted_keys=False`.
    """
    problems = unsafe_settings(settings)
    passphrase = None
    try:
        passphrase = key_passphrase(settings)
    except KeyFileError as exc:
        problems.append(f"IDSVC_KEY_PASSPHRASE_FILE: {exc}")
    if passphrase is not None and settings.key_passphrase_file and not settings.demo:
        reason = weak_secret(passphrase.decode(), min_length=SECRET_MIN_LENGTH)
        if reason:
            problems.append(f"The passphrase in IDSVC_KEY_PASSPHRASE_FILE is {reason}.")
    if problems:
        raise StartupRefused(problems)
    use_passphrase(settings.keys_dir, passphrase)
    try:
        report = keystore.inspect(settings.keys_dir)
    except KeyFileError as exc:
        raise StartupRefused([str(exc)]) from exc
    if not report.unencrypted or settings.demo:
        return
    names = ", ".join(path.name for path in report.unencrypted)
    if settings.allow_unencrypted_keys:
        log.warning("private key files are not encrypted (IDSVC_ALLOW_UNENCRYPTED_KEYS): %s",
                    names)
    elif require_encrypted_keys:
        raise StartupRefused([
            f"Private key files in {settings.keys_dir} are not encrypted ({names}): set "
            "IDSVC_KEY_PASSPHRASE or IDSVC_KEY_PASSPHRASE_FILE and run `idsvc keys encrypt` "
            "(or set IDSVC_ALLOW_UNENCRYPTED_KEYS=true if the keys are protected otherwise)."])

