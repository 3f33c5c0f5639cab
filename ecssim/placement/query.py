r"""The ECS cluster query language: parsed once, evaluated as numpy masks over instances.

This module owns the grammar of ``memberOf`` expressions ([doc] DG cluster-query-language) and
their vectorised evaluation. It reads instances only through :class:`InstanceView`, so it knows
nothing of the simulator's state.

Grammar (``subject operator [argument]`` leaves, combined with Boolean operators)::

    expression := or
    or         := and (("or" | "||") and)*
    and        := unary (("and" | "&&") unary)*
    unary      := ("not" | "!") unary | "(" expression ")" | condition
    condition  := subject operator [value | "[" value ("," value)* "]"]
    value      := bare | 'quoted' | "quoted"

Decisions where the AWS page is silent or loose (each is [inf] unless noted):

* Precedence: ``not`` binds tightest, then ``and``, then ``or`` (the usual Boolean order; the
  docs only say parentheses set precedence). Keywords are lowercase only.
* Parentheses are always structure: the docs say a single expression can't contain them, so a
  bare value ends at whitespace, ``(`` or ``)``. Quote a value to put spaces or parentheses in it.
* ``==`` is plain string equality as the operator table says; ``*`` is not a wildcard there
  (``attribute:ecs.instance-type == t2.*`` matches only the literal ``t2.*``). Use ``=~``.
* ``=~``/``!~`` take a Java regex matched against the whole value (``String.matches``). Python's
  ``re.fullmatch`` stands in for it; the two agree on the common subset (classes, quantifiers,
  alternation) but not on Java-only syntax such as possessive quantifiers or ``\p{javaLower}``.
* ``in``/``!in`` take a bracketed list ``[a, b]``; items may be quoted, as in the docs' example
  ``ec2InstanceId in ['i-abcd1234', 'i-wxyx7890']``. A parenthesised list is an error.
* The negative operators ``!=``, ``!in`` and ``!~`` need the subject to exist: the docs describe
  ``attribute:stack != prod`` as the instances with the attribute ``stack`` unless its value is
  ``prod`` [doc]. ``not (attribute:stack == prod)`` also keeps instances without ``stack``.
* ``task:group`` reads the groups of the tasks on an instance as a set, and a condition holds when
  some task on the instance satisfies it. ``task:group == g`` (and ``in``) therefore means "hosts
  a task of group g" [doc]; ``task:group != g`` means "hosts a task of another group", so an
  empty instance satisfies neither. Anti-affinity is ``not(task:group == g)``, which is how the
  docs write it [doc]; a public CDK construct relies on ``task:group != service:x`` meaning
  "runs something other than x" [obs]. ``exists`` means "hosts any task". Regex and ordering
  operators on ``task:group`` are rejected: a view exposes group counts, not group names.
* Operators are checked per subject against the lists on the AWS page [doc]; ``attribute:<name>``
  accepts all twelve. Ordering on an attribute compares numbers when the argument is a number
  (values that are not numbers never match), otherwise strings lexicographically.
* ``agentConnected`` compares against ``true``/``false`` (any case); ``agentVersion`` compares
  versions component-wise (``1.14`` equals ``1.14.0``); ``registeredAt`` takes the documented
  date formats (no zone means UTC) or epoch seconds, and compares instants;
  ``runningTasksCount`` takes a whole number.
* Positions in error messages are 0-based character offsets into the expression.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, ClassVar, Protocol

import numpy as np

from ecssim.errors import EcssimError

__all__ = [
    "MAX_EXPRESSION_LENGTH",
    "SUBJECTS",
    "Expression",
    "InstanceView",
    "QueryError",
    "parse_expression",
]

MAX_EXPRESSION_LENGTH = 2000
"""Longest expression ECS accepts, in characters ([doc] BC PlacementConstraint)."""

SUBJECTS = (
    "agentConnected",
    "agentVersion",
    "attribute:<name>",
    "ec2InstanceId",
    "registeredAt",
    "runningTasksCount",
    "task:group",
)
"""The subjects of the language, as the AWS page lists them."""


class QueryError(EcssimError, ValueError):
    """A malformed expression.

    ``str(err)`` is a one-line message naming the position, e.g.
    ``expected an operator after 'attribute:tier' at position 15``.

    Attributes:
        position: 0-based character offset of the problem, or None when it is the whole text.
    """

    def __init__(self, message: str, position: int | None = None) -> None:
        super().__init__(message)
        self.position = position


class InstanceView(Protocol):
    """What an expression reads, one entry per instance (all arrays have the same length n).

    ``attribute`` serves ``attribute:<name>`` (called with ``<name>``) and the built-in string
    subjects ``agentVersion`` and ``ec2InstanceId`` (called with the subject itself).
    ``numeric`` serves ``runningTasksCount``, ``registeredAt`` (epoch seconds) and
    ``agentConnected`` (1.0 or 0.0). ``group_counts`` serves ``task:group``; the tasks it counts
    must be the tasks ``runningTasksCount`` counts, because ``task:group != g`` is evaluated as
    ``runningTasksCount - group_counts(g) > 0``.
    """

    def attribute(self, name: str) -> tuple[np.ndarray, Sequence[str]]:
        """Return ``(codes, values)``: int codes, -1 where absent, else an index into values."""
        ...

    def numeric(self, subject: str) -> np.ndarray:
        """Return the float64 values of a numeric subject."""
        ...

    def group_counts(self, group: str) -> np.ndarray:
        """Return the number of tasks of ``group`` on each instance (zeros if none)."""
        ...


# -- operators and subjects -----------------------------------------------------------------

_OPERATORS: dict[str, str] = {
    "==": "==",
    "equals": "==",
    "!=": "!=",
    "not_equals": "!=",
    ">": ">",
    "greater_than": ">",
    ">=": ">=",
    "greater_than_equal": ">=",
    "<": "<",
    "less_than": "<",
    "<=": "<=",
    "less_than_equal": "<=",
    "exists": "exists",
    "!exists": "!exists",
    "not_exists": "!exists",
    "in": "in",
    "!in": "!in",
    "not_in": "!in",
    "=~": "=~",
    "matches": "=~",
    "!~": "!~",
    "not_matches": "!~",
}

_COMPARISONS = ("==", "!=", ">", ">=", "<", "<=")
_STRING_OPERATORS = ("==", "!=", "in", "!in", "=~", "!~")
_ALL_OPERATORS = (*_COMPARISONS, "exists", "!exists", "in", "!in", "=~", "!~")
_VALID_OPERATORS: dict[str, tuple[str, ...]] = {
    "agentConnected": _STRING_OPERATORS,
    "agentVersion": _COMPARISONS,
    "ec2InstanceId": _STRING_OPERATORS,
    "registeredAt": _COMPARISONS,
    "runningTasksCount": _COMPARISONS,
    "task:group": ("==", "!=", "in", "!in", "exists", "!exists"),
}

_SCALAR_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
}
_ARRAY_COMPARE: dict[str, np.ufunc] = {
    "==": np.equal,
    "!=": np.not_equal,
    ">": np.greater,
    ">=": np.greater_equal,
    "<": np.less,
    "<=": np.less_equal,
}

_ATTRIBUTE_PREFIX = "attribute:"
_ATTRIBUTE_NAME = re.compile(r"[A-Za-z0-9_./\\-]{1,128}")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_WHOLE_NUMBER = re.compile(r"[+-]?\d+")
_VERSION = re.compile(r"v?(\d+(?:\.\d+)*)")
_BOOLEAN_VALUES: tuple[str, ...] = ("false", "true")
# A memo of per-value predicate results; bounded because ec2InstanceId has one value per
# instance and instances come and go over a long run.
_MEMO_LIMIT = 65536


# -- value parsing --------------------------------------------------------------------------


def _version_key(text: str) -> tuple[int, ...] | None:
    """Return the numeric components of a version like ``1.14.5`` (trailing zeros dropped)."""
    match = _VERSION.match(text)
    if match is None:
        return None
    parts = [int(p) for p in match.group(1).split(".")]
    while len(parts) > 1 and parts[-1] == 0:
        parts.pop()
    return tuple(parts)


def _instant(text: str) -> float | None:
    """Return epoch seconds for a documented date format or a plain number, else None."""
    if _NUMBER.fullmatch(text):
        return float(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _number(text: str) -> float | None:
    """Return ``text`` as a float if it is written as a decimal number, else None."""
    return float(text) if _NUMBER.fullmatch(text) else None


@lru_cache(maxsize=1024)
def _compile(pattern: str) -> re.Pattern[str]:
    """Compile a regex once per process (patterns repeat across services and evaluations)."""
    return re.compile(pattern)


def _index(values: Sequence[str], value: str) -> int:
    """Return the code of ``value`` in ``values`` or -1."""
    try:
        return values.index(value)
    except ValueError:
        return -1


# -- per-value predicates (picklable, so expressions travel to worker processes) -------------


@dataclass(frozen=True, slots=True)
class _Matches:
    """Whole-value regex match (Java ``String.matches``)."""

    pattern: re.Pattern[str]

    def __call__(self, value: str) -> bool:
        return self.pattern.fullmatch(value) is not None


@dataclass(frozen=True, slots=True)
class _VersionCompare:
    """Component-wise version comparison; unparseable versions never match."""

    op: str
    key: tuple[int, ...]

    def __call__(self, value: str) -> bool:
        key = _version_key(value)
        return key is not None and _SCALAR_COMPARE[self.op](key, self.key)


@dataclass(frozen=True, slots=True)
class _OrderCompare:
    """Ordering of an attribute value against the argument, numeric when the argument is."""

    op: str
    argument: str
    number: float | None

    def __call__(self, value: str) -> bool:
        if self.number is None:
            return _SCALAR_COMPARE[self.op](value, self.argument)
        number = _number(value)
        return number is not None and _SCALAR_COMPARE[self.op](number, self.number)


# -- the syntax tree ------------------------------------------------------------------------


class _Node:
    """A node of a parsed expression."""

    __slots__ = ()

    def evaluate(self, view: InstanceView) -> np.ndarray:
        raise NotImplementedError

    def subjects(self) -> frozenset[str]:
        raise NotImplementedError

    def groups(self) -> frozenset[str]:
        return frozenset()


def _string_column(view: InstanceView, subject: str, name: str) -> tuple[np.ndarray, Sequence[str]]:
    """Codes and values of a string subject; ``agentConnected`` is coded false=0, true=1."""
    if subject == "agentConnected":
        connected = np.asarray(view.numeric("agentConnected")) != 0
        return connected.astype(np.int32), _BOOLEAN_VALUES
    codes, values = view.attribute(name)
    return np.asarray(codes), values


@dataclass(frozen=True, slots=True)
class _Exact(_Node):
    """``==``, ``!=``, ``in``, ``!in`` on a string subject: compared on codes."""

    subject: str
    name: str
    op: str
    arguments: tuple[str, ...]

    def evaluate(self, view: InstanceView) -> np.ndarray:
        codes, values = _string_column(view, self.subject, self.name)
        hits = [code for code in (_index(values, a) for a in self.arguments) if code >= 0]
        if not hits:
            found = np.zeros(codes.shape, dtype=bool)
        elif len(hits) == 1:
            found = codes == hits[0]
        else:
            found = np.isin(codes, hits)
        if self.op in ("!=", "!in"):
            return (codes >= 0) & ~found
        return found

    def subjects(self) -> frozenset[str]:
        return frozenset((self.subject,))


@dataclass(frozen=True, slots=True)
class _Predicate(_Node):
    """A test of each distinct value (regex, version, ordering), gathered back through codes.

    The predicate runs once per distinct value, memoised across evaluations; the per-instance
    work is one table look-up ``table[codes]``, where the extra last entry answers for code -1.
    """

    subject: str
    name: str
    test: _Matches | _VersionCompare | _OrderCompare
    negate: bool = False
    memo: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)

    def evaluate(self, view: InstanceView) -> np.ndarray:
        codes, values = _string_column(view, self.subject, self.name)
        memo, test = self.memo, self.test
        if len(memo) > _MEMO_LIMIT:
            memo.clear()
        try:
            hits = np.fromiter(map(memo.__getitem__, values), dtype=bool, count=len(values))
        except KeyError:  # values not seen before: test them, then look all up again
            for value in values:
                if value not in memo:
                    memo[value] = test(value)
            hits = np.fromiter(map(memo.__getitem__, values), dtype=bool, count=len(values))
        table = np.zeros(len(values) + 1, dtype=bool)
        table[:-1] = ~hits if self.negate else hits
        return table[codes]

    def subjects(self) -> frozenset[str]:
        return frozenset((self.subject,))


@dataclass(frozen=True, slots=True)
class _Exists(_Node):
    """``exists`` / ``!exists`` on an attribute."""

    subject: str
    name: str
    negate: bool

    def evaluate(self, view: InstanceView) -> np.ndarray:
        codes, _ = _string_column(view, self.subject, self.name)
        return codes < 0 if self.negate else codes >= 0

    def subjects(self) -> frozenset[str]:
        return frozenset((self.subject,))


@dataclass(frozen=True, slots=True)
class _Numeric(_Node):
    """A comparison of ``runningTasksCount`` or ``registeredAt`` with a number."""

    subject: str
    op: str
    value: float

    def evaluate(self, view: InstanceView) -> np.ndarray:
        result: np.ndarray = _ARRAY_COMPARE[self.op](
            np.asarray(view.numeric(self.subject)), self.value
        )
        return result

    def subjects(self) -> frozenset[str]:
        return frozenset((self.subject,))


@dataclass(frozen=True, slots=True)
class _Group(_Node):
    """``task:group``: some task on the instance has a group satisfying the condition."""

    op: str
    names: tuple[str, ...]

    def evaluate(self, view: InstanceView) -> np.ndarray:
        if self.op in ("exists", "!exists"):
            total = np.asarray(view.numeric("runningTasksCount"))
            return total <= 0 if self.op == "!exists" else total > 0
        counts = np.asarray(view.group_counts(self.names[0]))
        for name in self.names[1:]:
            counts = counts + np.asarray(view.group_counts(name))
        if self.op in ("==", "in"):
            return counts > 0
        return np.asarray(view.numeric("runningTasksCount")) - counts > 0

    def subjects(self) -> frozenset[str]:
        if self.op in ("==", "in"):
            return frozenset(("task:group",))
        return frozenset(("task:group", "runningTasksCount"))

    def groups(self) -> frozenset[str]:
        return frozenset(self.names)


@dataclass(frozen=True, slots=True)
class _Not(_Node):
    operand: _Node

    def evaluate(self, view: InstanceView) -> np.ndarray:
        return ~self.operand.evaluate(view)

    def subjects(self) -> frozenset[str]:
        return self.operand.subjects()

    def groups(self) -> frozenset[str]:
        return self.operand.groups()


@dataclass(frozen=True, slots=True)
class _And(_Node):
    operands: tuple[_Node, ...]

    def evaluate(self, view: InstanceView) -> np.ndarray:
        mask = self.operands[0].evaluate(view)
        for operand in self.operands[1:]:
            if not mask.any():
                break
            mask = mask & operand.evaluate(view)
        return mask

    def subjects(self) -> frozenset[str]:
        return frozenset().union(*(o.subjects() for o in self.operands))

    def groups(self) -> frozenset[str]:
        return frozenset().union(*(o.groups() for o in self.operands))


@dataclass(frozen=True, slots=True)
class _Or(_Node):
    operands: tuple[_Node, ...]

    def evaluate(self, view: InstanceView) -> np.ndarray:
        mask = self.operands[0].evaluate(view)
        for operand in self.operands[1:]:
            if mask.all():
                break
            mask = mask | operand.evaluate(view)
        return mask

    def subjects(self) -> frozenset[str]:
        return frozenset().union(*(o.subjects() for o in self.operands))

    def groups(self) -> frozenset[str]:
        return frozenset().union(*(o.groups() for o in self.operands))


# -- the parser -----------------------------------------------------------------------------

# Characters that end a subject or an operator word; a bare value ends only at whitespace or
# a parenthesis (and, inside a list, at ',' or ']').
_SUBJECT_STOP = frozenset("()[],'\"=!<>~")
_OPERATOR_SYMBOLS = frozenset("=!<>~")


class _Parser:
    """Recursive descent over the raw text; values are read in context, not pre-tokenised."""

    KEYWORD_FOLLOW: ClassVar[frozenset[str]] = frozenset("(!'\"")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.last = ""  # the last token consumed, for "after ..." in messages

    # -- lexical helpers
    def skip_space(self) -> None:
        text, pos = self.text, self.pos
        while pos < len(text) and text[pos].isspace():
            pos += 1
        self.pos = pos

    def at_end(self) -> bool:
        return self.pos >= len(self.text)

    def peek_word(self) -> str:
        """The run of non-space, non-parenthesis characters at the cursor (for messages)."""
        text, end = self.text, self.pos
        while end < len(text) and not text[end].isspace() and text[end] not in "()":
            end += 1
        return text[self.pos : end] or text[self.pos : self.pos + 1]

    def accept(self, *spellings: str) -> bool:
        """Consume one of ``spellings`` at the cursor; words must end at a word boundary."""
        self.skip_space()
        text, pos = self.text, self.pos
        for spelling in spellings:
            if not text.startswith(spelling, pos):
                continue
            end = pos + len(spelling)
            if spelling[0].isalpha() and end < len(text):
                follow = text[end]
                if not (follow.isspace() or follow in self.KEYWORD_FOLLOW):
                    continue
            self.pos = end
            self.last = spelling
            return True
        return False

    def fail(self, message: str, position: int | None = None) -> QueryError:
        where = self.pos if position is None else position
        return QueryError(f"{message} at position {where}", where)

    def after(self) -> str:
        return f" after {self.last!r}" if self.last else ""

    # -- grammar
    def parse(self) -> _Node:
        self.skip_space()
        if self.at_end():
            raise QueryError("empty expression", 0)
        node = self.parse_or()
        self.expect_end_or_close(None)
        return node

    def expect_end_or_close(self, open_at: int | None) -> None:
        self.skip_space()
        if self.at_end():
            if open_at is not None:
                raise self.fail("unbalanced parentheses: '(' is never closed", open_at)
            return
        if self.text[self.pos] == ")":
            if open_at is None:
                raise self.fail("unbalanced parentheses: ')' has no matching '('")
            self.pos += 1
            self.last = ")"
            return
        expected = "'and', 'or' or ')'" if open_at is not None else "'and', 'or' or the end"
        raise self.fail(f"expected {expected}{self.after()}, got {self.peek_word()!r}")

    def parse_or(self) -> _Node:
        operands = [self.parse_and()]
        while self.accept("||", "or"):
            operands.append(self.parse_and())
        return operands[0] if len(operands) == 1 else _Or(tuple(operands))

    def parse_and(self) -> _Node:
        operands = [self.parse_unary()]
        while self.accept("&&", "and"):
            operands.append(self.parse_unary())
        return operands[0] if len(operands) == 1 else _And(tuple(operands))

    def parse_unary(self) -> _Node:
        if self.accept("not", "!"):
            return _Not(self.parse_unary())
        self.skip_space()
        if not self.at_end() and self.text[self.pos] == "(":
            open_at = self.pos
            self.pos += 1
            self.last = "("
            node = self.parse_or()
            self.expect_end_or_close(open_at)
            return node
        return self.parse_condition()

    def parse_condition(self) -> _Node:
        self.skip_space()
        text, start = self.text, self.pos
        end = start
        while end < len(text) and not text[end].isspace() and text[end] not in _SUBJECT_STOP:
            end += 1
        subject = text[start:end]
        if not subject:
            got = "the end" if self.at_end() else repr(self.peek_word())
            raise self.fail(f"expected a subject{self.after()}, got {got}")
        name = self._check_subject(subject, start)
        self.pos, self.last = end, subject
        op = self.parse_operator(subject)
        if op in ("exists", "!exists"):
            if subject == "task:group":
                return _Group(op, ())
            return _Exists(subject, name, op == "!exists")
        arguments = self.parse_list(op) if op in ("in", "!in") else (self.parse_value(op),)
        return self._condition(subject, name, op, arguments)

    def _check_subject(self, subject: str, start: int) -> str:
        """Validate a subject; return the name to pass to :meth:`InstanceView.attribute`."""
        if subject.startswith(_ATTRIBUTE_PREFIX):
            name = subject[len(_ATTRIBUTE_PREFIX) :]
            if not _ATTRIBUTE_NAME.fullmatch(name):
                raise self.fail(
                    f"invalid attribute name {name!r} (1-128 letters, digits, '-', '_', '.', "
                    "'/' or '\\')",
                    start,
                )
            return name
        if subject not in _VALID_OPERATORS:
            known = ", ".join(SUBJECTS)
            raise self.fail(f"unknown subject {subject!r} (expected one of {known})", start)
        return subject

    def parse_operator(self, subject: str) -> str:
        self.skip_space()
        text, start = self.text, self.pos
        if self.at_end() or text[start] in "()[]'\"":
            raise self.fail(f"expected an operator{self.after()}")
        end = start
        if text[start] in _OPERATOR_SYMBOLS:
            while end < len(text) and text[end] in _OPERATOR_SYMBOLS:
                end += 1
            if text[start:end] == "!":  # !exists, !in
                while end < len(text) and (text[end].isalpha() or text[end] == "_"):
                    end += 1
        else:
            while end < len(text) and not text[end].isspace() and text[end] not in "()[]'\"":
                end += 1
        spelled = text[start:end]
        op = _OPERATORS.get(spelled)
        if op is None and text[start] in _OPERATOR_SYMBOLS:
            raise self.fail(f"unknown operator {spelled!r}{self.after()}", start)
        if op is None:
            raise self.fail(f"expected an operator{self.after()}, got {spelled!r}", start)
        valid = _VALID_OPERATORS.get(subject, _ALL_OPERATORS)
        if op not in valid:
            raise self.fail(
                f"operator {spelled!r} is not valid for {subject} (valid: {', '.join(valid)})",
                start,
            )
        self.pos, self.last = end, f"{subject} {spelled}"
        return op

    def read_value(self, stops: str) -> tuple[str, int]:
        """Read a quoted or bare value at the cursor; return it and its position."""
        text, start = self.text, self.pos
        quote = text[start]
        if quote in "'\"":
            close = text.find(quote, start + 1)
            if close < 0:
                raise self.fail(f"unterminated quoted value starting with {quote}", start)
            self.pos = close + 1
            return text[start + 1 : close], start
        end = start
        while end < len(text) and not text[end].isspace() and text[end] not in stops:
            end += 1
        self.pos = end
        return text[start:end], start

    def parse_value(self, op: str) -> tuple[str, int]:
        self.skip_space()
        if self.at_end() or self.text[self.pos] == ")":
            raise self.fail(f"expected a value{self.after()}")
        if self.text[self.pos] == "[" and op not in ("=~", "!~"):
            raise self.fail(f"operator {op!r} takes one value; use 'in' for a list")
        value, start = self.read_value("()")
        if self.text[start] not in "'\"" and self.text.startswith("(", self.pos):
            raise self.fail("a value can't contain parentheses unless it is quoted")
        self.last = self.text[start : self.pos]
        return value, start

    def parse_list(self, op: str) -> tuple[tuple[str, int], ...]:
        self.skip_space()
        if self.at_end() or self.text[self.pos] != "[":
            raise self.fail(f"expected a list like [a, b]{self.after()}")
        open_at = self.pos
        self.pos += 1
        items: list[tuple[str, int]] = []
        while True:
            self.skip_space()
            if self.at_end():
                raise self.fail("unbalanced brackets: '[' is never closed", open_at)
            if self.text[self.pos] == "]" and not items:
                raise self.fail(f"empty list after {op!r}", open_at)
            if self.text[self.pos] in ",]":
                raise self.fail("expected a value in the list")
            value, start = self.read_value("()[],")
            if not value and self.text[start] not in "'\"":
                raise self.fail("expected a value in the list")
            items.append((value, start))
            self.skip_space()
            if self.at_end():
                raise self.fail("unbalanced brackets: '[' is never closed", open_at)
            char = self.text[self.pos]
            self.pos += 1
            if char == "]":
                self.last = "]"
                return tuple(items)
            if char != ",":
                raise self.fail("expected ',' or ']' in the list", self.pos - 1)

    # -- building leaves
    def _condition(
        self, subject: str, name: str, op: str, arguments: tuple[tuple[str, int], ...]
    ) -> _Node:
        if subject == "task:group":
            return _Group(op, tuple(a for a, _ in arguments))
        if subject in ("runningTasksCount", "registeredAt"):
            return _Numeric(subject, op, self._numeric_argument(subject, *arguments[0]))
        if subject == "agentVersion":
            value, start = arguments[0]
            key = _version_key(value)
            if key is None or _VERSION.fullmatch(value) is None:
                raise self.fail(f"agentVersion needs a version like 1.14.5, got {value!r}", start)
            return _Predicate(subject, name, _VersionCompare(op, key))
        if op in ("=~", "!~"):
            value, start = arguments[0]
            try:
                pattern = _compile(value)
            except re.error as err:
                raise self.fail(f"invalid regular expression {value!r} ({err})", start) from None
            return _Predicate(subject, name, _Matches(pattern), negate=op == "!~")
        if subject == "agentConnected":
            arguments = tuple((self._boolean(v, s), s) for v, s in arguments)
        if op in _SCALAR_COMPARE and op not in ("==", "!="):
            value, _ = arguments[0]
            return _Predicate(subject, name, _OrderCompare(op, value, _number(value)))
        return _Exact(subject, name, op, tuple(a for a, _ in arguments))

    def _numeric_argument(self, subject: str, value: str, start: int) -> float:
        if subject == "runningTasksCount":
            if _WHOLE_NUMBER.fullmatch(value) is None:
                raise self.fail(f"runningTasksCount needs a whole number, got {value!r}", start)
            return float(value)
        instant = _instant(value)
        if instant is None:
            raise self.fail(
                "registeredAt needs a date like 2018-06-18, 2018-06-18T22:28:28Z or "
                f"2018-06-18T22:28:28+00:00 (or epoch seconds), got {value!r}",
                start,
            )
        return instant

    def _boolean(self, value: str, start: int) -> str:
        lowered = value.lower()
        if lowered not in _BOOLEAN_VALUES:
            raise self.fail(f"agentConnected takes true or false, got {value!r}", start)
        return lowered


# -- public API -----------------------------------------------------------------------------


@lru_cache(maxsize=1024)
def _parse(text: str) -> _Node:
    if len(text) > MAX_EXPRESSION_LENGTH:
        raise QueryError(
            f"expression is {len(text)} characters long; the maximum is {MAX_EXPRESSION_LENGTH}"
        )
    return _Parser(text).parse()


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed cluster query expression.

    Build it with :func:`parse_expression` (or ``Expression(text)``, which parses too). It is
    immutable, compares and hashes by its text, and evaluates with numpy operations only.

    Attributes:
        text: The expression as written.
    """

    text: str
    _root: _Node | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self._root is None:
            object.__setattr__(self, "_root", _parse(self.text))

    def __str__(self) -> str:
        return self.text

    def _tree(self) -> _Node:
        root = self._root
        assert root is not None  # set by __post_init__
        return root

    def evaluate(self, view: InstanceView) -> np.ndarray:
        """Return which instances satisfy the expression.

        Args:
            view: The instances, as columns.

        Returns:
            A boolean mask with one entry per instance of ``view``.
        """
        return self._tree().evaluate(view)

    def subjects(self) -> frozenset[str]:
        """Return the subjects the expression reads, e.g. ``{"attribute:tier", "task:group"}``.

        ``task:group`` with ``!=``, ``!in`` or ``exists`` also reads ``runningTasksCount``, which
        is then included.
        """
        return self._tree().subjects()

    def task_groups(self) -> frozenset[str]:
        """Return the task groups named in ``task:group`` conditions."""
        return self._tree().groups()


def parse_expression(text: str) -> Expression:
    """Parse a cluster query expression.

    Args:
        text: The expression, e.g. ``attribute:ecs.instance-type =~ t2.* and not (task:group ==
            database)``.

    Returns:
        The parsed expression, ready to evaluate many times.

    Raises:
        QueryError: The expression is malformed; the message names the position.
    """
    return Expression(text, _parse(text))
