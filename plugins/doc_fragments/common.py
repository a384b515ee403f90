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

    # The firewall options of the modules that make rules (masquerade, port_forward, network).
    FIREWALL = r"""
options:
  firewall_backend:
    description:
      - Which firewall holds the rules. V(iptables) writes tagged rules with the iptables command (iptables-nft or
        iptables-legacy alike) into the nat and filter tables. V(nftables) writes them, with the same tag as their
        comment, into netns.core's own table C(inet netns_core), changed in one C(nft -f) transaction per task and
        deleted with its last rule; no other table is ever written.
      - V(auto) is V(iptables) where the C(iptables) command exists (so nothing changes for existing users), else
        V(nftables). A chosen backend whose command is missing is a clear error naming this option.
      - Rules of the same object found in the other backend (where its command exists) are removed, so switching
        backends is an ordinary converge.
    type: str
    choices: [auto, iptables, nftables]
    default: auto
  foreign_forward_drop:
    description:
      - Only for the V(nftables) backend. In nftables an accept ends only its own chain; a forward chain of
        another table with policy drop (Docker's C(FORWARD) policy C(DROP), set through iptables-nft, lives in
        table C(ip filter)) still drops what C(inet netns_core) accepts. V(fail) refuses such a namespace before
        anything changes, naming the table and chain. V(ignore) goes ahead, once you have allowed the traffic in
        that chain yourself (for Docker, in C(DOCKER-USER)), or want it dropped.
    type: str
    choices: [fail, ignore]
    default: fail
"""
