"""StepCost: one forward step of a model on a system, from its operators' costs.

The engine lowers the batch (models), costs each operator on one chip (kernels, network), adds
them up in stream order (the stacks modeled here run a layer's kernels back to back and the
tensor-parallel all-reduce on the critical path), adds the step's fixed costs by mechanism (host
launches or one graph, host scheduling, per-layer synchronization: kernels/execution.py), then applies
the power cap: if the step's energy over its time would exceed the chip's TDP, the chip clocks
down and the step stretches until it fits. Batches are evaluated as arrays (many shapes at once).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jalapeno.engine.gemm_memo import memo_gemm_cost
from jalapeno.engine.power import cap_step, chip_power, work_energy
from jalapeno.formats import Precision
from jalapeno.hardware.spec import ChipSpec
from jalapeno.hardware.topology import Topology, topology_from_links
from jalapeno.kernels.attention import decode_attention_cost, prefill_attention_cost
from jalapeno.kernels.cost import BOUNDS, OpCost
from jalapeno.kernels.elementwise import elementwise_cost
from jalapeno.kernels.execution import step_time
from jalapeno.kernels.gemm import compute_format
from jalapeno.models.lowering import Batch, lower_step
from jalapeno.models.ops import (
    AllReduce,
    AllToAll,
    DecodeAttention,
    Elementwise,
    Gemm,
    Op,
    PrefillAttention,
    SendRecv,
)
from jalapeno.models.spec import ModelSpec
from jalapeno.network.collectives import collective_cost
from jalapeno.network.parallel import ParallelPlan
from jalapeno.stacks import StackProfile


@dataclass
class StepCost:
    """Per-step figures for one chip of one pipeline stage, one entry per batch shape."""

    time_s: np.ndarray  # one stage's step time (after the power cap)
    energy_j: np.ndarray  # one chip's energy for that time
    flops: np.ndarray
    hbm_bytes: np.ndarray
    time_by_bound: dict[str, np.ndarray]
    power_capped: np.ndarray

    def bound(self) -> list[str]:
        names = list(self.time_by_bound)
        stacked = np.stack([self.time_by_bound[n] for n in names])
        return [names[i] for i in np.argmax(stacked, axis=0)]


def op_cost(op: Op, chip: ChipSpec, stack: StackProfile, prec: Precision, topo: Topology) -> OpCost:
    if isinstance(op, Gemm):
        return memo_gemm_cost(chip, stack, op.m, op.n, op.k, op.weights, op.activations, groups=op.groups)
    if isinstance(op, PrefillAttention):
        return prefill_attention_cost(chip, stack, op.seqs, op.tokens, op.pairs, op.kv_tokens_read, op.heads,
                                      op.kv_heads, op.qk_dim, op.v_dim, op.kv_bytes,
                                      compute_format(prec.weights, prec.activations))
    if isinstance(op, DecodeAttention):
        return decode_attention_cost(chip, stack, op.seqs, op.context_tokens, op.heads, op.kv_heads, op.qk_dim,
                                     op.v_dim, op.kv_values_per_token, op.kv_bytes)
    if isinstance(op, Elementwise):
        return elementwise_cost(chip, stack, op.bytes_moved, op.flops, min(op.kernels, stack.fused_elementwise_kernels))
    if isinstance(op, AllReduce):
        return collective_cost("all_reduce", topo, stack, op.group, op.message_bytes)
    if isinstance(op, AllToAll):
        return collective_cost("all_to_all", topo, stack, op.group, op.message_bytes)
    if isinstance(op, SendRecv):
        return collective_cost("send_recv", topo, stack, op.group, op.message_bytes)
    raise TypeError(f"no cost model for {type(op).__name__}")


def step_ops(model: ModelSpec, batch: Batch, prec: Precision, plan: ParallelPlan) -> list[Op]:
    """The operators one chip runs in a step: the model's layers (models.lowering) and, in a
    pipeline, sending the activations on to the next stage."""
    ops = lower_step(model, batch, prec, plan.tp, plan.pp, plan.ep)
    if prec.dequant:
        ops.append(dequant_op(ops, prec))
    if plan.pp > 1:
        ops.append(SendRecv("pipeline_send", batch.tokens * model.hidden * 2.0, 1.0, 2 * plan.tp))
    return ops


def stage_layers(model: ModelSpec, plan: ParallelPlan) -> int:
    """Layers one pipeline stage runs (the slowest stage's)."""
    return -(-model.num_layers // plan.pp)


def prefill_share(batch: Batch) -> np.ndarray:
    """Share of steps that carry prompt tokens: 1 for a step with a prefill chunk; the expected
    share for a steady-state step in which B/OSL new prompts arrive per step."""
    return np.clip(batch.prefill_seqs, 0.0, 1.0)


# Vector operations per weight dequantized: unpack/convert and apply the block scale.
DEQUANT_OPS_PER_WEIGHT = 2.0


def dequant_op(ops: list[Op], prec: Precision) -> Elementwise:
    """Dequantizing the quantized weights a step reads to the activation format, on the vector
    units (a chip without matrix units for the weight format: W4A8 / W4A16 on Hopper, MI300X,
    TPU, Trainium). Fused into the GEMMs' operand loads (no launch, no extra memory traffic)."""
    elements: float | np.ndarray = 0.0
    for op in ops:
        if isinstance(op, Gemm) and op.weights == prec.stored:
            groups = 1.0 if op.groups is None else np.asarray(op.groups, dtype=float)
            elements = elements + float(op.n) * op.k * groups * op.count
    shape = np.shape(ops[0].m) if ops and isinstance(ops[0], Gemm) else (1,)
    flops = np.broadcast_to(np.asarray(elements, dtype=float) * DEQUANT_OPS_PER_WEIGHT, shape)
    return Elementwise("weight_dequant", np.zeros(shape), flops, 0, 1.0)


def step_cost(model: ModelSpec, chip: ChipSpec, stack: StackProfile, prec: Precision, plan: ParallelPlan,
              batch: Batch, topo: Topology | None = None) -> StepCost:
    """`topo`: how the chips are wired (default: one scale-up level from the chip's links)."""
    topo = topo or topology_from_links(chip.links)
    ops = step_ops(model, batch, prec, plan)
    shape = batch.decode_seqs.shape
    time = np.zeros(shape)
    flops, hbm, onchip, link_j, launches = (np.zeros(shape) for _ in range(5))
    by_bound = {name: np.zeros(shape) for name in BOUNDS}
    for op in ops:
        c = op_cost(op, chip, stack, prec, topo)
        n = op.count
        time += c.time_s * n
        flops += c.flops * n
        hbm += c.hbm_bytes * n
        onchip += c.onchip_bytes * n
        if c.link_energy_j is not None:
            link_j += c.link_energy_j * n
        launches += c.launches * n
        for code, name in enumerate(BOUNDS):
            by_bound[name] += np.where(c.bound == code, c.time_s * n, 0.0)
    wall = step_time(chip, stack, time, launches, stage_layers(model, plan), prefill_share(batch), mx=np.maximum)
    by_bound["latency"] += wall - time
    time = wall
    fmt = compute_format(prec.weights, prec.activations)
    uncapped = time
    time, energy, capped = cap_step(time, work_energy(chip, fmt, flops, hbm, onchip, link_j), chip_power(chip))
    if np.any(capped):
        stretch = np.where(capped, time / np.maximum(uncapped, 1e-30), 1.0)
        for name in by_bound:
            by_bound[name] = by_bound[name] * stretch
    by_bound["memory"] = by_bound["memory"] + by_bound.pop("on-chip")
    return StepCost(time, energy, flops, hbm, by_bound, capped)
