"""A parallel layout inside one scale-up domain: tensor (tp), pipeline (pp) and expert (ep)
parallelism, with the remaining chips as independent replicas (data parallelism).

Expert parallelism runs inside the tensor-parallel group (as TensorRT-LLM's MoE does): the
experts are split ep ways and each expert's FFN tp/ep ways, so ep must divide tp.
"""

from __future__ import annotations

from dataclasses import dataclass

from jalapeno.errors import JalapenoError
from jalapeno.models.spec import ModelSpec


@dataclass(frozen=True)
class ParallelPlan:
    tp: int = 1
    pp: int = 1
    ep: int = 1

    @property
    def chips_per_replica(self) -> int:
        return self.tp * self.pp

    @property
    def moe_tp(self) -> int:
        return self.tp // self.ep

    def label(self) -> str:
        return f"tp={self.tp},pp={self.pp}" + (f",ep={self.ep}" if self.ep > 1 else "")

    def check(self, model: ModelSpec, num_chips: int, max_domain: int) -> None:
        """Raise a JalapenoError saying what is wrong with this layout and what would work."""
        attn = model.layers[0].attention
        problems = []
        if self.tp < 1 or self.pp < 1 or self.ep < 1:
            problems.append("tp, pp and ep must be at least 1")
        if self.chips_per_replica > num_chips:
            problems.append(f"tp*pp = {self.chips_per_replica} is more than the {num_chips} chips")
        elif num_chips % self.chips_per_replica:
            problems.append(f"{num_chips} chips do not split into replicas of tp*pp = {self.chips_per_replica}")
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
        if experts and self.ep > experts:
            problems.append(f"ep = {self.ep} is above the {experts} experts")
        if self.tp % self.ep:
            problems.append(f"ep = {self.ep} must divide tp = {self.tp} (experts are split inside the tp group)")
        if experts and experts % self.ep:
            problems.append(f"ep = {self.ep} does not divide the {experts} experts")
        if problems:
            raise JalapenoError(f"layout {self.label()} is not possible for {model.id}: " + "; ".join(problems))
