"""A Dockerfile reader for the tests: instructions with line continuations joined, JSON (exec)
forms decoded, and the parts the tests check (stages, COPY sources, RUN commands, HEALTHCHECK)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field


@dataclass
class Instruction:
    keyword: str
    args: str
    flags: dict[str, str] = field(default_factory=dict)

    def argv(self) -> list[str]:
        """Exec form (JSON array) decoded, else the shell words."""
        text = self.args.strip()
        if text.startswith("["):
            return [str(a) for a in json.loads(text)]
        return shlex.split(text)


@dataclass
class Dockerfile:
    instructions: list[Instruction]
    healthcheck: list[str] | None = None

    def of(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def stages(self) -> list[tuple[str, str | None]]:
        """(image, alias) of every FROM."""
        out = []
        for i in self.of("FROM"):
            words = i.args.split()
            out.append((words[0], words[2] if len(words) >= 3 and words[1].upper() == "AS" else None))
        return out


def _split_flags(args: str) -> tuple[dict[str, str], str]:
    flags: dict[str, str] = {}
    rest = args.lstrip()
    while rest.startswith("--"):
        word, _, rest = rest.partition(" ")
        key, _, value = word[2:].partition("=")
        flags[key] = value
        rest = rest.lstrip()
    return flags, rest


def parse_dockerfile(text: str) -> Dockerfile:
    lines: list[str] = []
    buf = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not buf and (not stripped or stripped.startswith("#")):
            continue
        if buf and stripped.startswith("#"):
            continue  # comment lines inside a continued instruction are dropped by Docker too
        if stripped.endswith("\\"):
            buf += stripped[:-1] + " "
            continue
        lines.append(buf + stripped)
        buf = ""
    if buf:
        lines.append(buf)
    instructions = []
    health = None
    for line in lines:
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        flags: dict[str, str] = {}
        rest = args.strip()
        if keyword in ("COPY", "ADD", "RUN", "HEALTHCHECK"):
            flags, rest = _split_flags(args)
        ins = Instruction(keyword, rest, flags)
        instructions.append(ins)
        if keyword == "HEALTHCHECK" and rest.startswith("CMD"):
            health = Instruction("CMD", rest[3:].strip()).argv()
    return Dockerfile(instructions, health)
