#!/usr/bin/python
# Copyright: netns.core contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.netem: link impairments (delay, jitter, loss, duplicate, corrupt, reorder, rate) on one interface."""

from __future__ import annotations

DOCUMENTATION = r"""
module: netem
short_description: Impair an interface - delay, jitter, loss, duplication, corruption, reordering, a rate limit
version_added: 1.0.0
description:
  - Makes one interface, on the host or inside a network namespace, behave like a worse link, as
    C(tc qdisc add dev IF root netem ...) does (containerlab's C(tools netem), netlab's C(tc)), through netlink
    (pyroute2); the C(tc) command is not needed.
  - The impairments are the root qdisc of the interface, which netns.core recognises as its own by its handle
    C(4e53:). A V(rate) alone is shaped with C(tbf) (in nearly every kernel); V(delay), V(jitter), V(loss),
    V(duplicate), V(corrupt) and V(reorder) use C(netem) (with the rate, if any, as netem's own rate).
  - On a kernel without netem (built without C(CONFIG_NET_SCH_NETEM), no C(sch_netem) module) a task that needs it
    fails before anything changes, in check mode too, with a message that says so. The kernel is asked in a
    private, throw-away network namespace, so the probe touches no interface.
  - The interface's queue is only ever replaced when it is the kernel's default one (C(noqueue), C(pfifo_fast),
    C(fq_codel), C(mq), ...) or ours. A root qdisc someone else made is an error, never replaced or deleted.
  - Impairments apply to what the interface sends. To impair both directions of a veth, impair both ends.
options:
  interface:
    description: The interface to impair.
    type: str
    required: true
  delay:
    description:
      - Added to every packet, for example V(100ms), V(1.5s), V(250us) (a bare number is milliseconds). At most
        100 s. Needs netem.
    type: str
  jitter:
    description:
      - The delay varies by up to this much either way, for example V(10ms). Needs O(delay) (and netem).
    type: str
  loss:
    description: Drop this share of packets at random, for example V(10%) or V(0.5%). Needs netem.
    type: str
  rate:
    description:
      - Limit the rate, in tc units - V(bit), V(kbit), V(mbit), V(gbit) (powers of 1000), V(kibit), V(mibit),
        V(gibit) (of 1024), or bytes per second as V(bps), V(kbps), V(mbps), V(gbps). For example V(10mbit).
        From 8 bit/s to 34 gbit/s.
      - Alone, shaped with C(tbf) with a bucket of 20 ms of the rate (at least 64 KiB, so no packet is too large
        for it) and a queue of 50 ms beyond it; with any other option, netem's own rate.
    type: str
  duplicate:
    description: Send this share of packets twice, for example V(1%). Needs netem.
    type: str
  corrupt:
    description: Flip a random bit in this share of packets, for example V(0.1%). Needs netem.
    type: str
  reorder:
    description:
      - Send this share of packets at once, ahead of the delayed rest, for example V(25%) (tc-netem's
        C(reorder 25% gap 1)). Needs O(delay) (and netem).
    type: str
  state:
    description:
      - V(present) makes the interface's root qdisc ours with exactly these impairments (options left out are
        off); at least one option is needed.
      - V(absent) removes our qdisc (the kernel puts its default back); a root qdisc netns.core did not make is
        left alone.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - netns.core.common
  - netns.core.common.netns
notes:
  - Percentages and times are compared as the kernel stores them (a probability as a 32-bit fraction, times in
    64 ns ticks), so a second run with the same values changes nothing.
seealso:
  - module: netns.core.reachability
  - module: netns.core.network
  - name: tc-netem(8)
    description: The netem qdisc.
    link: https://man7.org/linux/man-pages/man8/tc-netem.8.html
author:
  - netns.core developers (@netns-core)
"""

EXAMPLES = r"""
- name: A slow uplink for the lab's router (tbf, on every kernel)
  netns.core.netem:
    interface: eth0
    netns: router
    rate: 10mbit

- name: A bad mobile link (needs netem in the kernel)
  netns.core.netem:
    interface: eth0
    netns: laptop
    delay: 80ms
    jitter: 20ms
    loss: 2%
    rate: 5mbit

- name: Back to a normal link
  netns.core.netem:
    interface: eth0
    netns: laptop
    state: absent
"""

RETURN = r"""
actions:
  description: One human-readable line per change.
  returned: always
  type: list
  elements: str
  sample: ["add tbf on eth0 in netns router (rate 10mbit)"]
diff:
  description:
    - The qdisc's parameters before and after (empty when netns.core's qdisc is not there).
  returned: in diff mode (C(--diff) or the task's C(diff) keyword)
  type: dict
  contains:
    before:
      description: The parameters before the task.
      type: dict
    after:
      description:
        - The parameters after the task (in check mode, what they would be) - C(netns), C(interface), C(handle)
          (C(4e53:)), C(qdisc) (C(tbf) or C(netem)), and each impairment that is on, in canonical form; a tbf also
          shows the C(burst) and C(limit) it was given, in bytes.
      type: dict
  sample:
    before: {}
    after: {netns: router, interface: eth0, handle: "4e53:", qdisc: tbf, rate: 10mbit, burst: 65550, limit: 128050}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.netns.core.plugins.module_utils._argspec import NETEM_OPTIONS, options
from ansible_collections.netns.core.plugins.module_utils._netem import Netem
from ansible_collections.netns.core.plugins.module_utils._resource import run_resource


def main() -> None:
    module = AnsibleModule(argument_spec=options(NETEM_OPTIONS), supports_check_mode=True)
    run_resource(module, lambda params, _module: Netem(params))


if __name__ == "__main__":
    main()
