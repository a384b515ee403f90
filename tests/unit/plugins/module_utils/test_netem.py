# SPDX-License-Identifier: GPL-3.0-or-later
"""netem without a kernel: the units, the netlink messages of every option (through pyroute2's own encoder and
decoder), the qdisc operations' simulate(), and the plans (add, change, switch kind, remove, refuse)."""

from __future__ import annotations

import pytest
from pyroute2.netlink.rtnl.tcmsg import plugins, tcmsg

from ansible_collections.netns.core.plugins.filter.topology_network import topology_network
from ansible_collections.netns.core.plugins.module_utils import _ops
from ansible_collections.netns.core.plugins.module_utils import _tc as tc
from ansible_collections.netns.core.plugins.module_utils._errors import NetnsCoreError
from ansible_collections.netns.core.plugins.module_utils._model import KernelModel, new_link
from ansible_collections.netns.core.plugins.module_utils._netem import Netem
from ansible_collections.netns.core.plugins.module_utils._ops import AddQdisc, ChangeQdisc, DeleteQdisc, MoveLink

U32 = 2**32 - 1


def message(spec: dict, index: int = 7):
    """The RTM_NEWQDISC message AddQdisc sends for `spec`, encoded and decoded again as the kernel would see it."""
    kind, arguments = tc.tc_arguments(spec)
    msg = tcmsg()
    msg["index"], msg["handle"], msg["parent"] = index, tc.HANDLE, tc.TC_H_ROOT
    msg["attrs"] = [["TCA_KIND", kind], ["TCA_OPTIONS", plugins[kind].get_parameters(dict(arguments))]]
    msg.encode()
    back = tcmsg(msg.data)
    back.decode()
    return back


# -- units --------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "micros"), [("100ms", 100_000), ("1.5s", 1_500_000), ("250us", 250), ("20", 20_000), ("2 ms", 2000)]
)
def test_times(text, micros):
    assert tc.parse_time(text, "delay") == micros
    assert tc.parse_time(tc.format_time(micros), "delay") == micros


@pytest.mark.parametrize(
    ("text", "rate"), [("10mbit", 1_250_000), ("512kbit", 64_000), ("1gbit", 125_000_000), ("100kbps", 100_000)]
)
def test_rates(text, rate):
    assert tc.parse_rate(text, "rate") == rate
    assert tc.parse_rate(tc.format_rate(rate), "rate") == rate


@pytest.mark.parametrize(
    ("option", "value", "fragment"),
    [
        ("delay", "0ms", "more than 0"),
        ("delay", "200s", "at most 100s"),
        ("delay", "fast", "not a number with a unit"),
        ("delay", "5min", "unknown time unit"),
        ("loss", "0%", "more than 0%"),
        ("loss", "101%", "at most 100%"),
        ("loss", "5ms", "not a percentage"),
        ("rate", "10mbyte", "unknown rate unit"),
        ("rate", "40gbit", "at most 34gbit"),
    ],
)
def test_bad_values_name_the_option(option, value, fragment):
    with pytest.raises(NetnsCoreError) as error:
        Netem({"interface": "eth0", option: value})
    assert error.value.msg.startswith(f"{option}: ") and fragment in error.value.msg


def test_combinations_tc_netem_refuses_too():
    for params, fragment in (
        ({"jitter": "5ms"}, "jitter needs a delay"),
        ({"reorder": "5%"}, "reorder needs a delay"),
        ({}, "give at least one of"),
    ):
        with pytest.raises(NetnsCoreError, match=fragment):
            Netem({"interface": "eth0", **params})
    assert Netem({"interface": "eth0", "state": "absent"}).desired() is None


# -- the netlink messages -----------------------------------------------------------------------------------------
def test_a_rate_alone_is_a_tbf_message():
    msg = message({"rate": 1_250_000})
    assert (msg["handle"], msg["parent"], msg.get_attr("TCA_KIND")) == (0x4E530000, 0xFFFFFFFF, "tbf")
    parms = msg.get_attr("TCA_OPTIONS").get_attr("TCA_TBF_PARMS")
    assert parms["rate"] == 1_250_000
    assert parms["limit"] == 65_550 + 1_250_000 // 20  # the bucket and 50 ms of the rate
    assert parms["buffer"] == int(1_000_000 * 65_550 / 1_250_000 * tc.TICKS_PER_US)  # the bucket, in ticks
    assert tc.parse_qdisc(msg)["form"] == tc.kernel_form({"rate": 1_250_000})


