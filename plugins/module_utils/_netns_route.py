# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The route resource: one unicast route, identified by (netns, table, destination, metric)."""

from __future__ import annotations

import ipaddress

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils._constants import DEFAULT_METRIC, MAIN_TABLE
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, where, where_or_host
from ansible_collections.netns.core.plugins.module_utils._ops import DeleteRoute, Op, ReplaceRoute
from ansible_collections.netns.core.plugins.module_utils._resource import Resource


class Route(Resource):
    kind = "route"

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
        # the kernel stores an IPv6 route of metric 0 with its default metric: name it as it will be read back
        self.metric = DEFAULT_METRIC[self.family] if metric is None or (metric == 0 and self.family == 6) else metric
        if self.gateway is not None and ipaddress.ip_address(self.gateway).is_link_local and self.interface is None:
            if self.state == "present":
                raise NetnsCoreError(
                    f"gateway {self.gateway!r} is link-local: it means something only on one link, so give interface"
                    " (the link it is on) too"
                )
        self.table = norm.positive_int(params.get("table"), "table", 1, 2**32 - 1) or MAIN_TABLE
        self.onlink = bool(params.get("onlink"))
        if self.onlink and self.state == "present" and (self.gateway is None or self.interface is None):
            raise NetnsCoreError("onlink needs gateway and interface: it says the gateway is on that link")

    def label(self) -> str:
        return f"route {self.destination} metric {self.metric} table {self.table}{where(self.ns)}"

    def namespaces(self) -> list[tuple[str, str | None]]:
        return [("netns", self.ns)]

    def _identity(self) -> dict:
        return {"netns": self.ns, "table": self.table, "destination": self.destination, "metric": self.metric}

    def read(self, model: KernelModel) -> dict | None:
        route = model.route(self.ns, self.family, self.table, self.destination, self.metric)
        if route is None:
            return None
        return {
            **self._identity(),
            "gateway": route["gateway"],
            "interface": route["interface"],
            "onlink": route.get("onlink", False),
        }

    def desired(self) -> dict | None:
        if self.state == "absent":
            return None
        return {**self._identity(), "gateway": self.gateway, "interface": self.interface, "onlink": self.onlink}

    def plan(self, model: KernelModel, before: dict | None, want: dict | None) -> list[Op]:
        if want is None:
            if before is None or not self._matches_filter(before):
                return []
            return [DeleteRoute(self.ns, self._kernel_route(before)).says(f"delete route {self._text(before)}")]
        if before is not None and not (
            before["gateway"] != want["gateway"]
            or (want["interface"] and before["interface"] != want["interface"])
            or before["onlink"] != want["onlink"]
        ):
            return []
        self._check_reachable(model)
        op = ReplaceRoute(self.ns, self._kernel_route(want))
        if before is None:
            return [op.says(f"add route {self._text(want)}")]
        return [op.says(f"replace route {self._text(before)} with {self._text(want)}")]

    def _check_reachable(self, model: KernelModel) -> None:
        """The interface must exist and the gateway must be in a connected subnet (the kernel refuses a gateway
        it cannot reach directly). A check run plans them as made by an earlier task, and says so."""
        if self.interface is not None and model.link(self.ns, self.interface) is None:
            model.missing(f"interface {self.interface!r} does not exist{where_or_host(self.ns)}")
            return
        gateway = ipaddress.ip_address(self.gateway) if self.gateway is not None else None
        if gateway is not None and not self.onlink and not gateway.is_link_local and model.exists(self.ns):
            if model.connected_interface(self.ns, self.gateway) is None:
                model.missing(
                    f"gateway {self.gateway!r} is not reachable{where(self.ns) or ' from the host'}: it is in no"
                    " connected subnet (no interface there has an address in its subnet)"
                )

    def _kernel_route(self, state: dict) -> dict:
        return {
            "family": self.family,
            "table": self.table,
            "destination": state["destination"],
            "metric": self.metric,
            "gateway": state.get("gateway"),
            "interface": state.get("interface"),
            "onlink": state.get("onlink", False),
        }

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
        if route.get("onlink"):
            parts.append("onlink")
        if self.table != MAIN_TABLE:
            parts.append(f"table {self.table}")
        parts.append(f"metric {self.metric}")
        return " ".join(parts) + where(self.ns)
