"""Software-stack profiles, at the level of hardware and models: kernels, network and the engine
all read them, so they live below all three (no layer imports upward to reach them)."""

from jalapeno.stacks.capabilities import Capabilities
from jalapeno.stacks.profile import FITTED, StackProfile, load_stack, stack_ids

__all__ = ["FITTED", "Capabilities", "StackProfile", "load_stack", "stack_ids"]
