"""Topologies, collective algorithms and the system catalog: exact small cases."""

from __future__ import annotations

import numpy as np
import pytest
from pydantic import ValidationError

from jalapeno.errors import JalapenoError, SpecError, UnknownIdError
from jalapeno.hardware.catalog import load_chip
from jalapeno.hardware.systems import load_system, system_ids
from jalapeno.network import algorithms as A
from jalapeno.network.topology import Level, Topology, topology_from_links

SIZES = np.array([256.0, 64e3, 4e6, 256e6])


def switch(n=8, bw=450.0, lat=2.5, **kw) -> Level:
    return Level(kind="switch", size=n, bandwidth_gb_s=bw, latency_us=lat, **kw)


def close(a, b):
    np.testing.assert_allclose(a, b, rtol=1e-12, atol=0)


# --- topology ---------------------------------------------------------------------------------

def test_torus_dims_must_multiply_to_size():
    with pytest.raises(ValidationError, match=r"torus dims \[4, 4\] multiply to 16, not to size 8"):
        Level(kind="torus", size=8, dims=(4, 4), bandwidth_gb_s=100, latency_us=1)
    with pytest.raises(ValidationError, match="needs dims"):
        Level(kind="torus", size=16, bandwidth_gb_s=100, latency_us=1)
    with pytest.raises(ValidationError, match="only apply to a torus"):
        Level(kind="switch", size=16, dims=(4, 4), bandwidth_gb_s=100, latency_us=1)
    with pytest.raises(ValidationError, match="oversubscription only applies"):
        Level(kind="switch", size=8, bandwidth_gb_s=100, latency_us=1, oversubscription=2)
    with pytest.raises(ValidationError, match="in_network_reduction needs switches"):
        Level(kind="mesh", size=8, bandwidth_gb_s=100, latency_us=1, in_network_reduction=True)


def test_groups_for_fills_innermost_first():
    t = Topology(levels=(switch(8), Level(kind="fat_tree", size=32, bandwidth_gb_s=50, latency_us=5)))
    assert t.groups_for(16) == (8, 2)
    assert t.groups_for(4) == (4,)
    assert t.groups_for(256) == (8, 32)
    assert t.scale_up_chips == 8 and t.num_chips == 256
    with pytest.raises(JalapenoError, match="groups of 8"):
        t.groups_for(12)
    with pytest.raises(JalapenoError, match="exceed"):
        t.groups_for(512)
    assert [lv.size for lv in t.restrict(16).levels] == [8, 2]


def test_mesh_subgroup_keeps_per_peer_links():
    mesh = Level(kind="mesh", size=8, bandwidth_gb_s=448, latency_us=5)
    sub = mesh.subgroup(4)
    assert sub.link_gb_s == pytest.approx(64.0) and sub.bandwidth_gb_s == pytest.approx(192.0)


def test_torus_slices_keep_wraparound_only_on_full_axes():
    pod = Level(kind="torus", size=256, dims=(16, 16), bandwidth_gb_s=200, latency_us=1)
    assert pod.link_gb_s == 50
    for n, dims, wraps in [(8, (2, 4), (False, False)), (64, (8, 8), (False, False)),
                           (128, (8, 16), (False, True)), (256, (16, 16), (True, True))]:
        sub = pod.subgroup(n)
        assert (sub.dims, sub.wraps) == (dims, wraps)
        assert sub.link_gb_s == 50  # per-link rate unchanged
    with pytest.raises(JalapenoError, match="do not form a block"):
        pod.subgroup(17)


def test_topology_from_links_matches_chip():
    chip = load_chip("h100-sxm")
    t = topology_from_links(chip.links)
    assert t.levels[0].kind == "switch" and t.num_chips == 8 and t.levels[0].bandwidth_gb_s == 450
    v5e = topology_from_links(load_chip("tpu-v5e").links, 64)
    assert v5e.levels[0].dims == (8, 8)


# --- algorithms: exact formulas -----------------------------------------------------------------

