"""Speculative decoding and multi-token prediction: the one place that knows what a method drafts,
what the draft costs, and how many tokens a step yields.

A step drafts k tokens per sequence and the target verifies them with one forward pass of k + 1
tokens per sequence (engine: `Batch.decode_width`). Draft token i is kept only if it and every
earlier one are accepted; with the conditional acceptance a_i of position i, the expected tokens
a sequence gains per step are 1 + a_1 + a_1 a_2 + ... + a_1...a_k (the target always adds one
token of its own). `predict`, `plan`, `compare`, `capacity` and the serving simulator all read
the acceptance and the draft model from here.

Methods and what drafting costs on the chip:
- `ngram` (prompt lookup): proposals copied from earlier text; host-side, no chip work.
- `draft`: a smaller catalog model with the same vocabulary runs k decode passes.
- `eagle`: an EAGLE-3 style head (one decoder layer on the target's hidden states and its own
  LM head) runs k passes.
- `mtp`: the model's own multi-token-prediction modules (DeepSeek-V3/R1 ship one,
  `num_nextn_predict_layers`), one MoE decoder layer each, run k passes (reused when k exceeds
  the number shipped, as SGLang and TensorRT-LLM do).
Every draft pass also processes the step's prompt tokens (drafts keep their own KV cache).

Acceptance depends on the data: code and structured text are among the most predictable
(EAGLE-3 reports its longest acceptance lengths on HumanEval), open chat the least. Defaults
below are published measurements; override them with `--spec-acceptance`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from jalapeno.errors import JalapenoError
from jalapeno.models.spec import LayerGroup, Mlp, ModelSpec

SPEC_METHODS = ("none", "ngram", "draft", "eagle", "mtp")


@dataclass(frozen=True)
class SpecDefault:
    tokens: int
    acceptance: float  # conditional acceptance of each drafted position
    source: str


DEFAULTS: dict[str, SpecDefault] = {
    "eagle": SpecDefault(3, 0.68, (
        "EAGLE-3 chains of 3 draft tokens on gpt-oss-120b reach acceptance lengths of 2.41-2.47 tokens per "
        "step (SGLang, H100, MT-Bench, model card Dogacel/specdrift-gpt-oss-120b-eagle3; nebius/EAGLE3-gpt-oss-"
        "120b reports 2.46-2.81 at K=7); 1 + a + a^2 + a^3 = 2.45 gives a = 0.68. Li et al., EAGLE-3 "
        "(arXiv:2503.01840) report longer acceptance on HumanEval (code) than on MT-Bench")),
    "mtp": SpecDefault(1, 0.87, (
        "DeepSeek-V3 Technical Report (arXiv:2412.19437) sec. 5.4.3: the second token predicted by the MTP "
        "module is accepted 85-90 % of the time across generation topics (1.8x tokens/s); 0.87 is the middle")),
    "draft": SpecDefault(4, 0.70, (
        "Leviathan et al., Fast Inference from Transformers via Speculative Decoding (arXiv:2211.17192) "
        "Table 3: acceptance 0.5-0.9 for small same-family drafts; 0.7 is mid-range (Assumption: no "
        "measurement for the catalog's draft pairs)")),
    "ngram": SpecDefault(3, 0.45, (
        "Assumption: prompt-lookup decoding (Saxena 2023, vLLM's ngram proposer) accepts roughly half its "
        "proposals on input-grounded tasks such as code editing and summarization, and far fewer on open "
        "generation")),
}


def expected_tokens(acceptance) -> float:
    """Tokens a sequence gains per verification step for per-position conditional acceptances."""
    a = np.asarray(acceptance, dtype=float)
    return float(1.0 + np.cumprod(a).sum()) if a.size else 1.0


def sample_accepted(rng: np.random.Generator, acceptance: tuple[float, ...]) -> int:
    """Drafted tokens accepted before the first rejection (serving simulator, one sequence)."""
    n = 0
    for a in acceptance:
        if rng.random() >= a:
            break
        n += 1
    return n


@dataclass(frozen=True)
class SpecDecoding:
    """A resolved speculative-decoding setting: `tokens` drafted per step, `acceptance` per position."""

    method: str = "none"
    tokens: int = 0
    acceptance: tuple[float, ...] = ()
    draft_model: ModelSpec | None = None  # what runs the k draft passes (None: no chip work)
    source: str = ""

    @property
    def enabled(self) -> bool:
        return self.method != "none" and self.tokens > 0

    @property
    def tokens_per_step(self) -> float:
        return expected_tokens(self.acceptance) if self.enabled else 1.0

    @property
    def width(self) -> int:
        """Tokens per sequence the target verifies in one step."""
        return 1 + self.tokens if self.enabled else 1

    def label(self) -> str:
        if not self.enabled:
            return "none"
        draft = f"{self.draft_model.id}, " if self.method == "draft" and self.draft_model is not None else ""
        return f"{self.method} k={self.tokens} ({draft}{self.tokens_per_step:.2f} tokens/step)"

    def short_label(self) -> str:
        return "none" if not self.enabled else f"{self.method} k={self.tokens}"


NO_SPEC = SpecDecoding()


def parse_acceptance(text: str | float | None, option: str = "--spec-acceptance") -> tuple[float, ...] | None:
    """`0.7` or per position `0.9,0.8,0.6`; None if not given."""
    if text is None or text == "":
        return None
    parts = [text] if isinstance(text, int | float) else str(text).split(",")
    try:
        vals = tuple(float(p) for p in parts)
    except ValueError:
        raise JalapenoError(f"{option} expects a rate like 0.7 or one per position like 0.9,0.8,0.6, "
                            f"got '{text}'") from None
    if any(not 0.0 <= v <= 1.0 for v in vals):
        raise JalapenoError(f"{option}: acceptance rates are probabilities between 0 and 1, got '{text}'")
    return vals


def resolve_spec(model: ModelSpec, method: str | None, tokens: int | None = None,
                 acceptance: tuple[float, ...] | float | str | None = None, draft_model: ModelSpec | None = None,
                 supported: tuple[str, ...] | None = None, stack_id: str = "") -> SpecDecoding:
    """Check a method against the model (and the stack's declared methods) and fill in defaults."""
    method = (method or "none").lower()
    if method not in SPEC_METHODS:
        raise JalapenoError(f"--spec must be one of {', '.join(SPEC_METHODS)}, got '{method}'")
    if method == "none":
        return NO_SPEC
    if supported is not None and method not in supported:
        runs = ", ".join(m for m in supported if m != "none") or "no speculative decoding"
        raise JalapenoError(f"--spec {method}: software stack {stack_id} does not run it (it runs: {runs})")
    d = DEFAULTS[method]
    if tokens is not None and not 1 <= tokens <= 16:
        raise JalapenoError(f"--spec-tokens must be between 1 and 16, got {tokens}")
    k = tokens or d.tokens
    acc = parse_acceptance(acceptance) if not isinstance(acceptance, tuple) else acceptance
    source = d.source
    if acc is None:
        acc = (d.acceptance,) * k
    else:
        source = "given (--spec-acceptance)"
        if len(acc) == 1:
            acc = acc * k
        elif len(acc) != k:
            raise JalapenoError(f"--spec-acceptance gives {len(acc)} per-position rates but --spec-tokens is {k}")
    head = None
    if method == "mtp":
        if model.mtp_layers < 1:
            raise JalapenoError(f"--spec mtp: {model.id} has no multi-token-prediction layers "
                                f"(its config.json has no num_nextn_predict_layers); use --spec eagle, draft "
                                f"or ngram")
        head = mtp_head(model)
    elif method == "eagle":
        head = eagle_head(model)
    elif method == "draft":
        draft_model = draft_model or catalog_draft(model)
        if draft_model is None:
            raise JalapenoError(f"--spec draft: the catalog has no draft for {model.id} (a model with its "
                                f"vocabulary of {model.vocab} tokens and at most a quarter of its active "
                                f"parameters); give --draft-model (a catalog model id or config.json path)")
        if draft_model.vocab != model.vocab:
            raise JalapenoError(f"--draft-model {draft_model.id}: its vocabulary has {draft_model.vocab} tokens, "
                                f"{model.id}'s has {model.vocab}; a draft must share the target's tokenizer")
        head = draft_model
    return SpecDecoding(method, k, tuple(float(a) for a in acc), head, source)


@dataclass(frozen=True)
class SpecRequest:
    """What a user asked for: a method (None or "auto": every method the stack and model run, with
    published defaults), its draft length and acceptance, a draft model."""

    method: str | None = None
    tokens: int | None = None
    acceptance: str | float | tuple[float, ...] | None = None
    draft_model: ModelSpec | None = None


# Methods searched by default: those whose default acceptance is a published measurement for the
# model family, and a draft model where the catalog holds one for the target (ngram depends on
# the text being repeated).
AUTO_METHODS = ("eagle", "mtp", "draft")
# A draft pays off only when a pass of it is much cheaper than one of the target (Leviathan et
# al. 2023: c, the draft/target cost ratio, must be small); the automatic search takes drafts of
# at most this share of the target's active parameters.
DRAFT_MAX_ACTIVE_SHARE = 0.25


@lru_cache(maxsize=64)
def _catalog_draft(target_id: str, vocab: int, active: int) -> str | None:
    from jalapeno.models.config import load_model, model_ids  # the catalog, loaded on first use

    best = None
    for mid in model_ids():
        if mid == target_id:
            continue
        m = load_model(mid)
        if m.vocab == vocab and m.active_params <= DRAFT_MAX_ACTIVE_SHARE * active:
            if best is None or (m.total_params, m.id) < (best.total_params, best.id):
                best = m
    return best.id if best else None


def catalog_draft(model: ModelSpec) -> ModelSpec | None:
    """The draft the automatic search pairs with `model`: the smallest catalog model (by weights)
    with the same vocabulary and at most a quarter of its active parameters (Llama-3.3-70B and
    -405B: Llama-3.2-1B, the draft of the AWS Neuron tutorials); None where the catalog has none."""
    from jalapeno.models.config import load_model

    mid = _catalog_draft(model.id, model.vocab, model.active_params)
    return load_model(mid) if mid else None


def spec_options(model: ModelSpec, stack, request: SpecRequest | None) -> list[SpecDecoding]:
    """The speculative settings a planner searches for a model on a stack."""
    supported = tuple(stack.capabilities.spec_methods)
    if request is None or request.method in (None, "auto"):
        out = [NO_SPEC]
        for m in AUTO_METHODS:
            if m not in supported or (m == "mtp" and not model.mtp_layers):
                continue
            draft = None
            if m == "draft":
                draft = (request.draft_model if request else None) or catalog_draft(model)
                if draft is None:
                    continue
            out.append(resolve_spec(model, m, request.tokens if request else None,
                                    request.acceptance if request else None, draft, supported=supported))
        return out
    return [resolve_spec(model, request.method, request.tokens, request.acceptance, request.draft_model,
                         supported, stack.id)]


def eagle_head(model: ModelSpec) -> ModelSpec:
    """An EAGLE-3 style draft head: one decoder layer with the target's attention shape (full
    attention) and a dense MLP as wide as a target layer's active FFN, plus an LM head over the
    target's vocabulary. Assumption: the published heads (e.g. EAGLE-3 for Llama-3.1-8B: one
    layer, intermediate 14336) match this shape; their fused input projection (3 hidden -> 1) is
    small beside the layer and the LM head and is left out."""
    first = model.layers[0]
    a = first.attention
    mlp = first.mlp
    width = mlp.intermediate * max(mlp.top_k, 1) + mlp.shared_intermediate
    attn = type(a)(**{**a.__dict__, "window": 0, "chunk": 0})
    layer = LayerGroup(1, attn, Mlp(intermediate=width, gated=mlp.gated))
    return ModelSpec(id=f"{model.id}-eagle3-head", architecture="eagle3", hidden=model.hidden, vocab=model.vocab,
                     layers=(layer,), tied_embeddings=True, native_format=model.native_format)


def mtp_head(model: ModelSpec) -> ModelSpec:
    """One multi-token-prediction module: a decoder layer shaped like the model's last layer
    (DeepSeek-V3: MLA + MoE), sharing the model's embedding and LM head."""
    last = model.layers[-1]
    layer = LayerGroup(1, last.attention, last.mlp)
    return ModelSpec(id=f"{model.id}-mtp", architecture="mtp", hidden=model.hidden, vocab=model.vocab,
                     layers=(layer,), tied_embeddings=True, native_format=model.native_format)
