"""Errors that end a command with exit status 2 and one line of explanation."""


class ThreadDoctorError(Exception):
    """Bad input or a refusal: reported as one line, exit status 2, nothing written."""


class InputError(ThreadDoctorError):
    """The input cannot be read: missing, not a database, malformed, unknown schema."""


class UsageError(ThreadDoctorError):
    """The command line asks for something that does not exist."""
