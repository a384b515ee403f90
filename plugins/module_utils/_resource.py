# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The plan/apply engine: desired state -> plan -> apply, one code path for real, check and diff mode.

Each resource kind subclasses Resource:
  read(session)        current state, normalised, JSON-serialisable; None = absent
  desired()            the same shape from the params; None = absent
  plan(before, want)   pure: a list of Change, empty when nothing differs
  apply(session, ch)   carries out one Change
converge() runs them; run_resource() is the whole main() of a single-object module.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field

from ansible_collections.netns.core.plugins.module_utils._deps import NetlinkError
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._netlink import Session, kernel_error
from ansible_collections.netns.core.plugins.module_utils._runtime import run_module


@dataclass(frozen=True)
class Change:
    """One step of a plan: an operation on one object with its arguments, and the line a person reads."""

    op: str
    target: str
    args: dict = field(default_factory=dict, compare=True, hash=False)
    text: str = ""

    def describe(self) -> str:
        return self.text or f"{self.op} {self.target}"


class Resource:
    """Base class of every managed object kind."""

    kind = "object"
    #: name of the key in the module result that repeats the `after` state (e.g. "rules"); optional
    result_key: str | None = None
    #: whether another object of the same network call can bring this one into being (a connected route comes
    #: with an address; masquerade and port_forward share FORWARD rules). If not, an object a call's plan found
    #: absent is still absent when its turn comes, and is not read again.
    reread_absent = False

    def __init__(self, params: dict) -> None:
        self.params = params
        self.state = params.get("state") or "present"
        #: check mode: what a real run needs but is missing, planned as made by an earlier task (see assume())
        self.assumed: list[str] = []

    # -- the three steps, per kind -------------------------------------------------------------------------
    def read(self, session: Session) -> dict | None:
        raise NotImplementedError

    def desired(self) -> dict | None:
        raise NotImplementedError

    def plan(self, before: dict | None, want: dict | None) -> list[Change]:
        raise NotImplementedError

    def apply(self, session: Session, change: Change) -> None:
        raise NotImplementedError

    # -- shared behaviour ---------------------------------------------------------------------------------
    def assume(self, missing: str) -> None:
        """Check mode: record something missing that a real run needs and an earlier task of the same check run
        may create (a namespace, a bridge, an interface, a connected subnet). The module warns about it."""
        self.assumed.append(missing)

    def label(self) -> str:
        return self.kind

    def namespaces(self) -> list[tuple[str, str]]:
        """(option, namespace) pairs that must exist for a real run of state=present."""
        return []

    def touched(self) -> set[str | None]:
        """The namespaces whose cached reads a change of this object makes stale (None = the host)."""
        return {ns for _option, ns in self.namespaces()} or {None}

    def validate_live(self, session: Session, before: dict | None, want: dict | None, check_mode: bool) -> None:
        """Checks against the live system that need the kernel (e.g. a master that is not a bridge).

        Called before anything changes; in check mode it may plan what it cannot verify yet.
        """

    def predict(self, before: dict | None, want: dict | None) -> dict | None:
        """The state a real run would leave (for check mode): what is wanted, over what is there."""
        if want is None:
            return None
        after = copy.deepcopy(before) if before else {}
        merge_wanted(after, want)
        return after

    def result_extra(self, after: dict | None) -> dict:
        return {}


