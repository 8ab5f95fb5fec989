"""One exception root; each subclass carries the exit code the CLI returns for it.

The codes are part of the interface (see the README's exit-code table and the contract):
0 ok, 1 the job failed, 2 usage or configuration, 3 invalid input, 4 outcome known but Port
could not be told, 5 webhook signature rejected.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_INVALID_INPUT = 3
EXIT_PORT_UNREACHABLE = 4
EXIT_SIGNATURE = 5


class PortGitopsError(Exception):
    """Root of every error the tool raises on purpose. The message is one line for the user."""

    exit_code = EXIT_FAILED

    def __init__(self, message: str) -> None:
        # One line on stderr: fold any newline a library put into the text.
        super().__init__(" ".join(str(message).split()))

    @property
    def message(self) -> str:
        return str(self.args[0])


class UsageError(PortGitopsError):
    """Bad flags, missing or contradictory configuration (exit 2)."""

    exit_code = EXIT_USAGE


class InvalidInputError(PortGitopsError):
    """The payload, an identifier, an enum value or an existing file is not acceptable (exit 3)."""

    exit_code = EXIT_INVALID_INPUT

    def __init__(self, message: str, *, field: str | None = None) -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class LimitExceededError(InvalidInputError):
    """An input is larger or deeper than its documented bound (exit 3): refused before it can cost more."""


class JobFailedError(PortGitopsError):
    """The job itself failed, e.g. Bitbucket refused a write or retries ran out (exit 1)."""

    exit_code = EXIT_FAILED


class PortReportError(PortGitopsError):
    """The outcome is known but Port could not be told after all retries (exit 4)."""

    exit_code = EXIT_PORT_UNREACHABLE


class SignatureError(PortGitopsError):
    """The webhook signature is missing, malformed, expired or does not match (exit 5)."""

    exit_code = EXIT_SIGNATURE
