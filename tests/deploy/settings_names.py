"""The SOCCER_* environment variables the code reads: ServingSettings fields (and their aliases)
plus every SOCCER_* name the pipeline package mentions."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def known_setting_names() -> set[str]:
    names = set()
    for path in [*(REPO / "soccer_assets").rglob("*.py"), *(REPO / "soccer_serving").rglob("*.py")]:
        names.update(re.findall(r"\bSOCCER_[A-Z0-9_]+\b", path.read_text()))
    # ServingSettings reads SOCCER_ + the upper-cased field name (pydantic-settings).
    text = (REPO / "soccer_serving" / "settings.py").read_text()
    body = text.split("class ServingSettings", 1)[1]
    names.update(f"SOCCER_{f.upper()}" for f in re.findall(r"^    (\w+): ", body, re.MULTILINE))
    return names
