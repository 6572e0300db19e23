"""Typed validation of configuration values (shot configs, training configs).

A value read from TOML is checked against the type annotation of the dataclass field it
fills, so ``write_masks = "no"`` or ``steps = "many"`` is an error naming the file and the
key, not a truthy string or a crash later.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from typing import Any

from hdr_plugin.errors import ConfigError


def conforms(value: Any, hint: Any) -> bool:
    """Whether ``value`` fits the annotation ``hint`` (a TOML-level check: int fits float)."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Any:
        return True
    if origin in (typing.Union, types.UnionType):
        return any(conforms(value, arg) for arg in args)
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False  # not a number, despite Python's ints
    if hint is float:
        return isinstance(value, int | float)
    if hint in (int, str):
        return isinstance(value, hint)
    if origin is list:
        return isinstance(value, list) and all(conforms(v, args[0]) for v in value)
    if origin is tuple:
        return (
            isinstance(value, list | tuple)
            and len(value) == len(args)
            and all(conforms(v, a) for v, a in zip(value, args, strict=True))
        )
    if origin is dict or hint is dict:
        return isinstance(value, dict)
    return isinstance(value, origin or hint)


def _describe(hint: Any) -> str:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in args if a is not type(None))
    if origin is tuple:
        return f"a list of {len(args)} values ({', '.join(_describe(a) for a in args)})"
    if origin is list:
        return f"a list ({_describe(args[0])} each)" if args else "a list"
    if origin is dict or hint is dict:
        return "a table"
    return {bool: "true or false", float: "a number", int: "an integer", str: "a string"}.get(
        hint, getattr(hint, "__name__", str(hint))
    )


def field_types(cls: type) -> dict[str, Any]:
    """Resolved type annotations of a dataclass's fields."""
    hints = typing.get_type_hints(cls)
    return {f.name: hints[f.name] for f in dataclasses.fields(cls)}


def check_values(where: str, values: Mapping[str, Any], types_: Mapping[str, Any]) -> None:
    """Check every key of ``values`` that ``types_`` annotates.

    Raises:
        ConfigError: ``<where>: key 'k' must be <type>, got <value>``.
    """
    for key, value in values.items():
        if key in types_ and not conforms(value, types_[key]):
            raise ConfigError(
                f"{where}: key {key!r} must be {_describe(types_[key])}, got {value!r}"
            )
