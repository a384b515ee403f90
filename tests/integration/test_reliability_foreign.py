# SPDX-License-Identifier: GPL-3.0-or-later
"""Reliability 4: what is not ours stays exactly as it was, and keeps working.

Before the bridge_nat role converges, the sandbox gets a Docker-like host: docker0 with two containers (their
own namespaces, veths, addresses, default routes, an iptables rule inside one), another namespace on a veth of
its own, an uplink namespace playing the internet, a foreign route and address, Docker's nat and filter rules
(DOCKER chains, DOCKER-USER, a published port, MASQUERADE for docker0), an UNTAGGED MASQUERADE for the very
subnet our network uses, an ip6tables rule, ip_forward=1 and the FORWARD policy DROP, as Docker leaves them; under
/etc/netns, a foreign container's resolv.conf and hosts, and an empty directory somebody made for our `web`.
Converge: NAT works for our containers through the DROP policy, and the foreign containers still reach each
other and the internet. Tear down: the raw kernel state (kernel_state.raw(), byte for byte) is what it was
before, and the foreign network still works.
"""

from __future__ import annotations

import kernel_state
import pytest
from conftest import namespaces, ping, play, sh, snapshot
from kernel_state import settled
from reliability import record_figure
from test_scenarios import source_seen_by_the_internet

FOREIGN = """
set -e
ip netns add uplink
ip link add up0 type veth peer name eth0 netns uplink
ip addr add 198.51.100.1/24 dev up0; ip link set up0 up
ip -n uplink addr add 198.51.100.2/24 dev eth0; ip -n uplink link set eth0 up; ip -n uplink link set lo up
ip -n uplink link add svc0 type veth peer name svc1; ip -n uplink addr add 203.0.113.10/24 dev svc0
ip -n uplink link set svc0 up; ip -n uplink link set svc1 up
ip route add default via 198.51.100.2

ip link add docker0 type bridge; ip addr add 172.17.0.1/16 dev docker0; ip link set docker0 up
for c in fa:2 fb:3; do
  name=${c%:*}; n=${c#*:}
  ip netns add $name; ip -n $name link set lo up
  ip link add veth$name type veth peer name eth0 netns $name
  ip link set veth$name master docker0 up
  ip -n $name addr add 172.17.0.$n/16 dev eth0; ip -n $name link set eth0 up
  ip -n $name route add default via 172.17.0.1
done
ip netns exec fa iptables -w -A INPUT -p tcp --dport 22 -j ACCEPT

ip netns add fc
ip link add fx0 type veth peer name fx1 netns fc
ip addr add 192.0.2.1/30 dev fx0; ip link set fx0 up
ip -n fc addr add 192.0.2.2/30 dev fx1; ip -n fc link set fx1 up
ip addr add 192.0.2.100/32 dev lo
ip route add 198.18.0.0/15 via 192.0.2.2

sysctl -qw net.ipv4.ip_forward=1
iptables -w -t nat -N DOCKER
iptables -w -t nat -A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER
iptables -w -t nat -A OUTPUT ! -d 127.0.0.0/8 -m addrtype --dst-type LOCAL -j DOCKER
iptables -w -t nat -A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE
iptables -w -t nat -A POSTROUTING -s 10.98.0.0/24 -j MASQUERADE
iptables -w -t nat -A DOCKER -i docker0 -j RETURN
iptables -w -t nat -A DOCKER ! -i docker0 -p tcp --dport 8080 -j DNAT --to-destination 172.17.0.2:80
iptables -w -P FORWARD DROP
iptables -w -N DOCKER
iptables -w -N DOCKER-USER
iptables -w -A FORWARD -j DOCKER-USER
iptables -w -A FORWARD -o docker0 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
iptables -w -A FORWARD -o docker0 -j DOCKER
iptables -w -A FORWARD -i docker0 ! -o docker0 -j ACCEPT
iptables -w -A FORWARD -i docker0 -o docker0 -j ACCEPT
iptables -w -A DOCKER -d 172.17.0.2/32 ! -i docker0 -o docker0 -p tcp --dport 80 -j ACCEPT
iptables -w -A DOCKER-USER -j RETURN
iptables -w -A INPUT -i fx0 -s 192.0.2.2 -j ACCEPT
ip6tables -w -A FORWARD -i docker0 -j ACCEPT

mkdir -p /etc/netns/fa /etc/netns/web
printf 'nameserver 172.17.0.1\n' > /etc/netns/fa/resolv.conf
printf '172.17.0.3\tfb\n' > /etc/netns/fa/hosts
"""

