"""Where the real request traces live, and which file a short trace name means.

The trace files are not part of the package (DESIGN §4: they stay in shared/data/traces and are
read by path). This module owns the one search rule every caller (loaders, tests, CLI) uses, so
"where did it look?" has a single answer that error messages can print.
"""

from __future__ import annotations

import difflib
import os
from pathlib import Path

from jalapeno.errors import JalapenoError

ENV_VAR = "JALAPENO_TRACES_DIR"

TRACE_FILES: dict[str, str] = {
    "azure-code": "AzureLLMInferenceTrace_code.csv",
    "azure-conv": "AzureLLMInferenceTrace_conv.csv",
    "mooncake-conversation": "mooncake_conversation_trace.jsonl",
    "mooncake-synthetic": "mooncake_synthetic_trace.jsonl",
}
"""Short names of the shared traces -> their published file names."""

HOW_TO_GET = (
    "Get the traces from github.com/Azure/AzurePublicDataset (data/AzureLLMInferenceTrace_code.csv "
    "and _conv.csv) and github.com/kvcache-ai/Mooncake (FAST25-release/traces/*.jsonl), put them in "
    f"one directory and set {ENV_VAR} to it, or place them in shared/data/traces beside the repository."
)

_RELATIVE = Path("shared") / "data" / "traces"


def candidate_dirs() -> list[Path]:
    """Directories searched for traces, in order: $JALAPENO_TRACES_DIR, then every ancestor of the
    current directory and of this package that holds shared/data/traces (which also covers a
    repository's sibling ../shared/data/traces)."""
    dirs: list[Path] = []
    env = os.environ.get(ENV_VAR)
    if env:
        dirs.append(Path(env).expanduser())
    for start in (Path.cwd(), Path(__file__).resolve().parent):
        for ancestor in (start, *start.parents):
            cand = ancestor / _RELATIVE
            if cand not in dirs:
                dirs.append(cand)
    return dirs


def find_traces_dir() -> Path | None:
    """The first existing directory of `candidate_dirs()`, or None."""
    for d in candidate_dirs():
        if d.is_dir():
            return d
    return None


def resolve_trace(path_or_name: str | os.PathLike) -> Path:
    """Turn a short name ('azure-code'), a bare file name or a path into an existing file path.

    Raises JalapenoError naming every place it looked and how to get the traces.
    """
    text = os.fspath(path_or_name)
    direct = Path(text).expanduser()
    if direct.is_file():
        return direct
    looked: list[str] = [] if text in TRACE_FILES else [str(direct)]
    # A short name, or a bare file name (no directory part), is also looked up in the trace dirs.
    file_name = TRACE_FILES.get(text, text if direct.name == text else None)
    if file_name is not None:
        for d in candidate_dirs():
            cand = d / file_name
            if cand.is_file():
                return cand
            looked.append(str(cand))
    known = ", ".join(TRACE_FILES)
    where = "; ".join(dict.fromkeys(looked)) or str(direct)
    close = [] if text in TRACE_FILES else difflib.get_close_matches(text, list(TRACE_FILES), n=1, cutoff=0.6)
    hint = f" Did you mean '{close[0]}'?" if close else ""
    what = f"trace '{text}' ({TRACE_FILES[text]})" if text in TRACE_FILES else f"trace '{text}'"
    instead = (f" Without the files, --generator profile --profile {text} draws from statistics fitted to "
               "this trace." if text in TRACE_FILES else "")
    raise JalapenoError(
        f"{what} not found.{hint} Looked in: {where}. Trace names: {known}; a path to a .csv or "
        f".jsonl trace also works. {HOW_TO_GET}{instead}"
    )
