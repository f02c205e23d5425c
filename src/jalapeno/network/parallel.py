"""A parallel layout: tensor (tp), pipeline (pp) and expert (ep) parallelism, with the remaining
chips as independent replicas (data parallelism, `dp`).

Two kinds of expert parallelism, as the production stacks run them:
- ep <= tp: experts split ep ways inside the tensor-parallel group and each expert's FFN tp/ep
  ways (TensorRT-LLM's MoE); the MoE output is all-reduced like a dense MLP's.
- ep > tp: wide expert parallelism (DeepSeek-style): ep/tp attention groups of tp chips each
  serve their own sequences (attention data parallelism), every chip holds E/ep whole experts,
  and tokens travel to their experts and back by all-to-all (dispatch and combine).
A layout is a value, written `tp=8,pp=2,ep=16,dp=4`, and `check` says why one is impossible.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from jalapeno.errors import JalapenoError
from jalapeno.models.spec import ModelSpec


@dataclass(frozen=True)
class ParallelPlan:
    tp: int = 1
    pp: int = 1
    ep: int = 1

    @property
    def attn_dp(self) -> int:
        """Attention data-parallel groups inside one replica (wide expert parallelism)."""
        return self.ep // self.tp if self.ep > self.tp else 1

    @property
    def chips_per_replica(self) -> int:
        return self.tp * self.pp * self.attn_dp

    @property
    def moe_tp(self) -> int:
        return self.tp // self.ep if self.ep <= self.tp else 1

    def label(self) -> str:
        return f"tp={self.tp},pp={self.pp}" + (f",ep={self.ep}" if self.ep > 1 else "")

    @staticmethod
    def parse(text: str) -> tuple[ParallelPlan, int | None]:
        """Parse `tp=8,pp=2,ep=16,dp=4` into (plan, dp or None)."""
        vals = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            m = re.fullmatch(r"(tp|pp|ep|dp)\s*=\s*(\d+)", part)
            if not m:
                raise JalapenoError(f"--layout '{text}': '{part}' is not of the form tp=N, pp=N, ep=N or dp=N")
            if m.group(1) in vals:
                raise JalapenoError(f"--layout '{text}': {m.group(1)} is given twice")
            vals[m.group(1)] = int(m.group(2))
            if not 1 <= vals[m.group(1)] <= 1_000_000:
                raise JalapenoError(f"--layout '{text}': {m.group(1)} must be between 1 and 1,000,000, "
                                    f"got {vals[m.group(1)]}")
        dp = vals.pop("dp", None)
        return ParallelPlan(**vals), dp

    def check(self, model: ModelSpec, num_chips: int, max_domain: int) -> None:
        """Raise a JalapenoError saying what is wrong with this layout and what would work."""
        attn = model.layers[0].attention
        problems = []
        if self.tp < 1 or self.pp < 1 or self.ep < 1:
            problems.append("tp, pp and ep must be at least 1")
        if self.chips_per_replica > num_chips:
            problems.append(f"the layout needs {self.chips_per_replica} chips but the system has {num_chips} "
                            f"(use --chips {self.chips_per_replica} or a smaller layout)")
        elif num_chips % self.chips_per_replica:
            problems.append(f"{num_chips} chips do not split into replicas of {self.chips_per_replica} "
                            f"(use a multiple of {self.chips_per_replica} chips)")
        if self.tp > max_domain:
            problems.append(f"tp = {self.tp} is larger than the scale-up domain ({max_domain} chips)")
        if attn.heads % self.tp:
            ok = [d for d in range(1, attn.heads + 1) if attn.heads % d == 0 and d <= max_domain]
            problems.append(f"tp = {self.tp} does not divide the {attn.heads} attention heads (try {ok})")
        if self.pp > model.num_layers:
            problems.append(f"pp = {self.pp} exceeds the {model.num_layers} layers")
        experts = max((g.mlp.experts for g in model.layers), default=0)
        if self.ep > 1 and not experts:
            problems.append("ep > 1 needs a mixture-of-experts model")
        elif experts and (self.ep > experts or experts % self.ep):
            ok = [e for e in (1, 2, 4, 8, 16, 32, 64, 128, 256) if experts % e == 0 and e <= num_chips]
            what = "is above" if self.ep > experts else "does not divide"
            problems.append(f"ep = {self.ep} {what} the {experts} experts (try ep in {ok})")
        if self.ep <= self.tp and self.tp % self.ep:
            problems.append(f"ep = {self.ep} must divide tp = {self.tp} (or be a multiple of it)")
        if self.ep > self.tp and self.ep % self.tp:
            problems.append(f"ep = {self.ep} must be a multiple of tp = {self.tp} (or divide it)")
        if problems:
            raise JalapenoError(f"layout {self.label()} is not possible for {model.id}: " + "; ".join(problems))
