"""The engine: validate a spec, queue an arena, run its contestants, judge, settle.

preparation.py  validate (nothing written if bad), prepare_task (the checkout and its setup, once)
coordinator.py  Engine: launch, the coordinator thread per arena, the pool, cancel, leases, listeners;
                record_launch (the rows and stakes of a launch, for the queue too)
contestant.py   one contestant in its sandbox, its row always written
arena/settlement.py  judge_arena, record/read the verdict, settle_arena (stakes)
arena/recovery.py    leases and recovery of runs whose owner died
"""

from arena.engine.coordinator import Engine, EngineEvent, record_launch
from arena.engine.preparation import prepare_task, validate

__all__ = ["Engine", "EngineEvent", "prepare_task", "record_launch", "validate"]
