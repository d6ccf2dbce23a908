"""The records survive a write that was interrupted half-way (Ctrl-C between its BEGIN and
its COMMIT): the next write rolls the half-done one back instead of failing."""

from selftaught.store import RunDir


def test_a_write_after_an_interrupted_one_still_lands(tmp_path):
    run_dir = RunDir.create(tmp_path, "interrupted")
    store = run_dir.open_store()
    try:
        store.set_meta("status", "running")
        store._db.execute("BEGIN IMMEDIATE")  # as a write left it when KeyboardInterrupt hit
        store._db.execute("INSERT INTO meta (key, value) VALUES ('half', '1')")
        store.set_meta("status", "stopped")
        assert store.meta()["status"] == "stopped" and "half" not in store.meta()
    finally:
        store.close()
