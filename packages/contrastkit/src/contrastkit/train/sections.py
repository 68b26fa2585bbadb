"""Config sections whose fields are the typed, documented ``__init__`` arguments of the classes
(or builder functions) that use them: one name, one default, one description, kept there.

An app's commands take sections such as ``--model.*``, ``--data.*``, ``--train.*`` (and
``--config x.yaml``) through jsonargparse; each section is a dataclass built here from its owners'
signatures (:func:`section`, :func:`settings`), described by their docstrings' ``Args:``
(:func:`arg_docs`), so that a default or a description is never repeated. Used by ``slu``
(model, method, train) and ``seqrec`` (model, data).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable, Iterable
from typing import Any


def arg_docs(owner: Callable) -> dict[str, str]:
    """The descriptions in ``owner``'s docstring ``Args:`` section, by argument name (a line
    ``a, b: text`` documents both)."""
    import docstring_parser

    out: dict[str, str] = {}
    for p in docstring_parser.parse(owner.__doc__ or "").params:
        for name in p.arg_name.split(","):
            out[name.strip()] = " ".join((p.description or "").split())
    return out


def settings(owner: Callable, only: Iterable[str] | None = None, skip: Iterable[str] = ()) -> list[inspect.Parameter]:
    """The keyword arguments with defaults of ``owner`` (a class's ``__init__`` or a function),
    in signature order; ``only`` keeps those names, ``skip`` drops them."""
    fn = owner.__init__ if inspect.isclass(owner) else owner
    params = [p for n, p in inspect.signature(fn, eval_str=True).parameters.items()
              if n != "self" and p.default is not p.empty and n not in set(skip)]
    if only is not None:
        keep = list(only)
        missing = set(keep) - {p.name for p in params}
        if missing:
            raise TypeError(f"{owner.__qualname__} has no settings {sorted(missing)}")
        params = [p for p in params if p.name in keep]
    return params


def section(name: str, summary: str, parts: list[tuple[Callable, list[inspect.Parameter]]],
            own: list[tuple[str, Any, Any, str]] = (), bases: tuple[type, ...] = ()) -> type:
    """A dataclass ``name`` with the fields of ``parts`` (``(owner, its settings)``) and ``own``
    fields ``(name, type, default, description)`` of the section itself; its docstring lists every
    field with the owner's description and, for derived ones, the owner's name."""
    fields, lines = [], []
    for field_name, annotation, default, doc in own:
        value = dataclasses.field(default_factory=lambda d=default: d) if isinstance(default, (dict, list)) else default
        fields.append((field_name, annotation, value))
        lines.append(f"    {field_name}: {doc}")
    for owner, params in parts:
        docs = arg_docs(owner)
        for p in params:
            fields.append((p.name, p.annotation, p.default))
            lines.append(f"    {p.name}: {docs.get(p.name, '')} [{owner.__qualname__}]")
    cls = dataclasses.make_dataclass(name, fields, bases=bases)
    cls.__doc__ = f"{summary}\n\nArgs:\n" + "\n".join(lines) + "\n"
    return cls


def kwargs_of(config: Any, owner: Callable) -> dict[str, Any]:
    """The values of ``config``'s fields that are ``owner``'s settings, as its keyword arguments."""
    return {p.name: getattr(config, p.name) for p in settings(owner) if hasattr(config, p.name)}
