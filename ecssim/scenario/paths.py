"""Paths into a scenario document, as written after ``--set`` and in a sweep's ``vary``.

Syntax: dotted keys and bracketed selectors, e.g. ``services[web].desiredCount``,
``instances[0].count``, ``faults[0].instance_failure.mtbf``, ``parameters.image_pull``.

- ``[2]`` selects a list item by index (negative indices count from the end).
- ``[web]`` selects a list item by its natural key: ``serviceName`` in ``services``, ``family``
  in ``task_definitions``, ``clusterName`` in ``clusters``, ``name`` in any other list. On a
  mapping it selects a key, which is how keys containing dots are written.
- ``["my.name"]`` or ``['7']`` quotes a selector: always a name or key, never an index.

Errors are :class:`~ecssim.errors.ScenarioError` with one problem located at the path as
written, e.g. ``services[wbe].desiredCount: no service named 'wbe' (known: web, api)``.
"""

from __future__ import annotations

import copy
import difflib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ecssim.errors import Problem, ScenarioError

__all__ = ["get_path", "join_key", "resolve_path", "set_path"]

_NATURAL_KEYS = {"services": "serviceName", "task_definitions": "family", "clusters": "clusterName"}
_NOUNS = {"services": "service", "task_definitions": "task definition", "clusters": "cluster"}
_PLAIN_KEY = re.compile(r"^[^.\[\]\"'\s]+$")


@dataclass(frozen=True, slots=True)
class _Token:
    """One step of a path: a dotted key, an index, or a by-name selector."""

    kind: str  # "key", "index" or "name"
    value: str | int


def _tokens(path: str) -> list[_Token]:
    if not isinstance(path, str) or not path.strip():
        raise ValueError("empty path")
    tokens: list[_Token] = []
    pos, size = 0, len(path)
    expect_key = True  # at the start or after a dot
    while pos < size:
        char = path[pos]
        if char == "[":
            end = pos + 1
            if end < size and path[end] in "\"'":
                quote = path[end]
                close = path.find(quote, end + 1)
                if close < 0 or path[close + 1 : close + 2] != "]":
                    raise ValueError(f"unterminated quoted selector at position {pos}")
                tokens.append(_Token("name", path[end + 1 : close]))
                pos = close + 2
            else:
                close = path.find("]", end)
                if close < 0:
                    raise ValueError(f"missing ] after position {pos}")
                text = path[end:close].strip()
                if not text:
                    raise ValueError(f"empty [] at position {pos}")
                if re.fullmatch(r"-?\d+", text):
                    tokens.append(_Token("index", int(text)))
                else:
                    tokens.append(_Token("name", text))
                pos = close + 1
            expect_key = False
        elif char == ".":
            if expect_key:
                raise ValueError(f"empty key at position {pos}")
            pos += 1
            expect_key = True
            if pos == size:
                raise ValueError("path ends with '.'")
        else:
            if not expect_key:
                raise ValueError(f"expected '.' or '[' at position {pos}")
            match = re.compile(r"[^.\[\]]+").match(path, pos)
            assert match is not None
            tokens.append(_Token("key", match.group().strip()))
            pos = match.end()
            expect_key = False
    return tokens


