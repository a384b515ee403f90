# SPDX-License-Identifier: GPL-3.0-or-later
"""converge(): plans every item against one model, check mode executes nothing, a real run executes in plan order,
verifies against a fresh model, and reports failures honestly."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ansible_collections.netns.core.plugins.module_utils import _ops
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._ops import Op
from ansible_collections.netns.core.plugins.module_utils._resource import Item, Resource, converge, outcome_result


class FakeSession:
    """Only what converge() touches without a kernel: cache invalidation."""

    def __init__(self):
        self.invalidated = []

    def invalidate(self, ns=None, everything=False, indexes=True):
        self.invalidated.append("*" if everything else ns)


@dataclass
class SetCounter(Op):
    """A toy operation: sets world[key] (the 'kernel'); the model keeps it as a host sysctl."""

    world: dict = None
    key: str = ""
    value: int = 0
    broken: bool = False
    sticky: bool = False

    def simulate(self, model):
        model.set_sysctl(None, "counter." + self.key, self.value)

    def execute(self, ctx):
        if self.broken:
            raise NetnsCoreError(f"cannot set {self.key}")
        if not self.sticky:
            self.world[self.key] = self.value

    def stale(self):
        return (None,), False


@pytest.fixture(autouse=True)
def _toy_operation(monkeypatch):
    monkeypatch.setattr(_ops, "OPERATIONS", _ops.OPERATIONS | {SetCounter})


class Counter(Resource):
    """A toy resource: a dict of counters (the kernel), seen through the model's overrides."""

    kind = "counter"

    def __init__(self, world, want, ns=None, broken=None, sticky=False):
        super().__init__({"state": "present"})
        self.world, self.want, self.ns, self.broken, self.sticky = world, want, ns, broken, sticky
        self.reads = 0

    def namespaces(self):
        return [("netns", self.ns)]

    def read(self, model):
        self.reads += 1
        seen = dict(self.world)
        for key, value in model.space(None).sysctls.items():
            if key.startswith("counter."):
                seen[key[len("counter.") :]] = value
        return seen or None

    def desired(self):
        return dict(self.want)

    def plan(self, model, before, want):
        have = before or {}
        return [
            SetCounter(self.world, k, v, broken=k == self.broken, sticky=self.sticky).says(f"set {k} to {v}")
            for k, v in sorted(want.items())
            if have.get(k) != v
        ]


def one(resource, check_mode, session=None):
    return converge(session or FakeSession(), [Item(None, 0, resource)], check_mode).outcomes[0]


def test_check_mode_predicts_and_executes_nothing():
    world = {"a": 1}
    outcome = one(Counter(world, {"a": 2, "b": 3}), check_mode=True)
    assert outcome.changed and world == {"a": 1}
    assert outcome.actions == ["set a to 2", "set b to 3"]
    assert outcome.after == {"a": 2, "b": 3} and outcome.before == {"a": 1}


def test_real_run_executes_in_plan_order_and_verifies_against_a_fresh_read():
    world = {"a": 1}
    session = FakeSession()
    resource = Counter(world, {"a": 2, "b": 3})
    outcome = one(resource, check_mode=False, session=session)
    assert world == {"a": 2, "b": 3} and outcome.after == {"a": 2, "b": 3}
    assert session.invalidated == [None, None, "*"]  # what each operation declared, then all before verifying
    assert resource.reads == 2  # the plan's read and the verification
    result = outcome_result(outcome)
    assert result["changed"] is True
    assert result["diff"] == {"before": {"a": 1}, "after": {"a": 2, "b": 3}}


def test_converged_reports_no_change_and_reads_once():
    resource = Counter({"a": 2}, {"a": 2})
    outcome = one(resource, check_mode=False)
    assert not outcome.changed and outcome.actions == [] and resource.reads == 1


