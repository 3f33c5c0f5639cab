"""ecssim: a discrete-event simulator of Amazon ECS scheduling.

>>> import ecssim
>>> sorted(ecssim.__all__)[:3]
['Result', 'Simulation', 'load_scenario']
"""

from __future__ import annotations

from ecssim.errors import InputError, ScenarioError, TaskDefinitionError
from ecssim.placement.strategies import register_strategy
from ecssim.result import Result
from ecssim.scenario.loader import load_scenario
from ecssim.simulation import Simulation, run

__all__ = [
    "InputError",
    "Result",
    "ScenarioError",
    "Simulation",
    "TaskDefinitionError",
    "load_scenario",
    "register_strategy",
    "run",
]
