# SPDX-License-Identifier: GPL-3.0-or-later
"""netns.core.bridge against the real kernel (inside the sandbox)."""

from __future__ import annotations

from conftest import addresses, four_steps, links, sh


def test_bridge_with_gateway_address_and_stp_in_a_namespace():
    sh("ip netns add router")
    task = {
        "netns.core.bridge": {
            "name": "lan",
            "netns": "router",
            "addresses": ["192.168.1.1/24", "fd00:1::1/64"],
            "stp": True,
        }
    }

    def verify():
        lan = links("router")["lan"]
        assert lan["linkinfo"]["info_kind"] == "bridge"
        assert lan["linkinfo"]["info_data"]["stp_state"] == 1
        assert "UP" in lan["flags"]
        assert addresses("lan", "router") == ["192.168.1.1/24", "fd00:1::1/64"]
        assert "lan" not in links()

    four_steps([task], verify)


def test_mtu_and_stp_change_on_existing_bridge():
    sh("ip link add br0 type bridge stp_state 1; ip link set br0 up")

    def verify():
        assert links()["br0"]["mtu"] == 1400
        assert links()["br0"]["linkinfo"]["info_data"]["stp_state"] == 0

    (result,) = four_steps([{"netns.core.bridge": {"name": "br0", "mtu": 1400}}], verify)
    assert result["actions"] == ["turn stp off on bridge br0", "set mtu 1400 on br0"]


def test_absent_releases_ports_without_deleting_them():
    sh("ip link add br0 type bridge; ip link add p1 type veth peer name p2; ip link set p1 master br0")

    def verify():
        assert "br0" not in links()
        assert "p1" in links() and "master" not in links()["p1"]

    four_steps([{"netns.core.bridge": {"name": "br0", "state": "absent"}}], verify)