@pytest.mark.parametrize(
    ("option", "value", "field", "expected"),
    [
        ("delay", 100_000, "delay", int(100_000 * tc.TICKS_PER_US)),
        ("loss", 10.0, "loss", int(U32 * 0.1)),
        ("duplicate", 1.0, "duplicate", int(U32 * 0.01)),
    ],
)
def test_netem_fields_of_the_fixed_part(option, value, field, expected):
    spec = {"delay": 1000, option: value}
    options = message(spec).get_attr("TCA_OPTIONS")
    assert options[field] == expected and options["limit"] == 1000


def test_jitter_is_a_tick_count_next_to_the_delay():
    options = message({"delay": 100_000, "jitter": 2000}).get_attr("TCA_OPTIONS")
    assert options["delay"] == 1_562_500 and options["jitter"] == 31_250  # 64 ns ticks


def test_corrupt_reorder_and_rate_are_nested_attributes():
    options = message({"delay": 10_000, "corrupt": 0.1, "reorder": 25.0, "rate": 125_000}).get_attr("TCA_OPTIONS")
    assert options.get_attr("TCA_NETEM_CORRUPT")["prob_corrupt"] == int(U32 * 0.001)
    assert options.get_attr("TCA_NETEM_REORDER")["prob_reorder"] == int(U32 * 0.25)
    assert options["gap"] == 1  # as tc-netem(8): reorder without gap means gap 1
    assert options.get_attr("TCA_NETEM_RATE")["rate"] == 125_000


def test_unset_options_are_not_sent():
    options = message({"loss": 5.0}).get_attr("TCA_OPTIONS")
    assert options["delay"] == options["jitter"] == options["duplicate"] == options["gap"] == 0
    assert options.get_attr("TCA_NETEM_REORDER") is None and options.get_attr("TCA_NETEM_CORRUPT") is None
    assert options.get_attr("TCA_NETEM_RATE") is None


def test_what_the_kernel_reports_back_compares_equal_to_what_was_asked():
    spec = {"delay": 80_000, "jitter": 20_000, "loss": 2.0, "duplicate": 1.0, "corrupt": 0.5, "reorder": 5.0}
    spec["rate"] = 625_000
    parsed = tc.parse_qdisc(message(spec))
    assert tc.owner(parsed) == "ours" and parsed["form"] == tc.kernel_form(spec)
    assert tc.describe("netem", parsed["form"]) == {
        "qdisc": "netem",
        "delay": "80ms",
        "jitter": "20ms",
        "loss": "2%",
        "duplicate": "1%",
        "corrupt": "0.5%",
        "reorder": "5%",
        "rate": "5mbit",
    }


def test_owner_of_a_root_qdisc():
    assert tc.owner(None) == tc.owner({"handle": 0, "kind": "noqueue"}) == "default"
    assert tc.owner({"handle": tc.HANDLE, "kind": "tbf"}) == "ours"
    assert tc.owner({"handle": tc.HANDLE, "kind": "htb"}) == "foreign"
    assert tc.owner({"handle": 0x10000, "kind": "netem"}) == "foreign"
    assert tc.handle_text(0x10000) == "1:" and tc.handle_text(tc.HANDLE) == "4e53:"


# -- simulate -------------------------------------------------------------------------------------------------------
@pytest.fixture
def model():
    model = KernelModel(None)
    model.add_namespace("a")
    model.add_link("a", new_link("eth0", "veth", peer=("a", "eth1")))
    model.add_link("a", new_link("eth1", "veth", peer=("a", "eth0")))
    return model


def test_a_new_link_has_the_default_qdisc(model):
    assert model.root_qdisc("a", "eth0") is None and model.root_qdisc("a", "nope") is None


def test_add_change_delete_simulate(model):
    _ops.known(AddQdisc("a", "eth0", {"rate": 125_000})).simulate(model)
    root = model.root_qdisc("a", "eth0")
    assert (root["handle"], root["kind"], root["form"]) == (tc.HANDLE, "tbf", tc.kernel_form({"rate": 125_000}))
    assert model.root_qdisc("a", "eth1") is None
    _ops.known(ChangeQdisc("a", "eth0", {"rate": 250_000})).simulate(model)
    assert model.root_qdisc("a", "eth0")["form"]["rate"] == 250_000
    _ops.known(DeleteQdisc("a", "eth0")).simulate(model)
    assert model.root_qdisc("a", "eth0") is None