CONTAINERS = [{"name": "web"}, {"name": "db"}, {"name": "cache"}]


#: a firewalld-like nftables table next to Docker's iptables-nft rules (its forward chain accepts: no trap)
FIREWALLD_LIKE = """
table inet firewalld {
    chain filter_FORWARD {
        type filter hook forward priority filter + 10; policy accept;
        ct state established,related accept
    }
    chain nat_POSTROUTING {
        type nat hook postrouting priority srcnat + 10; policy accept;
    }
}
"""
#: what a Docker user does to let a network through Docker's FORWARD DROP (the way the refusal names)
DOCKER_USER_ALLOWS = (
    "iptables -w -I DOCKER-USER -s 10.98.0.0/24 -j ACCEPT;"
    " iptables -w -I DOCKER-USER -d 10.98.0.0/24 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT"
)


def bridge_nat(state: str, backend: str = "auto", expect: str = "ok", **extra) -> dict:
    variables = {"bridge_nat_containers": CONTAINERS, "bridge_nat_state": state}  # br0, 10.98.0.0/24
    variables.update(bridge_nat_firewall_backend=backend, **extra)
    task = {"ansible.builtin.include_role": {"name": "netns.core.bridge_nat"}, "vars": variables}
    (result,) = [r for r in play([task]) if "actions" in r or r["status"] == "failed"]
    assert result["status"] == expect, result
    return result


def foreign_works() -> None:
    assert ping("fa", "172.17.0.3") and ping("fb", "172.17.0.1") and ping("fc", "192.0.2.1")
    assert source_seen_by_the_internet("fa") == "198.51.100.1"  # Docker's own MASQUERADE and FORWARD rules


def counts() -> dict:
    """How many foreign objects the comparison covers."""
    state = snapshot()
    spaces = list(kernel_state.spaces(state).values())
    return {
        "namespaces": len(state["namespaces"]),
        "links": sum(len(s["links"]) for s in spaces),
        "addresses": sum(len(a) for s in spaces for a in s["addresses"].values()),
        "routes": sum(len(s["routes"]) for s in spaces),
        "iptables_rules": sum(line.startswith("-A ") for s in spaces for line in s["rules"].splitlines()),
        "iptables_chains": sum(line.startswith(":") for s in spaces for line in s["rules"].splitlines()),
    }


@pytest.mark.parametrize("backend", ["iptables", "nftables"])
def test_foreign_state_is_untouched_and_keeps_working(backend):
    sh(FOREIGN)
    sh(f"nft -f - <<'EOF'\n{FIREWALLD_LIKE}\nEOF")
    foreign_works()
    extra = {}
    if backend == "nftables":
        # Docker's FORWARD DROP (table ip filter) would drop what table inet netns_core accepts: refused by name,
        # before anything changes
        before = settled()
        refused = bridge_nat("present", backend, expect="failed")
        assert "table ip filter, chain FORWARD with policy drop" in refused["msg"], refused["msg"]
        assert settled() == before
        sh(DOCKER_USER_ALLOWS)  # the way out the message names; then the role is told
        extra = {"bridge_nat_foreign_forward_drop": "ignore"}
    before = settled()
    inventory = counts()

    built = bridge_nat("present", backend, **extra)
    assert built["changed"]
    assert ping("web", "10.98.0.1") and ping("web", "10.98.0.3")
    assert source_seen_by_the_internet("web") == "198.51.100.1"  # through FORWARD policy DROP
    assert "-P FORWARD DROP" in sh("iptables -w -S FORWARD")
    nat = sh("iptables -w -t nat -S POSTROUTING")
    assert "-A POSTROUTING -s 10.98.0.0/24 -j MASQUERADE" in nat  # the untagged one is still there, once
    # docker0's, the untagged one, ours (tagged: in iptables, or in our own table)
    assert nat.count("MASQUERADE") == (3 if backend == "iptables" else 2), nat
    assert ("masquerade comment" in sh("nft list ruleset")) == (backend == "nftables")
    foreign_works()
    assert sh("ip netns exec web getent hosts db").split() == ["10.98.0.3", "db"]  # in the directory not ours
    assert sh("ip netns exec fa getent hosts fb").split() == ["172.17.0.3", "fb"]
    assert bridge_nat("present", backend, **extra)["changed"] is False

    assert bridge_nat("absent", backend, **extra)["changed"]
    assert set(namespaces()) == {"uplink", "fa", "fb", "fc"}
    after = settled()
    assert after == before, "the teardown left the foreign state different from before"
    foreign_works()
    if backend == "iptables":
        record_figure("foreign_objects", inventory)