def test_ring_all_reduce_exact():
    n, b, a = 8, 450e9, 2.5e-6
    t = Topology(levels=(switch(n),))
    r = A.all_reduce(t, n, SIZES, algorithms=["ring"])
    close(r.time_s, 2 * (n - 1) / n * SIZES / b + 2 * (n - 1) * a)
    close(r.link_bytes, 2 * (n - 1) / n * SIZES)
    assert set(r.algorithm) == {"ring"}
    # efficiency scales the bandwidth term only
    r2 = A.all_reduce(t, n, SIZES, algorithms=["ring"], efficiency=0.5)
    close(r2.time_s, 2 * (n - 1) / n * SIZES / (0.5 * b) + 2 * (n - 1) * a)
    # a pipelined-step discount keeps the first step whole
    r3 = A.all_reduce(t, n, SIZES, algorithms=["ring"], hop_latency_share=0.25)
    close(r3.time_s, 2 * (n - 1) / n * SIZES / b + a * (1 + (2 * (n - 1) - 1) * 0.25))


def test_ring_all_gather_and_reduce_scatter_exact():
    n, b, a = 8, 450e9, 2.5e-6
    t = Topology(levels=(switch(n),))
    for op in (A.all_gather, A.reduce_scatter):
        r = op(t, n, SIZES, algorithms=["ring"])
        close(r.time_s, (n - 1) / n * SIZES / b + (n - 1) * a)
    # direct (all peers at once through the switch) has the same bandwidth term and one latency
    close(A.all_gather(t, n, SIZES).time_s, (n - 1) / n * SIZES / b + a)