def _describe(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "empty (null)"
    return f"a {type(value).__name__}"


def join_key(prefix: str, key: object) -> str:
    """Append a mapping key to a path: ``.key``, or ``["key"]`` when it holds dots or spaces.

    Example:
        >>> join_key("instances[0].attributes", "team.name")
        'instances[0].attributes["team.name"]'
    """
    text = str(key)
    if not text.isprintable() or '"' in text:
        # Escaped, so that a key holding a newline or a quote keeps the problem on one line.
        return f"{prefix}[{json.dumps(text)}]"
    if not _PLAIN_KEY.match(text):
        return f'{prefix}["{text}"]'
    return f"{prefix}.{text}" if prefix else text


def _join(prefix: str, token: _Token) -> str:
    if token.kind in ("index", "name"):
        return f"{prefix}[{token.value}]"
    return join_key(prefix, token.value)


class _PathError(Exception):
    pass


def _select(container: Any, token: _Token, where: str, parent_key: str | None) -> tuple[Any, Any]:
    """Return ``(key_or_index, value)`` for one step, or raise ``_PathError``.

    For a mapping key that is absent the value is ``_MISSING``.
    """
    if isinstance(container, Mapping):
        if token.kind == "index":
            what = where or "the document"
            raise _PathError(f"{what} is a mapping; [{token.value}] selects from a list")
        key = token.value
        if key in container:
            return key, container[key]
        return key, _MISSING
    if isinstance(container, list):
        if token.kind == "index":
            index = int(token.value)
            if not -len(container) <= index < len(container):
                raise _PathError(
                    f"index {index} out of range ({where} has {len(container)} "
                    f"item{'s' if len(container) != 1 else ''})"
                )
            return index % len(container), container[index]
        if token.kind == "key":
            raise _PathError(f"{where} is a list; select an item with [index] or [name]")
        return _by_name(container, str(token.value), where, parent_key)
    raise _PathError(f"{where} is {_describe(container)}, not a mapping or list")


def _by_name(items: list[Any], name: str, where: str, parent_key: str | None) -> tuple[int, Any]:
    natural = _NATURAL_KEYS.get(parent_key or "", "name")
    noun = _NOUNS.get(parent_key or "", "item")
    hits = [
        i for i, item in enumerate(items) if isinstance(item, Mapping) and item.get(natural) == name
    ]
    if len(hits) == 1:
        return hits[0], items[hits[0]]
    if len(hits) > 1:
        places = ", ".join(f"{where}[{i}]" for i in hits)
        raise _PathError(f"{len(hits)} {noun}s named {name!r} ({places}); select one by index")
    known = [str(item[natural]) for item in items if isinstance(item, Mapping) and natural in item]
    message = f"no {noun} named {name!r}"
    if known:
        message += f" (known: {', '.join(known)})"
    elif items:
        message += f" (no item of {where} has a {natural}; select by index)"
    else:
        message += f" ({where} is empty)"
    raise _PathError(message)


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


_MISSING: Any = _Missing()


def _walk(doc: Any, tokens: list[_Token]) -> Any:
    """Follow every token and return the value there (raising on a gap)."""
    where, node, parent_key = "", doc, None
    for token in tokens:
        key, value = _select(node, token, where, parent_key)
        if value is _MISSING:
            known = [str(k) for k in node]
            message = f"no key {str(key)!r}" + (f" in {where}" if where else "")
            close = difflib.get_close_matches(str(key), known, n=1)
            if close:
                message += f"; did you mean {close[0]}?"
            elif known:
                message += f" (keys: {', '.join(known)})"
            raise _PathError(message)
        where = _join(where, _Token("index", key) if isinstance(node, list) else _Token("key", key))
        parent_key = str(key) if isinstance(node, Mapping) else None
        node = value
    return node


def _error(path: str, message: str) -> ScenarioError:
    return ScenarioError([Problem(path, message)])


def get_path(doc: Mapping[str, Any], path: str) -> Any:
    """Return the value at ``path`` in a scenario document.

    Args:
        doc: The document (as loaded from YAML).
        path: E.g. ``"services[web].desiredCount"``.

    Raises:
        ScenarioError: The path is malformed or leads nowhere; one problem at ``path``.

    Example:
        >>> get_path({"services": [{"serviceName": "web", "desiredCount": 3}]},
        ...          "services[web].desiredCount")
        3
    """
    try:
        return _walk(doc, _tokens(path))
    except ValueError as err:
        raise _error(str(path), f"invalid path: {err}") from None
    except _PathError as err:
        raise _error(path, str(err)) from None


def _locate(root: Any, tokens: list[_Token], *, create: bool) -> tuple[str, Any, Any]:
    """Walk to the last token; return the canonical path, its container and its key.

    Absent (or null) mapping keys before the last token are taken as empty mappings, and
    stored in ``root`` when ``create`` is set.
    """
    node, where, parent_key = root, "", None
    for position, token in enumerate(tokens):
        key, current = _select(node, token, where, parent_key)
        step = _Token("index", key) if isinstance(node, list) else _Token("key", key)
        if position == len(tokens) - 1:
            return _join(where, step), node, key
        if current is _MISSING or current is None:
            if tokens[position + 1].kind == "index":
                raise _PathError(f"{_join(where, step)} does not exist; cannot index it")
            current = {}
            if create:
                node[key] = current
        where = _join(where, step)
        parent_key = str(key) if isinstance(node, Mapping) else None
        node = current
    raise AssertionError("unreachable: a path has at least one token")


def resolve_path(doc: Mapping[str, Any], path: str) -> str:
    """Return ``path`` with each list selector replaced by its index.

    This is the form in which the loader reports problems, so an override's problems can be
    matched to it. Absent keys are allowed, as :func:`set_path` would create them.

    Example:
        >>> resolve_path({"services": [{"serviceName": "web"}]}, "services[web].desiredCount")
        'services[0].desiredCount'

    Raises:
        ScenarioError: As :func:`set_path` would.
    """
    try:
        return _locate(doc, _tokens(path), create=False)[0]
    except ValueError as err:
        raise _error(str(path), f"invalid path: {err}") from None
    except _PathError as err:
        raise _error(path, str(err)) from None


def set_path(doc: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    """Return a deep copy of ``doc`` with ``value`` stored at ``path``.

    Absent mapping keys are created along the way (``parameters.image_pull`` works on a
    document without ``parameters``); list items must exist. The result is not validated:
    :func:`~ecssim.scenario.loader.load_scenario` applies overrides, then validates.

    Args:
        doc: The document (not modified).
        path: E.g. ``"instances[0].count"``.
        value: The new value (deep-copied).

    Raises:
        ScenarioError: The path is malformed or selects an item that does not exist.

    Example:
        >>> set_path({"instances": [{"count": 1}]}, "instances[0].count", 4)
        {'instances': [{'count': 4}]}
    """
    try:
        tokens = _tokens(path)
    except ValueError as err:
        raise _error(str(path), f"invalid path: {err}") from None
    if not isinstance(doc, Mapping):
        raise _error(path, "the document is not a mapping")
    result: dict[str, Any] = copy.deepcopy(dict(doc))
    try:
        _, container, key = _locate(result, tokens, create=True)
    except _PathError as err:
        raise _error(path, str(err)) from None
    container[key] = copy.deepcopy(value)
    return result
