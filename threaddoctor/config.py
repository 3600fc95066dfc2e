"""`[tool.threaddoctor]` in pyproject.toml: the defaults a project sets for scan and check.

The command line overrides every key. An unknown key is an error that names it, so a typo never
silently turns a check off."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from threaddoctor.errors import UsageError
from threaddoctor.findings import Severity

OUTPUT_FORMATS = ("text", "json", "sarif", "github", "junit")


class Config(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    select: list[str] = Field(default_factory=list)
    ignore: list[str] = Field(default_factory=list)
    severity: dict[str, Severity] = Field(default_factory=dict)  # rule code or name -> severity
    baseline: Path | None = None
    output_format: str | None = Field(default=None, alias="output-format")
    text_output: Path | None = Field(default=None, alias="text-output")
    json_output: Path | None = Field(default=None, alias="json-output")
    sarif_output: Path | None = Field(default=None, alias="sarif-output")
    junit_output: Path | None = Field(default=None, alias="junit-output")
    github_output: Path | None = Field(default=None, alias="github-output")
    exit_zero: bool = Field(default=False, alias="exit-zero")
    deep: bool = False
    source: Path | None = None  # the pyproject.toml it came from


def find_pyproject(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
        if (folder / ".git").exists():
            return None  # do not read a file above the repository
    return None


def load(start: Path | None = None) -> Config:
    path = find_pyproject((start or Path.cwd()).resolve())
    if path is None:
        return Config()
    try:
        table = tomllib.loads(path.read_text()).get("tool", {}).get("threaddoctor", {})
    except (OSError, tomllib.TOMLDecodeError) as e:
        raise UsageError(f"{path}: cannot read ({e})") from None
    try:
        config = Config.model_validate(table)
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(p) for p in err["loc"])
        if err["type"] == "extra_forbidden":
            raise UsageError(f"{path}: [tool.threaddoctor] has an unknown key {key!r}") from None
        raise UsageError(f"{path}: [tool.threaddoctor] {key}: {err['msg']}") from None
    if config.output_format and config.output_format not in OUTPUT_FORMATS:
        raise UsageError(f"{path}: [tool.threaddoctor] output-format must be one of {', '.join(OUTPUT_FORMATS)}")
    here = path.parent
    relative = {
        k: here / v
        for k, v in config.model_dump().items()
        if k.endswith(("_output", "baseline")) and isinstance(v, Path) and not v.is_absolute()
    }
    return config.model_copy(update={**relative, "source": path})
