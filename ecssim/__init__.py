"""ecssim: a discrete-event simulator of Amazon ECS scheduling.

>>> import ecssim
>>> sorted(ecssim.__all__)[:3]
['InputError', 'Result', 'ScenarioError']
"""

from __future__ import annotations

from ecssim.errors import InputError, ScenarioError, TaskDefinitionError
from ecssim.experiment import Sweep, run_many
from ecssim.placement.strategies import register_strategy
from ecssim.result import Result
from ecssim.scenario.loader import load_scenario
from ecssim.simulation import Simulation, run

__all__ = [
    "InputError",
    "Result",
    "ScenarioError",
    "Simulation",
    "Sweep",
    "TaskDefinitionError",
    "load_scenario",
    "register_strategy",
    "run",
    "run_many",
]
