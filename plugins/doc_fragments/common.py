# SPDX-License-Identifier: GPL-3.0-or-later
"""Options and attributes shared by every netns.core module."""

from __future__ import annotations


class ModuleDocFragment:
    # Attributes, requirements and notes of every module.
    DOCUMENTATION = r"""
attributes:
  check_mode:
    description: Can run in check_mode and return changed status prediction without modifying target.
    support: full
  diff_mode:
    description: Will return details on what has changed (or possibly needs changing in check_mode), when in diff mode.
    support: full
  idempotent:
    description: When run twice in a row outside check mode, with the same arguments, the second invocation
      indicates no change.
    support: full
  platform:
    description: Target OS/families that can be operated against.
    support: full
    platforms: linux
requirements:
  - Linux, and root on the target (CAP_NET_ADMIN and CAP_SYS_ADMIN).
  - Python >= 3.9 and pyroute2 >= 0.9 on the target.
notes:
  - Validation happens before anything changes. Names longer than 15 characters, malformed CIDRs and
    namespace names outside C([A-Za-z0-9][A-Za-z0-9_.-]{0,63}) are refused with a message naming the option.
  - Nothing that the task does not name is changed or removed.
"""

    # The `netns` option.
    NETNS = r"""
options:
  netns:
    description:
      - Name of the network namespace (under C(/run/netns), as C(ip netns) names it) in which the object lives.
      - Omitted, the namespace Ansible runs in (the host).
      - In check mode a namespace that does not exist yet reads as empty, so a check run of a whole play plans
        what an earlier task would create; a real run fails with a clear message instead.
    type: str
"""

    # The `state` option.
    STATE = r"""
options:
  state:
    description:
      - V(present) makes the object exist exactly as described; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
"""
