"""Sealed verdicts: how the grader tells a verdict of its own check from one a notebook forged.

The grader gives each grading kernel a secret key before any student code runs (through an
inherited pipe, never a file or the environment: see ``sandbox``). The kernel's verdict function
(``guard``) seals what it reports with an HMAC-SHA256 of that key; the grader, outside the
sandbox, accepts a verdict only when the seal, the exercise and a fresh per-check nonce all
match. Printing "Correct", raising nothing, or displaying a look-alike earns nothing.

A sealed verdict is one text: six fields joined by ``\\x1f`` (nonce, exercise, status,
message, findings joined by ``\\x1e``, "yes"/"no" for a solution seen), then the hex MAC.
"""

from __future__ import annotations

import hmac
import secrets

KEY_ENV = "COURSE_GRADING_VERDICT_KEY"   # the launcher's environment only, never the kernel's
KEY_FD_ENV = "COURSE_GRADING_KEY_FD"     # the kernel's: the pipe it reads the key from once
STATUSES = ("correct", "not correct", "fault", "tampered")


def new_key() -> str:
    return secrets.token_hex(32)


def new_nonce() -> str:
    return secrets.token_hex(16)


def unseal(key: bytes, text, nonce: str, exercise: str) -> dict | None:
    """The verdict as the grader accepts it, or None when it is not genuine."""
    if not isinstance(text, str) or text.count("\x1f") != 6:
        return None
    body, _, mac = text.rpartition("\x1f")
    expected = hmac.new(key, body.encode(), "sha256").hexdigest()
    if not hmac.compare_digest(expected, mac):
        return None
    got_nonce, got_exercise, status, message, findings, used = body.split("\x1f")
    if got_nonce != nonce or got_exercise != exercise or status not in STATUSES:
        return None
    return {"status": status, "message": message,
            "findings": [f for f in findings.split("\x1e") if f], "solution_used": used == "yes"}
