# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The route resource: one unicast route, identified by (netns, table, destination, metric)."""

from __future__ import annotations

import ipaddress
import socket

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._iface import index_of, where
from ansible_collections.netns.core.plugins.module_utils._netlink import Session
from ansible_collections.netns.core.plugins.module_utils._resource import Change, Resource

RTPROT_STATIC = 4
RT_SCOPE_LINK = 253
RT_SCOPE_NOWHERE = 255
DEFAULT_METRIC = {4: 0, 6: 1024}


class Route(Resource):
    kind = "route"
    reread_absent = True  # the kernel adds connected routes with addresses

    def __init__(self, params: dict) -> None:
        super().__init__(params)
        self.ns = norm.netns_name(params.get("netns"))
        self.gateway = norm.ip(params["gateway"], "gateway") if params.get("gateway") is not None else None
        self.interface = norm.ifname(params.get("interface"), "interface")
        self.destination = norm.route_destination(params["destination"], self.gateway)
        self.family = norm.family_of(self.destination)
        if self.gateway is not None and norm.family_of(self.gateway) != self.family:
            raise NetnsCoreError(
                f"gateway {self.gateway!r} is IPv{norm.family_of(self.gateway)} but destination "
                f"{params['destination']!r} is IPv{self.family}"
            )
        if self.state == "present" and self.gateway is None and self.interface is None:
            raise NetnsCoreError("a present route needs gateway or interface (or both)")
        metric = norm.positive_int(params.get("metric"), "metric", 0, 2**32 - 1)
        self.metric = DEFAULT_METRIC[self.family] if metric is None else metric
        self.table = norm.positive_int(params.get("table"), "table", 1, 2**32 - 1) or norm.MAIN_TABLE
        self._view = None

    def label(self) -> str:
        return f"route {self.destination} metric {self.metric} table {self.table}{where(self.ns)}"

    def namespaces(self) -> list[tuple[str, str]]:
        return [("netns", self.ns)]

    def _identity(self) -> dict:
        return {"netns": self.ns, "table": self.table, "destination": self.destination, "metric": self.metric}

    def read(self, session: Session) -> dict | None:
        self._view = session.view(self.ns)
        for route in self._view.routes(self.family):
            if (route["family"], route["table"], route["destination"], route["metric"]) == (
                self.family,
                self.table,
                self.destination,
                self.metric,
            ):
                return {**self._identity(), "gateway": route["gateway"], "interface": route["interface"]}
        return None

    def desired(self) -> dict | None:
        if self.state == "absent":
            return None
        return {**self._identity(), "gateway": self.gateway, "interface": self.interface}

    def predict(self, before: dict | None, want: dict | None) -> dict | None:
        """As the kernel will: without an interface, the one whose connected subnet holds the gateway."""
        after = super().predict(before, want)
        if after is not None and after.get("interface") is None and self.gateway is not None:
            after["interface"] = self._connected_interface(self.gateway)
        return after

    def _connected_interface(self, gateway: str) -> str | None:
        address = ipaddress.ip_address(gateway)
        for route in self._view.routes(self.family) if self._view is not None else []:
            if route["gateway"] is None and route["interface"] and route["table"] == norm.MAIN_TABLE:
                if address in ipaddress.ip_network(route["destination"]) and route["destination"] != "::/0":
                    return route["interface"]
        return None

    def validate_live(self, session: Session, before: dict | None, want: dict | None, check_mode: bool) -> None:
        """The interface must exist and the gateway must be in a connected subnet (the kernel refuses a gateway
        it cannot reach directly). Check mode plans them as created by an earlier task, and says so."""
        if want is None or (before is not None and not self.plan(before, want)):
            return
        view = self._view = session.view(self.ns)
        missing = []
        if self.interface is not None and (not view.exists or view.link(self.interface) is None):
            missing.append(f"interface {self.interface!r} does not exist{where(self.ns) or ' in the host namespace'}")
        gateway = ipaddress.ip_address(self.gateway) if self.gateway is not None else None
        if gateway is not None and not gateway.is_link_local and not missing and view.exists:
            if self._connected_interface(self.gateway) is None:
                missing.append(
                    f"gateway {self.gateway!r} is not reachable{where(self.ns) or ' from the host'}: it is in no"
                    " connected subnet (no interface there has an address in its subnet)"
                )
        for text in missing:
            if not check_mode:
                raise NetnsCoreError(text + "; nothing was changed")
            self.assume(text)

    def plan(self, before: dict | None, want: dict | None) -> list[Change]:
        via = self._text(want) if want else ""
        if want is None:
            if before is None or not self._matches_filter(before):
                return []
            return [Change("delete", self.destination, {"route": before}, f"delete route {self._text(before)}")]
        if before is None:
            return [Change("replace", self.destination, {}, f"add route {via}")]
        if before["gateway"] != want["gateway"] or (want["interface"] and before["interface"] != want["interface"]):
            return [Change("replace", self.destination, {}, f"replace route {self._text(before)} with {via}")]
        return []

    def _matches_filter(self, route: dict) -> bool:
        """state=absent with gateway/interface removes only a route that goes there (as `ip route del ... via`)."""
        if self.gateway is not None and route["gateway"] != self.gateway:
            return False
        return self.interface is None or route["interface"] == self.interface

    def _text(self, route: dict) -> str:
        parts = [route["destination"]]
        if route.get("gateway"):
            parts.append(f"via {route['gateway']}")
        if route.get("interface"):
            parts.append(f"dev {route['interface']}")
        if self.table != norm.MAIN_TABLE:
            parts.append(f"table {self.table}")
        parts.append(f"metric {self.metric}")
        return " ".join(parts) + where(self.ns)

    def _request(self, session: Session, route: dict) -> dict:
        net = ipaddress.ip_network(route["destination"])
        request = {
            "family": socket.AF_INET if self.family == 4 else socket.AF_INET6,
            "dst": str(net.network_address),
            "dst_len": net.prefixlen,
            "table": self.table,
            "priority": self.metric,
        }
        if route.get("gateway"):
            request["gateway"] = route["gateway"]
        if route.get("interface"):
            request["oif"] = index_of(session, self.ns, route["interface"])
        return request

    def apply(self, session: Session, change: Change) -> None:
        ipr = session.ipr(self.ns)
        if change.op == "replace":
            request = self._request(session, self.desired())
            if self.family == 4 and not self.gateway:
                request["scope"] = RT_SCOPE_LINK  # a directly connected route, as `ip route add ... dev` makes it
            ipr.route("replace", proto=RTPROT_STATIC, **request)
        elif change.op == "delete":
            # any scope and protocol: the route we read is the one to go, whoever made it (as `ip route del`)
            ipr.route("del", scope=RT_SCOPE_NOWHERE, **self._request(session, change.args["route"]))
        session.invalidate(self.ns, indexes=False)
