"""The package version, importable without importing the package's modules."""

__version__ = "0.1.0"


def version_line() -> str:
    """What `threaddoctor --version` prints."""
    return f"threaddoctor {__version__}"
