# SPDX-License-Identifier: GPL-3.0-or-later
"""converge(): check mode applies nothing, real mode applies in order, verifies, and reports failures honestly."""

from __future__ import annotations

import pytest

from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._resource import (
    Change,
    Resource,
    converge,
    merge_wanted,
    outcome_result,
)


class FakeView:
    def __init__(self, exists):
        self.exists = exists


class FakeSession:
    """Only what converge() touches: namespace existence and cache invalidation."""

    def __init__(self, namespaces=()):
        self.namespaces = set(namespaces)
        self.invalidated = 0

    def view(self, ns):
        return FakeView(ns is None or ns in self.namespaces)

    def invalidate(self, ns=None, everything=False, indexes=True):
        self.invalidated += 1


class Counter(Resource):
    """A toy resource: a dict of counters; plan() sets each differing key."""

    kind = "counter"

    def __init__(self, world, want, ns=None, broken=None, sticky=False):
        super().__init__({"state": "present"})
        self.world, self.want, self.ns, self.broken, self.sticky = world, want, ns, broken, sticky
        self.applied = []

    def namespaces(self):
        return [("netns", self.ns)]

    def read(self, session):
        return dict(self.world) if self.world else None

    def desired(self):
        return dict(self.want)

    def plan(self, before, want):
        have = before or {}
        return [Change("set", k, {"value": v}, f"set {k} to {v}") for k, v in sorted(want.items()) if have.get(k) != v]

    def apply(self, session, change):
        if change.target == self.broken:
            raise NetnsCoreError(f"cannot set {change.target}")
        self.applied.append(change.target)
        if not self.sticky:
            self.world[change.target] = change.args["value"]


def test_check_mode_predicts_and_applies_nothing():
    world = {"a": 1}
    resource = Counter(world, {"a": 2, "b": 3})
    outcome = converge(FakeSession(), resource, check_mode=True)
    assert outcome.changed and resource.applied == [] and world == {"a": 1}
    assert outcome.actions == ["set a to 2", "set b to 3"]
    assert outcome.after == {"a": 2, "b": 3} and outcome.before == {"a": 1}


def test_real_run_applies_in_plan_order_and_rereads():
    world = {"a": 1}
    resource = Counter(world, {"a": 2, "b": 3})
    session = FakeSession()
    outcome = converge(session, resource, check_mode=False)
    assert resource.applied == ["a", "b"] and world == {"a": 2, "b": 3}
    assert outcome.after == {"a": 2, "b": 3} and session.invalidated >= 1
    result = outcome_result(outcome)
    assert result["changed"] is True
    assert result["diff"] == {"before": {"a": 1}, "after": {"a": 2, "b": 3}}


def test_converged_reports_no_change():
    outcome = converge(FakeSession(), Counter({"a": 2}, {"a": 2}), check_mode=False)
    assert not outcome.changed and outcome.actions == []


def test_missing_namespace_fails_for_real_but_is_planned_in_check_mode():
    with pytest.raises(NetnsCoreError, match="netns 'blue' does not exist"):
        converge(FakeSession(), Counter({}, {"a": 1}, ns="blue"), check_mode=False)
    assert converge(FakeSession(), Counter({}, {"a": 1}, ns="blue"), check_mode=True).changed
    assert converge(FakeSession({"blue"}), Counter({}, {"a": 1}, ns="blue"), check_mode=False).changed


def test_a_failure_says_what_was_already_applied():
    resource = Counter({}, {"a": 1, "b": 2, "c": 3}, broken="b")
    with pytest.raises(NetnsCoreError) as err:
        converge(FakeSession(), resource, check_mode=False)
    assert err.value.msg == "cannot set b; already applied before the failure: set a to 1"
    assert err.value.details["applied"] == ["set a to 1"]


def test_a_failure_on_the_first_step_says_nothing_changed():
    with pytest.raises(NetnsCoreError, match="cannot set a; nothing was changed"):
        converge(FakeSession(), Counter({}, {"a": 1}, broken="a"), check_mode=False)


def test_a_kernel_that_does_not_follow_is_reported():
    with pytest.raises(NetnsCoreError, match=r"counter did not converge: after applying \['set a to 1'\]"):
        converge(FakeSession(), Counter({"z": 0}, {"a": 1}, sticky=True), check_mode=False)


def test_merge_wanted_keeps_what_is_untouched():
    target = {"mtu": 1500, "addresses": ["10.0.0.1/24"], "end": {"up": False, "master": "br0"}}
    merge_wanted(target, {"mtu": None, "addresses": [], "end": {"up": True, "master": None}, "new": None})
    assert target == {"mtu": 1500, "addresses": [], "end": {"up": True, "master": "br0"}, "new": None}


class ReadCounting(Counter):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads = 0

    def read(self, session):
        self.reads += 1
        return super().read(session)


def test_converge_all_reads_once_when_nothing_changes():
    from ansible_collections.netns.core.plugins.module_utils._resource import Item, converge_all

    items = [Item("counters", i, ReadCounting({"a": 1}, {"a": 1})) for i in range(3)]
    outcomes = converge_all(FakeSession(), items, check_mode=False, coming=set())
    assert not any(o.changed for o in outcomes)
    assert [item.resource.reads for item in items] == [1, 1, 1]  # the plan's read answers the real run too


def test_converge_all_does_not_read_again_what_its_plan_found_absent():
    from ansible_collections.netns.core.plugins.module_utils._resource import Item, converge_all

    first = ReadCounting({}, {"a": 1})  # absent (reads as None), created by this call
    second = ReadCounting({}, {"b": 1})
    second.reread_absent = True  # a kind that another object of the call may bring into being
    outcomes = converge_all(FakeSession(), [Item("x", 0, first), Item("x", 1, second)], False, set())
    assert [o.changed for o in outcomes] == [True, True]
    assert first.reads == 2  # the plan's read, and the verification after applying
    assert second.reads == 3  # plan, read again before applying, verification
    assert first.world == {"a": 1} and second.world == {"b": 1}


def test_missing_capabilities_reads_the_effective_set():
    from ansible_collections.netns.core.plugins.module_utils._runtime import missing_capabilities

    root = "Name:\tpython\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n"
    nobody = "CapEff:\t0000000000000000\n"
    no_net_admin = f"CapEff:\t{0x1FFFFFFFFFF & ~(1 << 12):016x}\n"
    assert missing_capabilities(root) == []
    assert missing_capabilities(nobody) == ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]
    assert missing_capabilities(no_net_admin) == ["CAP_NET_ADMIN"]
    assert missing_capabilities("no such line") == []
