# SPDX-License-Identifier: GPL-3.0-or-later
"""playbooks/graph.yml: the picture shows what the kernel holds."""

from __future__ import annotations

import tempfile
from pathlib import Path

from conftest import play_file, run


def test_graph_of_the_home_lab_with_a_published_port():
    assert all(r["status"] in ("ok", "skipped") for r in play_file("home.yml"))
    run("port_forward", {"port": 8080, "destination": "192.168.77.10:80", "netns": "home-router"})
    with tempfile.TemporaryDirectory(prefix="netns-core-graph-") as tmp:
        results = play_file("graph.yml", extra_vars={"graph_dir": tmp, "graph_name": "home"})
        assert all(r["status"] == "ok" for r in results), results
        dot = Path(tmp, "home.dot").read_text()
        assert Path(tmp, "home.svg").read_text().lstrip().startswith("<?xml")
        assert Path(tmp, "home.png").read_bytes()[:4] == b"\x89PNG"
    assert (
        '"home-router/wan0" -- "home-isp/eth0" [penwidth=2];' in dot
        or '"home-isp/eth0" -- "home-router/wan0" [penwidth=2];' in dot
    )
    assert '"home-router/laptop0" -- "home-router/lan0" [style=dashed];' in dot
    assert 'label="lan0\\n192.168.77.1/24", shape=box3d' in dot
    assert "NAT out: 192.168.77.0/24" in dot and "published tcp/8080 -> 192.168.77.10:80" in dot
    assert "home-laptop" in dot and dot.count("subgraph cluster_") == 4  # host + 3 namespaces
