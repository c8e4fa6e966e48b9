"""Argument checks shared by the package: array-likes made contiguous arrays of the type the
library reads (copied only when they are not already), counts and settings checked, each error
a ``ValueError`` naming the argument."""

from __future__ import annotations

import math
import os
from numbers import Integral, Real
from typing import Any, Mapping, Optional

import numpy as np


# The largest whole number the library takes (a Rust u64 / usize on 64-bit machines).
MAX_COUNT = 2**63 - 1


def array(value: Any, name: str, dtype: type, ndim: int) -> np.ndarray:
    """``value`` as a C-contiguous array of ``dtype`` with ``ndim`` dimensions: real numbers
    only (integers and floats; booleans, complex numbers, strings and objects refused), the
    same array when it already is one."""
    try:
        given = np.asarray(value)
    except (TypeError, ValueError) as e:
        raise ValueError(f"`{name}` must be an array of numbers: {e}") from None
    if given.dtype.kind not in "iuf":
        raise ValueError(
            f"`{name}` must hold real numbers (integers or floats), got an array of dtype {given.dtype}"
        )
    if given.ndim != ndim:
        shape = {1: "[n]", 2: "[particles, dim]", 3: "[times, particles, dim]"}[ndim]
        raise ValueError(
            f"`{name}` has {given.ndim} dimension(s) (shape {given.shape}); give a {ndim}-D array {shape}"
        )
    with np.errstate(over="ignore"):
        out = np.ascontiguousarray(given, dtype=dtype)
    if out is not given and dtype == np.float32 and given.dtype != np.float32:
        # Values beyond float32 would turn into infinities and be reported as such.
        lost = np.isfinite(given) & ~np.isfinite(out)
        if lost.any():
            index = int(np.flatnonzero(lost.ravel())[0])
            raise ValueError(
                f"`{name}` holds {given.ravel()[index]!r} (flat index {index}), beyond float32 (the weights' type, max 3.4e38)"
            )
    return out


def vector(value: Any, name: str) -> np.ndarray:
    """A 1-D float64 sample (one coordinate across particles)."""
    return array(value, name, np.float64, 1)


def count(value: Any, name: str, minimum: int = 0) -> int:
    """A whole number from ``minimum`` to 2^63 − 1 (booleans refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral):
        raise ValueError(f"`{name}` must be a whole number, got {value!r}")
    if not minimum <= value <= MAX_COUNT:
        raise ValueError(f"`{name}` must be from {minimum} to {MAX_COUNT}, got {value}")
    return int(value)


def real(value: Any, name: str) -> float:
    """A finite real number (booleans refused)."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Real):
        raise ValueError(f"`{name}` must be a finite number, got {value!r}")
    try:
        out = float(value)
    except OverflowError:
        raise ValueError(f"`{name}` must be a finite number, got {value!r}") from None
    if not math.isfinite(out):
        raise ValueError(f"`{name}` must be a finite number, got {value!r}")
    return out


def name_or_none(value: Any, name: str) -> Optional[str]:
    """A name (a string), or None."""
    if value is not None and not isinstance(value, str):
        raise ValueError(f"`{name}` must be a name (a string), got {value!r}")
    return value


def counts(values: Any, name: str, minimum: int = 0) -> list:
    """A list of whole numbers (any iterable of them, not a string)."""
    if isinstance(values, (str, bytes)) or not hasattr(values, "__iter__"):
        raise ValueError(f"`{name}` must be a list of whole numbers, got {values!r}")
    return [count(v, name, minimum) for v in values]


def flag(value: Any, name: str) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"`{name}` must be True or False, got {value!r}")
    return bool(value)


def setting_value(value: Any) -> Any:
    """A setting's value as config.toml holds it: paths as strings, numpy scalars as Python
    numbers, lists and nested dicts element by element."""
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, (list, tuple)):
        return [setting_value(v) for v in value]
    if isinstance(value, Mapping):
        return settings(value, "a nested table")
    return value


def settings(values: Optional[Mapping[str, Any]], name: str) -> Optional[dict]:
    """A dict of config.toml's keys (``None`` values are left out: the setting's default)."""
    if values is None:
        return None
    if not isinstance(values, Mapping):
        raise ValueError(f"`{name}` must be a dict of config.toml's keys, got {type(values).__name__}")
    out = {}
    for k, v in values.items():
        if not isinstance(k, str):
            raise ValueError(f"`{name}`: keys must be strings (config.toml's names), got {k!r}")
        if isinstance(v, Integral) and not isinstance(v, bool) and not -(2**63) <= v < 2**63:
            # TOML holds 64-bit integers; a larger one would fail without naming its key.
            raise ValueError(f"`{k}` = {v} is beyond the 64-bit integers a setting holds")
        if v is not None:
            out[k] = setting_value(v)
    return out


def config_source(config: Any) -> tuple[Optional[dict], Optional[str]]:
    """``config`` as (a dict of settings, or a TOML file's path)."""
    if config is None:
        return None, None
    if isinstance(config, (str, os.PathLike)):
        return None, os.fspath(config)
    return settings(config, "config"), None


def call(name: str, **arguments: Any) -> str:
    """The call that reproduces a study, as its report prints it."""
    shown = ", ".join(
        f"{k}={(os.fspath(v) if isinstance(v, os.PathLike) else v)!r}"
        for k, v in arguments.items()
        if v is not None
    )
    return f"meanfield.{name}({shown})"
