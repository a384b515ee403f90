# SPDX-License-Identifier: GPL-3.0-or-later
"""A Python interpreter wrapper for ansible_python_interpreter: runs the module with the real interpreter and
appends the peak resident memory of that process (KiB, from getrusage of the child) to $BENCH_RSS_FILE."""

import os
import resource
import subprocess
import sys

real = os.environ.get("BENCH_REAL_PYTHON", sys.executable)
proc = subprocess.run([real, *sys.argv[1:]], check=False)
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
with open(os.environ["BENCH_RSS_FILE"], "a", encoding="ascii") as out:
    out.write(f"{peak}\n")
sys.exit(proc.returncode)
