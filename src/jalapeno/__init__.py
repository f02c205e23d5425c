"""jalapeno: a first-principles model of LLM inference processors.

The operations of the `jalapeno` command as functions (see `jalapeno.api` and the README's
Python section)::

    import jalapeno
    r = jalapeno.predict(model="llama-3.1-8b", chip="h100-sxm")
    r.to_dict()["output_tokens_per_s"]

The functions load on first use, so `import jalapeno` stays fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

API = ("load_chip", "load_model", "load_system", "derive_chip", "predict", "compare", "plan", "simulate", "capacity",
       "validate", "cost", "sensitivity", "explore_space")
"""The public functions: `__all__`, `jalapeno.api.API` and the README's Python section use this list."""

__all__ = [*API, "__version__"]

if TYPE_CHECKING:
    from jalapeno.api import (  # noqa: F401
        capacity,
        compare,
        cost,
        derive_chip,
        explore_space,
        load_chip,
        load_model,
        load_system,
        plan,
        predict,
        sensitivity,
        simulate,
        validate,
    )


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("jalapeno")
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def __getattr__(name: str) -> Any:
    """The API functions and `__version__` load on first use (importlib.metadata alone costs ~40 ms)."""
    if name == "__version__":
        return _version()
    if name in API:
        from jalapeno import api

        return getattr(api, name)
    raise AttributeError(f"module 'jalapeno' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted([*globals(), *API])