def test_bidirectional_ring_level():
    k, bw, a = 8, 100.0, 1e-6  # a ring level: 2 ports of 50 GB/s each direction
    t = Topology(levels=(Level(kind="ring", size=k, bandwidth_gb_s=bw, latency_us=1),))
    r = A.all_reduce(t, k, SIZES)
    close(r.time_s, 2 * (k - 1) / k * SIZES / (2 * 50e9) + 2 * (k // 2) * a)
    line = Topology(levels=(Level(kind="ring", size=k, bandwidth_gb_s=bw, latency_us=1, wraparound=False),))
    close(A.all_gather(line, k, SIZES).time_s, (k - 1) / k * SIZES / 50e9 + (k - 1) * a)


def test_one_shot_two_shot_crossover_on_switch():
    n, b, a = 8, 450e9, 2.5e-6
    t = Topology(levels=(switch(n),))
    c = A.candidates("all_reduce", t, n, SIZES)
    close(c["one_shot"], (n - 1) * SIZES / b + a)
    close(c["two_shot"], 2 * (n - 1) / n * SIZES / b + 2 * a)
    cross = a * b * n / ((n - 1) * (n - 2))  # one_shot == two_shot here (~214 kB)
    r = A.all_reduce(t, n, np.array([cross * 0.5, cross * 2]))
    assert list(r.algorithm) == ["one_shot", "two_shot"]
    c = A.candidates("all_reduce", t, n, np.array([cross]))
    assert c["one_shot"][0] == pytest.approx(c["two_shot"][0], rel=1e-12)


def test_in_network_reduction_wins_large_messages():
    t = Topology(levels=(switch(8, in_network_reduction=True, reduction_latency_us=23),))
    r = A.all_reduce(t, 8, np.array([1e3, 1e9]))
    assert list(r.algorithm) == ["one_shot", "in_network"]
    close(r.time_s[1:], (1 + 1 / 8) * 1e9 / 450e9 + 23e-6)  # S + S/n each way through the switch


def test_all_to_all_torus_vs_switch_pinned():
    b, a, m = 400e9, 1e-6, SIZES
    torus = Topology(levels=(Level(kind="torus", size=16, dims=(4, 4), bandwidth_gb_s=400, latency_us=1),))
    sw = Topology(levels=(switch(16, bw=400, lat=1),))
    w = b / 4  # 4 ports of 100 GB/s
    # each 4-ring carries a 1-D all-to-all of the whole buffer: busiest link m*k/8 at w, both dims at once
    close(A.all_to_all(torus, 16, m).time_s, m * 4 / 8 / w + (2 + 2) * a)  # = 2 m / B + 4 alpha
    close(A.all_to_all(sw, 16, m).time_s, 15 / 16 * m / b + a)
    close(A.all_to_all(torus, 16, m).link_bytes, m * (4 / 4 + 4 / 4))  # average 1 hop per dimension


def test_full_torus_all_reduce_uses_all_ports():
    pod = Topology(levels=(Level(kind="torus", size=256, dims=(16, 16), bandwidth_gb_s=200, latency_us=1),))
    s = np.array([1e9])
    r = A.all_reduce(pod, 256, s)
    assert r.algorithm[0] == "dim_ordered_multiport"
    n = 256
    close(r.time_s, 2 * (n - 1) / n * s / 200e9 + 2 * (8 + 8) * 1e-6)  # as a switch at the chip's bandwidth
    seq = A.candidates("all_reduce", pod, 256, s)["dim_ordered"]
    close(seq, 2 * (15 / 16 * s / 16 / 100e9 + 15 / 16 * s / 100e9) + 32e-6)


def test_hierarchical_all_reduce_two_levels():
    b0, a0, b1, a1 = 450e9, 2.5e-6, 10e9, 5e-6
    t = Topology(levels=(switch(8), Level(kind="fat_tree", size=2, bandwidth_gb_s=10, latency_us=5)))
    s = np.array([64e6])
    c = A.candidates("all_reduce", t, 16, s)
    # reduce-scatter in the node (direct), all-reduce of S/8 over 2 nodes (ring), all-gather in the node
    hier = 2 * (7 / 8 * s / b0 + a0) + (2 * 1 / 2 * (s / 8) / b1 + 2 * a1)
    close(c["hierarchical"], hier)
    # flat ring, one channel per NIC: 1/8 of each chip's ring traffic crosses the NIC
    flat = 2 * 15 / 16 * s * max(7 / 8 / b0, 1 / 8 / b1) + (28 * a0 + 2 * a1)
    close(c["ring"], flat)
    assert c["hierarchical"][0] < c["ring"][0]
    r = A.all_reduce(t, 16, s)
    assert r.algorithm[0] == "hierarchical[direct+ring+direct]"
    close(r.time_s, hier)


def test_send_recv_levels():
    t = Topology(levels=(Level(kind="mesh", size=8, bandwidth_gb_s=448, latency_us=5),
                         Level(kind="fat_tree", size=4, bandwidth_gb_s=50, latency_us=5)))
    s = np.array([1e6])
    close(A.send_recv(t, 2, s).time_s, s / 64e9 + 5e-6)  # one xGMI peer link
    close(A.send_recv(t, 16, s).time_s, s / 50e9 + 5e-6)  # across nodes: the NIC


def test_single_chip_and_bad_inputs():
    t = Topology(levels=(switch(8),))
    r = A.all_reduce(t, 1, SIZES)
    assert np.all(r.time_s == 0) and set(r.algorithm) == {"none"}
    with pytest.raises(JalapenoError, match="efficiency"):
        A.all_reduce(t, 8, SIZES, efficiency=1.5)
    with pytest.raises(JalapenoError, match="unknown collective"):
        A.collective("broadcast", t, 8, SIZES)
    with pytest.raises(JalapenoError, match="no allowed algorithm"):
        A.all_reduce(t, 8, SIZES, algorithms=["dim_ordered"])
    time, algo, nbytes = A.all_reduce(t, 8, 1e6)  # unpacks; scalars become 1-element arrays
    assert time.shape == algo.shape == nbytes.shape == (1,)


# --- system catalog ---------------------------------------------------------------------------

EXPECTED = {"dgx-h100": 8, "dgx-h200": 8, "dgx-b200": 8, "gb200-nvl72": 72, "mi300x-8": 8, "mi325x-8": 8,
            "mi355x-8": 8, "tpu-v5e-256": 256, "tpu-v6e-256": 256, "trn2-16": 16, "trn2-ultra-64": 64,
            "jalapeno-ref-rack": 64, "dgx-h100-superpod": 256, "dgx-b200-superpod": 256,
            "gb200-nvl72-superpod": 576}


@pytest.mark.parametrize("sid", sorted(EXPECTED))
def test_every_system_loads_with_sources(sid):
    s = load_system(sid)
    assert s.num_chips == EXPECTED[sid] == s.topology.num_chips
    for i in range(len(s.topology.levels)):
        for field in ("size", "bandwidth_gb_s", "latency_us", "energy_pj_per_byte"):
            assert s.sources.get(f"topology[{i}].{field}"), f"{sid} topology[{i}].{field} has no source"
    assert s.sources.get("host_power_w") and s.sources.get("chips_per_node")
    r = A.all_reduce(s.topology, min(s.num_chips, 16), np.array([1e6]))
    assert r.time_s[0] > 0


def test_catalog_lists_all_systems():
    assert set(EXPECTED) <= set(system_ids())


def test_scale_up_levels_match_chip_catalog():
    for sid in ("dgx-h100", "dgx-b200", "gb200-nvl72", "mi300x-8", "mi355x-8", "tpu-v5e-256", "tpu-v6e-256",
                "jalapeno-ref-rack"):
        s = load_system(sid)
        lv, links = s.topology.levels[0], s.chip.links
        assert (lv.bandwidth_gb_s, lv.latency_us, lv.size) == (links.bandwidth_gb_s, links.latency_us,
                                                               links.max_domain_chips), sid
        assert lv.kind == links.topology


def test_system_slices_and_scale_out():
    v5e = load_system("tpu-v5e-256", num_chips=64)
    assert v5e.topology.levels[0].dims == (8, 8) and v5e.nodes == 8
    pod = load_system("dgx-h100-superpod", nodes=4)
    assert pod.num_chips == 32 and [lv.size for lv in pod.topology.levels] == [8, 4]
    assert pod.total_host_power_w == 4 * 2000
    big = load_system("dgx-h100-superpod", nodes=100)
    assert big.num_chips == 800 and big.topology.levels[-1].size == 100
    assert load_system("dgx-h100-superpod", num_chips=8).topology.levels[-1].kind == "switch"
    with pytest.raises(JalapenoError, match="no scale-out level"):
        load_system("dgx-h100", num_chips=16)
    with pytest.raises(JalapenoError, match="whole 8-chip units"):
        load_system("dgx-h100-superpod", num_chips=260)
    ultra = load_system("trn2-ultra-64")
    assert ultra.scale_up_chips == 64 and ultra.topology.groups_for(32) == (16, 2)
    assert load_system("dgx-h100").system_spec().num_chips == 8


def test_unknown_system_id():
    with pytest.raises(UnknownIdError, match="unknown system 'dgx-h1000'.*dgx-h100"):
        load_system("dgx-h1000")


def test_unsourced_figure_and_bad_torus_in_yaml(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("""id: bad
name: bad
chip: h100-sxm
chips_per_node: {value: 8, source: x}
host_power_w: {value: 1000, source: x}
topology:
  - kind: torus
    size: {value: 8, source: x}
    dims: {value: [4, 4], source: x}
    bandwidth_gb_s: 100
    latency_us: {value: 1, source: x}
""")
    with pytest.raises(SpecError, match=r"bad.yaml.*topology\[0\].bandwidth_gb_s.*without a source"):
        load_system(str(bad))
    bad.write_text(bad.read_text().replace("bandwidth_gb_s: 100", "bandwidth_gb_s: {value: 100, source: x}"))
    with pytest.raises(SpecError, match=r"topology.0.*multiply to 16"):
        load_system(str(bad))
