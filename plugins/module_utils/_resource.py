# SPDX-License-Identifier: GPL-3.0-or-later
# PRIVATE to the netns.core collection: no compatibility promise outside it.
"""The engine: read -> desired -> plan -> execute -> verify, one code path for real, check and diff mode.

Each resource kind subclasses Resource:
  desired()                    the wanted state, from the params alone; None = absent
  read(model)                  the state as the kernel model holds it, JSON-serialisable; None = absent
  plan(model, before, want)    the typed operations (see _ops) that take `before` to `want`; pure: everything it
                               uses comes in as an argument (a conflict it finds raises NetnsCoreError; something
                               missing goes through model.missing(), which only a check run may plan around)

converge() threads one KernelModel through every item of a call: each item is read and planned against what the
items before it will have made (their operations simulated on the model), so the whole call is planned before the
first change. Check mode stops there and reports the model's prediction. A real run executes the operations in
order, lets the engine invalidate the reads they make stale, then reads everything again from a fresh model: each
item must plan nothing more ("did not converge" otherwise), and that fresh read is what the run reports.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ansible_collections.netns.core.plugins.module_utils._constants import BRIDGE_MAX_PORTS
from ansible_collections.netns.core.plugins.module_utils._deps import NetlinkError
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._firewall import Firewalls
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, where
from ansible_collections.netns.core.plugins.module_utils._netlink import Session, foreign_netns_error, kernel_error
from ansible_collections.netns.core.plugins.module_utils._ops import (
    EVERY_NAMESPACE,
    DeleteLink,
    DeleteNetns,
    DeleteRoute,
    ExecContext,
    Op,
    SetMaster,
    known,
)
from ansible_collections.netns.core.plugins.module_utils._runtime import run_module


class Resource:
    """Base class of every managed object kind."""

    kind = "object"

    def __init__(self, params: dict) -> None:
        self.params = params
        self.state = params.get("state") or "present"

    def desired(self) -> dict | None:
        raise NotImplementedError

    def read(self, model: KernelModel) -> dict | None:
        raise NotImplementedError

    def plan(self, model: KernelModel, before: dict | None, want: dict | None) -> list[Op]:
        raise NotImplementedError

    def label(self) -> str:
        return self.kind

    def namespaces(self) -> list[tuple[str, str | None]]:
        """(option, namespace) pairs that must exist for state=present."""
        return []

    def result_extra(self, after: dict | None) -> dict:
        return {}

    def claims(self) -> list[tuple[str | None, str]]:
        """The interfaces (namespace, name) this object is: no two objects of one call may claim one."""
        return []


@dataclass
class Item:
    """One object of a call: where it was given (section, index) and its resource. A single module's one object
    has no section."""

    section: str | None
    index: int
    resource: Resource

    def where(self) -> str:
        return f"{self.section}[{self.index}] ({self.resource.label()})"


@dataclass
class Outcome:
    changed: bool
    before: dict | None
    after: dict | None
    actions: list[str]
    resource: Resource
    ops: list[Op] = field(default_factory=list)


@dataclass
class Result:
    """What a call did (or, in check mode, would do): one Outcome per item, and what the check run assumed."""

    outcomes: list[Outcome]
    assumed: list[str]
    unseen: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)


def converge(session: Session, items: list[Item], check_mode: bool, module=None) -> Result:
    """Plan every item against one model, then (unless check mode) execute and verify. See the module docstring.

    A single module's item (section None) in check mode may plan in a namespace that does not exist yet (an earlier
    task of the play may create it: it is assumed, and the result says so); in a many-object call, a namespace must
    exist or be made by an earlier item of the call.
    """
    firewall = Firewalls(module, session)
    session.bulk = len(items) >= BULK_ITEMS
    model = KernelModel(session, firewall, may_assume=check_mode)
    model.claims = {claim for item in items for claim in item.resource.claims()}
    planned: list[tuple[dict | None, dict | None, list[Op]]] = []
    for item in items:
        try:
            planned.append(_plan_item(model, item, check_mode))
        except NetnsCoreError as exc:
            where = "" if item.section is None else f"{item.where()}: "
            raise NetnsCoreError(half_done(where + exc.msg, []), applied=[]) from None
    try:
        _check_limits(model, [op for _before, _want, ops in planned for op in ops])
    except NetnsCoreError as exc:
        raise NetnsCoreError(half_done(exc.msg, []), applied=[]) from None
    if not any(ops for _before, _want, ops in planned):
        outcomes = [Outcome(False, b, b, [], i.resource) for i, (b, _w, _o) in zip(items, planned)]  # noqa: B905
        return Result(outcomes, list(model.assumed), list(model.unseen), list(model.left))
    if check_mode:
        outcomes = [
            Outcome(bool(ops), before, item.resource.read(model), _texts(ops), item.resource, ops)
            for item, (before, _want, ops) in zip(items, planned)  # noqa: B905 (equal lengths; py3.9 targets)
        ]
        return Result(outcomes, list(model.assumed), list(model.unseen), list(model.left))
    bulk, session.bulk = session.bulk, False
    _execute(session, items, planned, firewall)
    session.bulk = bulk
    return Result(_verify(session, items, planned, firewall), [], [], list(model.left))


#: a call of this many objects reads the host in bulk while it plans and verifies (see Session.bulk)
BULK_ITEMS = 8


def _plan_item(model: KernelModel, item: Item, check_mode: bool) -> tuple[dict | None, dict | None, list[Op]]:
    resource = item.resource
    want = resource.desired()
    if want is None and check_mode and item.section is None:
        for option, ns in resource.namespaces():
            if ns is not None and not model.exists(ns):
                model.unseen.append(
                    f"{option} {ns!r} does not exist (yet): if an earlier task of this run creates it, what this task"
                    " would find there cannot be known"
                )
    for _option, ns in resource.namespaces():
        if ns is not None and model.status(ns) == "foreign":
            raise foreign_netns_error(ns)
    if want is not None:
        for option, ns in resource.namespaces():
            if ns is None or model.exists(ns):
                continue
            if item.section is not None:
                raise NetnsCoreError(f"{option} {ns!r} does not exist (and is not in namespaces)")
            if not check_mode:
                raise NetnsCoreError(f"{option} {ns!r} does not exist")
            model.assume_namespace(ns, f"{option} {ns!r} does not exist")
    before = resource.read(model)
    ops = [known(op) for op in resource.plan(model, before, want)]
    for op in ops:
        op.simulate(model)
    return before, want, ops


def _check_limits(model: KernelModel, ops: list[Op]) -> None:
    """Kernel limits a plan could run into half way, checked on the model of the whole call first."""
    bridges = {(op.ns, op.master) for op in ops if isinstance(op, SetMaster)}
    for ns, bridge in sorted(bridges, key=str):
        ports = model.ports(ns, bridge)
        if len(ports) > BRIDGE_MAX_PORTS:
            raise NetnsCoreError(
                f"bridge {bridge!r}{where(ns)} would have {len(ports)} ports; Linux takes at most {BRIDGE_MAX_PORTS}"
                " per bridge: split the containers over several bridges (networks)"
            )


def _texts(ops: list[Op]) -> list[str]:
    return [op.describe() for op in ops]


def _execute(session: Session, items: list[Item], planned: list, firewall: Firewalls) -> list[str]:
    """Carry out every operation in plan order; a failure says which item failed and what was already applied.

    Firewall changes of a transactional backend (nftables) are queued and committed together: before the first
    operation that deletes, moves or renumbers (a namespace that goes takes its rules with it), and at the end. So
    the rule changes of one call are one transaction; they count as applied once it is committed.

    In a call that only removes, links and routes that a later namespace deletion of the call takes with it are
    not deleted one by one (see _folded): they count as applied with that deletion, and the links elsewhere that
    go with it (veth ends) are waited for, bounded, before the next other operation and at the end.
    """
    ctx = ExecContext(session, firewall)
    applied: list[str] = []
    queued: list[tuple[Item, str]] = []
    folded, vanishing = _folded([op for _before, _want, ops in planned for op in ops])
    done_with: dict[int, list[str]] = {}
    for item, (_before, _want, ops) in zip(items, planned):  # noqa: B905
        for op in ops:
            if id(op) in folded:
                done_with.setdefault(folded[id(op)], []).append(op.describe())
                continue
            if queued and op.stale()[1]:
                _commit(ctx, queued, applied)
            try:
                if ctx.vanishing and op.touches_links:
                    ctx.settle()
                op.execute(ctx)
            except NetnsCoreError as exc:
                _fail(item, exc.msg, applied)
            except (NetlinkError, OSError) as exc:
                _fail(item, kernel_error(op.describe() + ":", exc).msg, applied)
            _invalidate(session, op)
            ctx.vanishing.extend(vanishing.get(id(op), ()))
            applied.extend(done_with.pop(id(op), ()))
            if op.deferred(ctx):
                queued.append((item, op.describe()))
            else:
                applied.append(op.describe())
    try:
        ctx.settle()
    except (NetlinkError, OSError) as exc:
        _fail(items[-1], kernel_error("deleting the links left by deleted namespaces:", exc).msg, applied)
    _commit(ctx, queued, applied)
    return applied


def _folded(ops: list[Op]) -> tuple[dict[int, int], dict[int, tuple]]:
    """The links and routes that a later namespace deletion of the same call takes with it, in a call that only
    removes: {id(op): id(deletion)}, and per deletion the veth ends elsewhere to wait for {id(deletion): ends}.

    A namespace's deletion takes its links, and with a veth its other end, wherever it is, and its routes. Should
    a process keep the namespace alive, the ends elsewhere do not go: ExecContext.settle deletes them after its
    bound, so the pair goes either way."""
    if not all(op.removes for op in ops):  # nothing that creates may stand between an op and its deletion
        return {}, {}
    deletions: dict[str, tuple[int, Op]] = {}
    for position, op in enumerate(ops):
        if isinstance(op, DeleteNetns) and not op.lives_on and op.name not in deletions:
            deletions[op.name] = (position, op)

    def deleted_after(ns: str | None, position: int) -> Op | None:
        found = deletions.get(ns) if ns is not None else None
        return found[1] if found is not None and found[0] > position else None

    folded: dict[int, int] = {}
    vanishing: dict[int, tuple] = {}
    for position, op in enumerate(ops):
        if isinstance(op, DeleteRoute) and deleted_after(op.ns, position) is not None:
            folded[id(op)] = id(deleted_after(op.ns, position))
        elif isinstance(op, DeleteLink):
            ends = [(op.ns, op.name)] + ([tuple(op.peer)] if op.peer else [])
            taking = [deleted_after(ns, position) for ns, _name in ends]
            deletion = next((found for found in taking if found is not None), None)
            if deletion is None:
                continue
            folded[id(op)] = id(deletion)
            survivors = tuple(end for end, found in zip(ends, taking) if found is None)  # noqa: B905
            vanishing[id(deletion)] = vanishing.get(id(deletion), ()) + survivors
    return folded, vanishing


def _commit(ctx: ExecContext, queued: list[tuple[Item, str]], applied: list[str]) -> None:
    """Commit the queued firewall changes; they are applied together, or (the failure says so) none of them."""
    if not queued:
        return
    try:
        ctx.commit()
    except NetnsCoreError as exc:
        items = []
        for item, _text in queued:
            if item not in items:
                items.append(item)
        _fail(items[0] if len(items) == 1 else Item(None, 0, items[0].resource), exc.msg, applied)
    applied += [text for _item, text in queued]
    queued.clear()


def _invalidate(session: Session, op: Op) -> None:
    """Forget the reads an executed operation made stale (it declares which)."""
    namespaces, renumbers = op.stale()
    if EVERY_NAMESPACE in namespaces:
        session.invalidate(everything=True, indexes=renumbers)
        return
    for ns in namespaces:
        session.invalidate(ns, indexes=renumbers)


def _fail(item: Item, reason: str, applied: list[str]) -> None:
    where = "" if item.section is None else f"{item.where()}: "
    raise NetnsCoreError(half_done(where + reason, applied), applied=list(applied), reason=reason) from None


def _verify(session: Session, items: list[Item], planned: list, firewall: Firewalls) -> list[Outcome]:
    """Read every item again from the kernel: nothing may be left to do."""
    session.invalidate(everything=True)
    fresh = KernelModel(session, firewall)
    outcomes = []
    for item, (before, want, ops) in zip(items, planned):  # noqa: B905
        after = item.resource.read(fresh)
        try:
            leftover = item.resource.plan(fresh, after, want)
        except NetnsCoreError as exc:
            leftover = [exc.msg]
        if leftover:
            texts = [op.describe() if isinstance(op, Op) else op for op in leftover]
            where = "" if item.section is None else f"{item.where()}: "
            raise NetnsCoreError(
                f"{where}{item.resource.label()} did not converge: after applying {_texts(ops)} the kernel still "
                f"differs ({texts})",
                before=before,
                after=after,
            )
        outcomes.append(Outcome(bool(ops), before, after, _texts(ops), item.resource, ops))
    return outcomes


#: a failure message lists this many applied actions at most (the last ones); the result's `applied` has them all
SHOWN_APPLIED = 8


def half_done(msg: str, done: list[str]) -> str:
    if not done:
        if msg.endswith("nothing was changed"):
            return msg
        return msg + "; nothing was changed"
    if len(done) > SHOWN_APPLIED:
        last = "; ".join(done[-SHOWN_APPLIED:])
        return f"{msg}; {len(done)} actions were applied before the failure, the last {SHOWN_APPLIED}: {last}"
    return msg + "; already applied before the failure: " + "; ".join(done)


def outcome_result(outcome: Outcome) -> dict:
    result = {
        "changed": outcome.changed,
        "actions": outcome.actions,
        "diff": {"before": outcome.before or {}, "after": outcome.after or {}},
    }
    result.update(outcome.resource.result_extra(outcome.after))
    return result


def warn_assumed(module, result: Result) -> None:
    """Say what a check run planned around (and what it could not see)."""
    for missing in result.assumed:
        module.warn(
            f"check mode: {missing}; planned as if an earlier task of this run creates it (a real run fails"
            " if nothing does)"
        )
    for text in result.unseen:
        module.warn(f"check mode: {text}")
    for text in result.left:
        module.warn(text)


def run_resource(module, build) -> None:
    """The body of a single-object module: validate, converge, exit_json / fail_json once."""

    def work(session: Session) -> dict:
        resource = build(module.params, module)
        result = converge(session, [Item(None, 0, resource)], module.check_mode, module)
        warn_assumed(module, result)
        return outcome_result(result.outcomes[0])

    run_module(module, work)
