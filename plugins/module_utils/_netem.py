# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The netem resource: impairments (delay, jitter, loss, duplicate, corrupt, reorder, rate) on one interface, as the
root qdisc netns.core owns there (handle 4e53:, see _tc): tbf for a rate alone, netem for anything else."""

from __future__ import annotations

from ansible_collections.netns.core.plugins.module_utils import _normalize as norm
from ansible_collections.netns.core.plugins.module_utils import _tc as tc
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, where, where_or_host
from ansible_collections.netns.core.plugins.module_utils._ops import AddQdisc, ChangeQdisc, DeleteQdisc, Op
from ansible_collections.netns.core.plugins.module_utils._resource import Resource

NO_NETEM = (
    "this kernel has no netem qdisc (it was built without CONFIG_NET_SCH_NETEM and has no sch_netem module): "
    "delay, jitter, loss, duplicate, corrupt and reorder need it; a rate alone works without it (tbf)"
)


def impairments(params: dict) -> dict:
    """The impairments asked for, in the form _tc works with (pure; raises NetnsCoreError naming the option)."""
    parsers = {"delay": tc.parse_time, "jitter": tc.parse_time, "rate": tc.parse_rate}
    spec: dict = {}
    try:
        for key in tc.OPTIONS:
            value = params.get(key)
            if value is None or value == "":
                continue
            spec[key] = parsers.get(key, tc.parse_percent)(value, key)
    except tc.TcError as exc:
        raise NetnsCoreError(str(exc)) from None
    if spec.get("jitter") and not spec.get("delay"):
        raise NetnsCoreError("jitter needs a delay (the delay varies by up to the jitter either way)")
    if spec.get("reorder") and not spec.get("delay"):
        raise NetnsCoreError("reorder needs a delay (reordered packets are the ones sent without it)")
    return spec


def summary(spec: dict) -> str:
    shown = tc.describe(tc.kind_of(spec), tc.kernel_form(spec))
    return " ".join(f"{key} {value}" for key, value in shown.items() if key in tc.OPTIONS)


class Netem(Resource):
    kind = "netem"

    def __init__(self, params: dict) -> None:
        super().__init__(params)
        self.interface = norm.ifname(params["interface"], "interface")
        self.ns = norm.netns_name(params.get("netns"))
        self.spec = impairments(params)
        if self.state == "present" and not self.spec:
            raise NetnsCoreError(
                "give at least one of delay, jitter, loss, rate, duplicate, corrupt, reorder (or state: absent)"
            )

    def label(self) -> str:
        return f"netem on {self.interface}{where(self.ns)}"

    def namespaces(self) -> list[tuple[str, str | None]]:
        return [("netns", self.ns)]

    def _shown(self, kind: str, form: dict) -> dict:
        return {"netns": self.ns, "interface": self.interface, "handle": tc.HANDLE_TEXT, **tc.describe(kind, form)}

    def read(self, model: KernelModel) -> dict | None:
        root = model.root_qdisc(self.ns, self.interface)
        if tc.owner(root) != "ours":
            return None
        return self._shown(root["kind"], root["form"])

    def desired(self) -> dict | None:
        if self.state == "absent":
            return None
        return self._shown(tc.kind_of(self.spec), tc.kernel_form(self.spec))

    def plan(self, model: KernelModel, before: dict | None, want: dict | None) -> list[Op]:
        at = f"{self.interface}{where(self.ns)}"
        if want is None:
            if before is None:
                return []
            what = f"remove the {before['qdisc']} qdisc of netns.core from {at}"
            return [DeleteQdisc(self.ns, self.interface).says(what)]
        kind = tc.kind_of(self.spec)
        if model.link(self.ns, self.interface) is None:
            model.missing(f"interface {self.interface!r} does not exist{where_or_host(self.ns)}")
        root = model.root_qdisc(self.ns, self.interface)
        owner = tc.owner(root)
        if owner == "foreign":
            raise NetnsCoreError(
                f"{at} has a root qdisc netns.core did not make ({root['kind']}, handle "
                f"{tc.handle_text(root['handle'])}); refusing to replace it: remove it first if it may go"
            )
        if kind == "netem" and not (owner == "ours" and root["kind"] == "netem"):
            if not model.qdisc_kind_available("netem"):
                raise NetnsCoreError(NO_NETEM)
        what = f"{kind} on {at} ({summary(self.spec)})"
        if owner == "default":
            return [AddQdisc(self.ns, self.interface, dict(self.spec)).says(f"add {what}")]
        if root["kind"] == kind:
            if root["form"] == tc.kernel_form(self.spec):
                return []
            return [ChangeQdisc(self.ns, self.interface, dict(self.spec)).says(f"change {what}")]
        return [
            DeleteQdisc(self.ns, self.interface).says(f"remove the {root['kind']} qdisc of netns.core from {at}"),
            AddQdisc(self.ns, self.interface, dict(self.spec)).says(f"add {what}"),
        ]
