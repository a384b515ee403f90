# SPDX-License-Identifier: GPL-3.0-or-later
"""make dist: the collection tarball ships collection content only, and everything its README shows.

Usage: python tests/release/check_dist.py TARBALL VERSION
"""

from __future__ import annotations

import fnmatch
import json
import re
import sys
import tarfile

# Development files that must never ship (the manifest in galaxy.yml is an allow-list; this catches a slip).
FORBIDDEN = [
    ".*",
    "*/.*",
    "Makefile",
    "DEVELOPERS.md",
    "pyproject.toml",
    "requirements*.txt",
    "benchmarks",
    "benchmarks/*",
    "build",
    "build/*",
    "extensions",
    "extensions/*",
    "tests/integration",
    "tests/integration/*",
    "tests/release",
    "tests/release/*",
    "tests/tools",
    "tests/tools/*",
    "tests/sandbox.sh",
    "tests/output/*",
    "changelogs/fragments/*",
    "*__pycache__*",
    "*.pyc",
    "*.tar.gz",
    "galaxy.yml",
]
REQUIRED = [
    "MANIFEST.json",
    "FILES.json",
    "README.md",
    "CHANGELOG.rst",
    "CONTRIBUTING.md",
    "COPYING",
    "changelogs/changelog.yaml",
    "meta/runtime.yml",
    "meta/execution-environment.yml",
    "meta/ee-requirements.txt",
    "meta/ee-bindep.txt",
    "plugins/doc_fragments/common.py",
    "tests/config.yml",
]


def main(tarball: str, version: str) -> int:
    with tarfile.open(tarball) as tar:
        names = [member.name.removeprefix("./") for member in tar.getmembers()]
        files = set(names)
        readmes = {
            name: tar.extractfile(name).read().decode()
            for name in names
            if name == "README.md" or fnmatch.fnmatch(name, "roles/*/README.md")
        }
        manifest = json.loads(tar.extractfile("MANIFEST.json").read())
    shipped_dev = [name for name in names if any(fnmatch.fnmatch(name, pattern) for pattern in FORBIDDEN)]
    problems = [f"ships {name} (a development file)" for name in shipped_dev]
    problems += [f"lacks {name}" for name in REQUIRED if name not in files]
    for role in sorted({name.split("/")[1] for name in names if name.startswith("roles/")}):
        if f"roles/{role}/README.md" not in files:
            problems.append(f"lacks roles/{role}/README.md")
    for readme, text in readmes.items():
        base = readme.rpartition("/")[0]
        for target in re.findall(r"!\[[^\]]*\]\(([^)\s]+)", text):
            if "://" in target:
                problems.append(f"{readme} shows a remote image {target}")
                continue
            path = f"{base}/{target}" if base else target
            if path not in files:
                problems.append(f"{readme} shows {target}, which the tarball lacks")
    if manifest["collection_info"]["version"] != version:
        problems.append(f"MANIFEST.json says version {manifest['collection_info']['version']}, galaxy.yml {version}")
    for problem in problems:
        print(f"{tarball}: {problem}", file=sys.stderr)
    if not problems:
        print(f"{tarball}: {len(names)} entries, collection content only")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
