"""How a chip executes a kernel: the parallelism and fixed costs each execution model implies.

Kernels cost an operator on the chip's own execution model (`ChipSpec.execution`, DESIGN.md s.3):

- `gpu` (and `cpu`): work is cut into thread blocks (CTAs) that run in waves over the `units`
  streaming multiprocessors; every kernel is a launch with a fixed cost on the device
  (`stack.kernel_overhead_s`: launch latency, ramp-up and the first DRAM round trip, measured in the
  H100 kernel tables); the host side of launching (eager or one graph per step) is a step cost
  (engine/step.py, stacks/profile.py).
- `systolic` (TPU, Trainium, Maia, Gaudi, jalapeno-ref) and `sram-streaming` (Groq, Cerebras): a
  compiler schedules a few large arrays; DMA is overlapped with compute, the matrix arrays and the
  vector units run side by side, and there is no per-kernel launch. What an operator still pays is
  the pipeline fill of its array (operands enter one edge and results leave the other:
  tile_m + tile_n cycles) and, for a stream from off-chip memory, its first round trip. The
  synchronization between layers is a step cost.

The throughput of one unit comes from the chip's peak over its units (the peak derives from
units x MACs per cycle x clock, hardware/spec.py), so more units make the chip faster, never each
unit slower.
"""

from __future__ import annotations

from jalapeno.hardware.spec import ChipSpec
from jalapeno.stacks import StackProfile

# Special-function (exp) throughput relative to the fp32 FMA FLOP rate where the chip does not give
# its own: an NVIDIA SM has 16 SFU lanes beside 128 FP32 lanes (2 FLOPs per FMA), 16 / 256
# (Hopper whitepaper; FlashAttention-3, Shah et al. 2024: H100's 989 TFLOPS of matmul face only
# 3.9 TFLOPS of exponentials).
EXP_SHARE_OF_VECTOR = 1.0 / 16

COMPILER_SCHEDULED = frozenset({"systolic", "sram-streaming"})


def is_compiler_scheduled(chip: ChipSpec) -> bool:
    """True for chips whose compiler schedules whole layers (no per-kernel launch)."""
    return chip.execution in COMPILER_SCHEDULED


def unit_flops(chip: ChipSpec, fmt: str) -> float:
    """Dense matrix FLOP/s of one compute unit (SM, TensorCore, NeuronCore) in a number format."""
    return chip.peak_flops(fmt) / chip.matrix.units


def exp_per_s(chip: ChipSpec) -> float:
    """Exponentials per second of the whole chip at full clock: the chip's own figure where it has
    one (`ChipSpec.exp_per_s`, from vector.exp_per_cycle), else a share of its fp32 vector rate."""
    own = getattr(chip, "exp_per_s", None)
    if callable(own):
        return float(own())
    return chip.vector.peak_tflops * 1e12 * EXP_SHARE_OF_VECTOR


def array_fill_s(chip: ChipSpec) -> float:
    """Time for operands to cross one systolic array and results to leave it: tile_m + tile_n cycles."""
    return (chip.matrix.tile_m + chip.matrix.tile_n) / (chip.clock_ghz * 1e9)


def op_fixed_s(chip: ChipSpec, kernel_overhead_s: float, launches: float) -> float:
    """Fixed cost of one operator on the device: `launches` kernels on a GPU-style chip; one array
    fill on a compiler-scheduled chip (its launches are folded into the layer's schedule)."""
    if is_compiler_scheduled(chip):
        return array_fill_s(chip)
    return kernel_overhead_s * launches


def graph_share(chip: ChipSpec, stack: StackProfile, prefill_share):
    """Share of steps launched as one program (a captured CUDA graph, or the compiled step of a
    compiler-scheduled chip) rather than kernel by kernel. `prefill_share`: share of steps that
    carry prompt tokens (stacks that capture decode steps only run those eagerly)."""
    if is_compiler_scheduled(chip) or stack.cuda_graphs == "all":
        return 1.0
    if stack.cuda_graphs == "decode":
        return 1.0 - prefill_share
    return 0.0


def step_time(chip: ChipSpec, stack: StackProfile, device_s, launches, layers: float, prefill_share,
              mx=max):
    """A step's wall time from the device time of its operators (their device-side fixed costs
    included) and what the host must do for it:

    - launching: `launches` kernels at `host_launch_s` each, or one graph at `graph_launch_s`. The
      host enqueues asynchronously, so launching only shows when it outlasts the device's work.
      Inside a graph each kernel follows the previous one after `graph_kernel_s` on the device
      instead of a stream launch's `kernel_overhead_s`;
    - scheduling (`host_step_s`: batch formation, sampling bookkeeping). With `async_host` it runs
      while the device replays a captured step (the host thread is free then) and shows only where
      it is the longer; an eager step keeps the host busy issuing its own launches, so there it
      adds. Without `async_host` it adds to every step;
    - a compiler-scheduled chip synchronizes its units once per layer (`layer_sync_s`).

    Scalars with mx=max, numpy arrays with mx=np.maximum."""
    g = graph_share(chip, stack, prefill_share)
    if is_compiler_scheduled(chip):
        device_s = device_s + layers * stack.layer_sync_s
    else:  # in a captured graph a kernel starts after the previous one at the graph's gap
        device_s = device_s - g * launches * max(stack.kernel_overhead_s - stack.graph_kernel_s, 0.0)
    launch = g * stack.graph_launch_s + (1.0 - g) * launches * stack.host_launch_s
    host = stack.host_step_s
    if stack.async_host:
        return (1.0 - g) * host + mx(device_s, g * host + launch)
    return host + mx(device_s, launch)


def pipeline_time(stage_s, pp: int, host_s: float, fill, mx=max):
    """One replica step through `pp` pipeline stages from one stage's step time (`step_time`, the
    host's scheduling `host_s` included once). The host prepares each microbatch while the
    devices run the others: a full pipeline (`fill` 1, at least pp microbatches) ticks at the
    longer of a stage's device time and the host's; a lone sequence (`fill` 1/pp) pays the host
    once and then every stage in turn, as an SRAM-resident pipeline (Groq, Cerebras) runs a
    single stream. Scalars with mx=max, numpy arrays with mx=np.maximum."""
    if pp <= 1:
        return stage_s
    return host_s + pp * mx(stage_s - host_s, host_s * fill)
