# SPDX-License-Identifier: GPL-3.0-or-later
"""Unpack one collection (e.g. community.general) from the `ansible` package's wheel into a collections path.

Galaxy is not reachable from every machine, PyPI is: the `ansible` wheel carries the community collections.
Usage: unpack_collection.py WHEEL NAMESPACE.NAME DEST (DEST/ansible_collections/NAMESPACE/NAME is replaced).
"""

import os
import shutil
import sys
import zipfile

wheel, fqcn, dest = sys.argv[1:4]
namespace, name = fqcn.split(".")
prefix = f"ansible_collections/{namespace}/{name}/"
target = os.path.join(dest, "ansible_collections", namespace, name)
shutil.rmtree(target, ignore_errors=True)
with zipfile.ZipFile(wheel) as archive:
    members = [m for m in archive.namelist() if m.startswith(prefix)]
    if not members:
        sys.exit(f"{fqcn} is not in {wheel}")
    archive.extractall(dest, members)
print(f"{fqcn}: {len(members)} files under {target}")
