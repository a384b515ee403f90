# SPDX-License-Identifier: GPL-3.0-or-later
"""Stand-in for ansible-test's pip bootstrap script (get-pip), for machines that reach PyPI but not the host
ansible-test downloads get-pip from. `make sanity` copies it to
$HOME/.ansible/test/cache/get_pip_<version>.py with the pip wheel beside it.

ansible-test runs it as `python get_pip_X.py <pip options> <packages>`; we run pip from the wheel instead.
"""

from __future__ import annotations

import glob
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
WHEELS = sorted(glob.glob(os.path.join(HERE, "pip-*.whl")))
if not WHEELS:
    sys.exit(f"no pip wheel next to {__file__}; run `make sanity` to fetch it")
sys.path.insert(0, WHEELS[-1])

from pip._internal.cli.main import main  # noqa: E402

args = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
sys.exit(main(["install", "--find-links", HERE, *args]))
