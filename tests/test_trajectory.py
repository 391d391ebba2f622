"""Trajectories are written atomically: a reader never sees a torn file."""

import threading

from arena.trajectory import read_trajectory, write_json_atomic


def test_a_trajectory_being_rewritten_is_never_read_torn(tmp_path):
    path = tmp_path / "traj.json"
    stop = threading.Event()

    def writer():
        n = 0
        while not stop.is_set():
            n += 1  # a growing file, like an agent appending steps
            write_json_atomic(path, {"messages": [{"role": "user", "content": "x" * 2000}] * (n % 300), "n": n})

    thread = threading.Thread(target=writer)
    thread.start()
    reads = 0
    try:
        while reads < 2000:
            data = read_trajectory(path)
            if data is not None:
                assert len(data["messages"]) == data["n"] % 300
                reads += 1
    finally:
        stop.set()
        thread.join()
    assert not list(tmp_path.glob(".traj.json.*.tmp")), "temp files left behind"


def test_garbage_and_missing_files_read_as_none(tmp_path):
    assert read_trajectory(tmp_path / "missing.json") is None
    (tmp_path / "half.json").write_text('{"messages": [')
    assert read_trajectory(tmp_path / "half.json") is None