def test_missing_namespace_fails_for_real_but_is_assumed_in_check_mode():
    with pytest.raises(NetnsCoreError, match="netns 'no-such-ns-here' does not exist; nothing was changed"):
        one(Counter({}, {"a": 1}, ns="no-such-ns-here"), check_mode=False)
    result = converge(FakeSession(), [Item(None, 0, Counter({}, {"a": 1}, ns="no-such-ns-here"))], True)
    assert result.outcomes[0].changed and result.assumed == ["netns 'no-such-ns-here' does not exist"]


def test_in_a_many_object_call_a_namespace_must_exist_or_be_made_by_the_call():
    items = [Item("counters", 0, Counter({}, {"a": 1})), Item("counters", 1, Counter({}, {"a": 1}, ns="nope-ns"))]
    for check_mode in (True, False):
        with pytest.raises(NetnsCoreError, match=r"counters\[1\] \(counter\): netns 'nope-ns' does not exist"):
            converge(FakeSession(), items, check_mode)


def test_a_failure_says_what_was_already_applied():
    with pytest.raises(NetnsCoreError) as err:
        one(Counter({}, {"a": 1, "b": 2, "c": 3}, broken="b"), check_mode=False)
    assert err.value.msg == "cannot set b; already applied before the failure: set a to 1"
    assert err.value.details["applied"] == ["set a to 1"]


def test_a_failure_in_a_many_object_call_names_the_item():
    world = {}
    items = [Item("counters", 0, Counter(world, {"a": 1})), Item("counters", 1, Counter(world, {"b": 1}, broken="b"))]
    with pytest.raises(NetnsCoreError) as err:
        converge(FakeSession(), items, False)
    assert err.value.msg == "counters[1] (counter): cannot set b; already applied before the failure: set a to 1"


def test_a_failure_on_the_first_step_says_nothing_changed():
    with pytest.raises(NetnsCoreError, match="cannot set a; nothing was changed"):
        one(Counter({}, {"a": 1}, broken="a"), check_mode=False)


def test_a_kernel_that_does_not_follow_is_reported():
    with pytest.raises(NetnsCoreError, match=r"counter did not converge: after applying \['set a to 1'\]"):
        one(Counter({"z": 0}, {"a": 1}, sticky=True), check_mode=False)


def test_later_items_plan_against_what_earlier_items_will_have_made():
    world = {}
    first, second = Counter(world, {"a": 1}), Counter(world, {"a": 1, "b": 2})
    outcomes = converge(FakeSession(), [Item("x", 0, first), Item("x", 1, second)], True).outcomes
    assert outcomes[0].actions == ["set a to 1"] and outcomes[1].actions == ["set b to 2"]


def test_an_unknown_operation_is_an_error_not_ignored():
    class Rogue(Counter):
        def plan(self, model, before, want):
            return ["set a"]

    with pytest.raises(NetnsCoreError, match="internal error: unknown operation 'set a'"):
        one(Rogue({}, {"a": 1}), check_mode=True)


def test_missing_capabilities_reads_the_effective_set():
    from ansible_collections.netns.core.plugins.module_utils._runtime import missing_capabilities

    root = "Name:\tpython\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n"
    nobody = "CapEff:\t0000000000000000\n"
    no_net_admin = f"CapEff:\t{0x1FFFFFFFFFF & ~(1 << 12):016x}\n"
    assert missing_capabilities(root) == []
    assert missing_capabilities(nobody) == ["CAP_NET_ADMIN", "CAP_SYS_ADMIN"]
    assert missing_capabilities(no_net_admin) == ["CAP_NET_ADMIN"]
    assert missing_capabilities("no such line") == []


def test_a_long_failure_message_shows_the_last_applied_actions_only():
    from ansible_collections.netns.core.plugins.module_utils._resource import SHOWN_APPLIED, half_done

    done = [f"step {i}" for i in range(1000)]
    message = half_done("boom", done)
    assert message.startswith("boom; 1000 actions were applied before the failure, the last")
    assert "step 999" in message and "step 0;" not in message and len(message) < 400
    assert SHOWN_APPLIED < 20