def test_a_moved_link_loses_its_qdisc(model):
    AddQdisc("a", "eth0", {"rate": 125_000}).simulate(model)
    model.add_namespace("b")
    MoveLink("a", "eth0", "b").simulate(model)
    assert model.root_qdisc("b", "eth0") is None


def test_qdisc_operations_touch_one_namespace_and_keep_indexes():
    for op in (AddQdisc("a", "eth0", {"rate": 1}), ChangeQdisc("a", "eth0", {"rate": 1}), DeleteQdisc("a", "eth0")):
        assert op.stale() == (("a",), False)


# -- plans ------------------------------------------------------------------------------------------------------------
def plan(model, **params):
    resource = Netem({"interface": "eth0", "netns": "a", **params})
    before = resource.read(model)
    return before, [op.describe() for op in resource.plan(model, before, resource.desired())]


def test_plans(model):
    assert plan(model, rate="10mbit") == (None, ["add tbf on eth0 in netns a (rate 10mbit)"])
    AddQdisc("a", "eth0", Netem({"interface": "eth0", "rate": "10mbit"}).spec).simulate(model)
    before, texts = plan(model, rate="10mbit")
    assert texts == [] and before["rate"] == "10mbit" and before["handle"] == "4e53:"
    assert plan(model, rate="20mbit")[1] == ["change tbf on eth0 in netns a (rate 20mbit)"]
    assert plan(model, delay="10ms", loss="1%")[1] == [
        "remove the tbf qdisc of netns.core from eth0 in netns a",
        "add netem on eth0 in netns a (delay 10ms loss 1%)",
    ]
    assert plan(model, state="absent")[1] == ["remove the tbf qdisc of netns.core from eth0 in netns a"]
    DeleteQdisc("a", "eth0").simulate(model)
    assert plan(model, state="absent") == (None, [])


def test_a_foreign_root_qdisc_is_refused(model):
    model.set_root_qdisc("a", "eth0", {"index": 2, "handle": 0x10000, "parent": tc.TC_H_ROOT, "kind": "htb"})
    with pytest.raises(NetnsCoreError, match=r"root qdisc netns.core did not make \(htb, handle 1:\)"):
        plan(model, rate="1mbit")
    assert plan(model, state="absent") == (None, [])  # not ours: nothing to remove


def test_without_netem_only_a_rate_can_be_planned(model):
    model.qdisc_kinds["netem"] = False
    assert plan(model, rate="1mbit")[1] == ["add tbf on eth0 in netns a (rate 1mbit)"]
    for params in ({"delay": "1ms"}, {"loss": "1%", "rate": "1mbit"}, {"duplicate": "1%"}, {"corrupt": "1%"}):
        with pytest.raises(NetnsCoreError, match=r"CONFIG_NET_SCH_NETEM .*sch_netem"):
            plan(model, **params)


def test_a_missing_interface():
    model = KernelModel(None)
    model.add_namespace("a")
    with pytest.raises(NetnsCoreError, match="interface 'eth0' does not exist in netns a; nothing was changed"):
        plan(model, rate="1mbit")
    checking = KernelModel(None, may_assume=True)
    checking.add_namespace("a")
    assert plan(checking, rate="1mbit")[1] == ["add tbf on eth0 in netns a (rate 1mbit)"]
    assert checking.assumed == ["interface 'eth0' does not exist in netns a"]


# -- the topology filter --------------------------------------------------------------------------------------------
def test_topology_links_netem_per_end():
    result = topology_network(
        {
            "nodes": [{"name": "a"}, {"name": "b"}],
            "links": [
                {"endpoints": ["a:eth0", "b:eth0"], "netem": [{"rate": "10mbit"}, {"delay": "5ms"}]},
                {"endpoints": ["a:eth1", "host:veth-a"], "netem": [None, {"loss": "1%"}]},
                {"endpoints": ["a:eth2", "b:eth2"]},
            ],
        }
    )
    assert result["netems"] == [
        {"interface": "eth0", "netns": "a", "rate": "10mbit"},
        {"interface": "eth0", "netns": "b", "delay": "5ms"},
        {"interface": "veth-a", "netns": None, "loss": "1%"},
    ]
    for bad in ([{"rate": "1mbit"}], [{"interface": "x"}, None], "10mbit"):
        with pytest.raises(Exception, match=r"topology_links\[0\]\.netem"):
            topology_network({"nodes": [{"name": "a"}], "links": [{"endpoints": ["a:x", "a:y"], "netem": bad}]})
