"""Exceptions that reach users: bad input is reported as one line per problem, never a traceback."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class EcssimError(Exception):
    """Base class of every error ecssim raises on purpose."""


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an input, with the place it was found.

    Attributes:
        path: Where the problem is, e.g. ``services[0].desiredCount``.
        message: What is wrong, e.g. ``expected an integer >= 0, got "ten"``.
    """

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class InputError(EcssimError):
    """Bad input (scenario, task definition, override): one or more located problems.

    ``str(err)`` is one line per problem, ready to print.
    """

    def __init__(self, problems: Iterable[Problem] | str, path: str = "") -> None:
        if isinstance(problems, str):
            problems = [Problem(path, problems)]
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class ScenarioError(InputError):
    """A scenario file or dict that is not valid; nothing was simulated."""


class TaskDefinitionError(InputError):
    """A task definition that ECS itself would reject; the message is ECS's reason."""
