# SPDX-License-Identifier: GPL-3.0-or-later
"""Figures of the reliability tests (inputs tried, crash trials, foreign objects checked), for the README.

Each passing test records its figures in .build/reliability/figures.json (or $NETNS_CORE_FIGURES); `make
reliability` prints them.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

FIGURES = Path(
    os.environ.get("NETNS_CORE_FIGURES") or Path(__file__).resolve().parents[2] / ".build/reliability/figures.json"
)


def record_figure(name: str, value) -> None:
    FIGURES.parent.mkdir(parents=True, exist_ok=True)
    figures = json.loads(FIGURES.read_text()) if FIGURES.exists() else {}
    figures[name] = value
    FIGURES.write_text(json.dumps(figures, indent=2, sort_keys=True) + "\n")
