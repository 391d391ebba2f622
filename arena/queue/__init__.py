"""The queue: arenas run by workers on many machines, through PostgreSQL (procrastinate).

state.py  an arena on the queue as rows: start, advance (what runs next), claim (a contestant for a worker), end
jobs.py   the jobs (prepare, contestant, judge, rejudge, publish, sync), QueueLauncher (what `arena run --detach`
          and the Launch page on PostgreSQL use) and Worker (`arena worker`)

The embedded SQLite default runs arenas in the process that launches them (arena.engine.Engine): the same launch,
cancel and judge, without workers.
"""
