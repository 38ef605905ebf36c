"""Every setting is documented: the README's configuration table is what `Settings.describe()` says."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from livedesk.config import Settings

README = Path(__file__).resolve().parents[1] / "README.md"
ROW = re.compile(r"\| `(?P<variable>LIVEDESK_\w+)` \| `(?P<default>[^`]*)` \| (?P<meaning>.*) \|")


def documented() -> dict[str, tuple[str, str]]:
    """The README's configuration table as written: variable -> (default, meaning)."""
    section = README.read_text(encoding="utf-8").split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    body = [line for line in section.splitlines() if line.startswith("|")][2:]  # after the head and its rule
    rows = [ROW.fullmatch(line) for line in body]
    assert all(rows), f"rows not of the form | `VARIABLE` | `default` | meaning |: {body}"
    return {m["variable"]: (m["default"], m["meaning"]) for m in rows if m}


def table(rows: list[tuple[str, str, str]]) -> str:
    """The configuration table for the README."""
    head = ["| variable | default | meaning |", "| --- | --- | --- |"]
    return "\n".join(head + [f"| `{variable}` | `{default}` | {meaning} |" for variable, default, meaning in rows])


def test_every_setting_is_in_the_readme_with_its_default_and_help() -> None:
    described = Settings.describe()
    assert documented() == {variable: (default, meaning) for variable, default, meaning in described}, (
        "README.md's configuration table differs from Settings.describe(); it should read:\n" + table(described)
    )


def test_every_field_is_described_once_under_its_variable() -> None:
    variables = [variable for variable, _default, _meaning in Settings.describe()]
    assert len(set(variables)) == len(variables) == len(fields(Settings))
    assert all(re.fullmatch(r"LIVEDESK_[A-Z_]+", v) for v in variables)
    # A table cell cannot hold a pipe or a line break; the README renders each help on one row.
    assert not any(set(meaning) & {"|", "\n"} for _variable, _default, meaning in Settings.describe())