def merge_wanted(target: dict, want: dict) -> None:
    """Recursive merge where None in `want` means 'left as it is'."""
    for key, value in want.items():
        if value is None:
            target.setdefault(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            merge_wanted(target[key], value)
        else:
            target[key] = copy.deepcopy(value)


@dataclass
class Outcome:
    changed: bool
    before: dict | None
    after: dict | None
    actions: list[str]
    resource: Resource
    changes: list[Change] = field(default_factory=list)


def converge(session: Session, resource: Resource, check_mode: bool, absent: bool = False) -> Outcome:
    """Read, plan, and (unless check mode) apply and verify one resource.

    absent=True: the caller knows the object does not exist (it planned it a moment ago), so it is not read.
    """
    want = resource.desired()
    if want is not None:
        for option, ns in resource.namespaces():
            if ns is not None and not session.view(ns).exists:
                if not check_mode:
                    raise NetnsCoreError(f"{option} {ns!r} does not exist")
                resource.assume(f"{option} {ns!r} does not exist")
    before = None if absent else resource.read(session)
    resource.validate_live(session, before, want, check_mode)
    changes = resource.plan(before, want)
    if not changes:
        return Outcome(False, before, before, [], resource)
    actions = [change.describe() for change in changes]
    if check_mode:
        return Outcome(True, before, resource.predict(before, want), actions, resource, changes)
    done: list[str] = []
    for change in changes:
        try:
            resource.apply(session, change)
        except NetnsCoreError as exc:
            raise NetnsCoreError(half_done(exc.msg, done), applied=done, reason=exc.msg) from None
        except (NetlinkError, OSError) as exc:
            reason = kernel_error(change.describe() + ":", exc).msg
            raise NetnsCoreError(half_done(reason, done), applied=done, reason=reason) from None
        done.append(change.describe())
    for ns in resource.touched():
        session.invalidate(ns, indexes=False)
    after = resource.read(session)
    leftover = resource.plan(after, want)
    if leftover:
        raise NetnsCoreError(
            f"{resource.label()} did not converge: after applying {actions} the kernel still differs "
            f"({[c.describe() for c in leftover]})",
            before=before,
            after=after,
        )
    return Outcome(True, before, after, actions, resource, changes)


@dataclass
class Item:
    """One object of a many-object call: where it was given (section, index) and its resource."""

    section: str
    index: int
    resource: Resource

    def where(self) -> str:
        return f"{self.section}[{self.index}] ({self.resource.label()})"


def converge_all(session: Session, items: list[Item], check_mode: bool, coming: set[str]) -> list[Outcome]:
    """Converge many objects in the given order, as one change.

    Everything is planned first, without touching anything, so an error anywhere (a name in the way, a
    namespace that neither exists nor is in `coming`) stops the call before the first change. A real run
    then converges each object in turn; a failure says which object failed and what was already applied.
    """
    planned = []
    promised: set[tuple] = set()
    for item in items:
        try:
            if item.resource.desired() is not None:
                for option, ns in item.resource.namespaces():
                    if ns is not None and ns not in coming and not session.view(ns).exists:
                        raise NetnsCoreError(f"{option} {ns!r} does not exist (and is not in namespaces)")
            planned.append(without_promised(converge(session, item.resource, check_mode=True), promised))
        except NetnsCoreError as exc:
            raise NetnsCoreError(f"{item.where()}: {exc.msg}; nothing was changed", applied=[]) from None
    if check_mode:
        return planned
    outcomes: list[Outcome] = []
    applied: list[str] = []
    for index, item in enumerate(items):
        plan = planned[index]
        if not plan.changed and (item.resource.state == "absent" or not applied):
            # nothing there to remove, or nothing changed since the plan read it: no second read
            outcomes.append(plan)
            continue
        absent = plan.before is None and not item.resource.reread_absent
        try:
            outcome = converge(session, item.resource, check_mode=False, absent=absent)
        except NetnsCoreError as exc:
            applied += list(exc.details.get("applied") or [])
            reason = str(exc.details.get("reason") or exc.msg)
            raise NetnsCoreError(half_done(f"{item.where()}: {reason}", applied), applied=applied) from None
        applied += outcome.actions
        outcomes.append(outcome)
    return outcomes


def without_promised(outcome: Outcome, promised: set[tuple]) -> Outcome:
    """Drop sysctl writes an earlier object of the same call already plans (e.g. a router namespace created with
    ip_forward=1, then a masquerade in it): the real run will find them done. Records this plan's writes."""
    writes = [c for c in outcome.changes if c.op == "sysctl"]
    kept = [c for c in outcome.changes if c.op != "sysctl" or _sysctl_write(c) not in promised]
    promised.update(_sysctl_write(c) for c in writes)
    if len(kept) == len(outcome.changes):
        return outcome
    after = outcome.after if kept else outcome.before
    return Outcome(bool(kept), outcome.before, after, [c.describe() for c in kept], outcome.resource, kept)


def _sysctl_write(change: Change) -> tuple:
    return (change.args.get("ns"), change.args.get("key"), change.args.get("value"))


def half_done(msg: str, done: list[str]) -> str:
    if not done:
        return msg + "; nothing was changed"
    return msg + "; already applied before the failure: " + "; ".join(done)


def outcome_result(outcome: Outcome) -> dict:
    result = {
        "changed": outcome.changed,
        "actions": outcome.actions,
        "diff": {"before": outcome.before or {}, "after": outcome.after or {}},
    }
    result.update(outcome.resource.result_extra(outcome.after))
    return result


def run_resource(module, build) -> None:
    """The body of a single-object module: validate, converge, exit_json / fail_json once."""

    def work(session: Session) -> dict:
        resource = build(module.params, module)
        result = outcome_result(converge(session, resource, module.check_mode))
        for missing in resource.assumed:
            module.warn(
                f"check mode: {missing}; planned as if an earlier task of this run creates it (a real run fails"
                " if nothing does)"
            )
        return result

    run_module(module, work)
