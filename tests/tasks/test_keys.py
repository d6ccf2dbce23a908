"""Instance keys: instances come from a secret, not from the public seeds alone."""

import hashlib
import os
import stat
import subprocess
import sys

import numpy as np
import pytest

from selftaught.errors import UserError
from selftaught.tasks import get_task, keys
from selftaught.tasks.sat import N_CLAUSES, N_VARS, planted_formula


def _inputs(task, key, split="heldout"):
    return [repr(inst.inputs) for inst in task.instances(split, key)]


def test_one_key_gives_the_same_instances_and_two_keys_different_ones():
    task = get_task("3sat")
    a, b = keys.fresh(), keys.fresh()
    assert _inputs(task, a) == _inputs(get_task("3sat"), a)
    assert not set(_inputs(task, a)) & set(_inputs(task, b))
    assert a.source == "run" and a.id != b.id


def test_the_public_seeds_and_the_task_code_do_not_rebuild_an_instance():
    task = get_task("3sat")
    made = {repr(inst.inputs[0]) for inst in task.instances("heldout", keys.fresh())}
    name_key = int.from_bytes(hashlib.sha256(b"3sat").digest()[:4], "big")
    for seed in task.seeds("heldout"):
        formula, _ = planted_formula(np.random.default_rng([name_key, seed]), N_VARS, N_CLAUSES)
        assert repr(formula) not in made


def test_a_pinned_key_gives_the_same_instances_anywhere_and_says_so():
    task = get_task("lpn")
    one, two = keys.pinned("shared benchmark"), keys.pinned("shared benchmark")
    assert one.source == "pinned" and one.id == two.id
    assert _inputs(task, one) == _inputs(get_task("lpn"), two)
    with pytest.raises(UserError):
        keys.pinned("")


def test_a_key_never_shows_its_secret():
    key = keys.fresh()
    for shown in (repr(key), str(key), repr(key.describe())):
        assert key.secret.hex() not in shown and repr(key.secret) not in shown


def test_a_run_key_file_is_private_and_never_replaced(tmp_path):
    key = keys.fresh()
    path = tmp_path / keys.KEY_FILE
    keys.write_key(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert keys.read_key(path) == key
    with pytest.raises(FileExistsError):
        keys.write_key(path, keys.fresh())
    assert keys.read_key(path) == key


def test_a_damaged_or_missing_key_file_is_one_clear_line(tmp_path):
    (tmp_path / "bad").write_text("not a key")
    for path in (tmp_path / "bad", tmp_path / "missing"):
        with pytest.raises(UserError) as info:
            keys.read_key(path)
        assert "\n" not in str(info.value)


FIRST_USE = "from selftaught.tasks import keys; print(keys.user_key().id)"


def test_concurrent_first_uses_of_the_user_key_agree_on_one_private_file(tmp_path):
    env = {**os.environ, "XDG_DATA_HOME": str(tmp_path / "data")}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", FIRST_USE], env=env, stdout=subprocess.PIPE, text=True
        )
        for _ in range(6)
    ]
    ids = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert len(ids) == 1 and "" not in ids
    path = tmp_path / "data" / "selftaught" / keys.KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert [p.name for p in path.parent.iterdir()] == [keys.KEY_FILE]


def test_the_user_key_is_kept_and_is_what_a_task_uses_by_default(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    first = keys.user_key()
    assert first.source == "user" and keys.user_key() == first
    task = get_task("lpn")
    assert _inputs(task, None) == _inputs(get_task("lpn"), first)


def test_replaying_a_run_uses_its_key_and_a_pin_wins(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    recorded = keys.fresh()
    keys.write_key(run / keys.KEY_FILE, recorded)
    replayed = keys.for_new_run(None, f"replay:{run}")
    assert replayed.secret == recorded.secret and replayed.source == "replay"
    assert keys.for_new_run(None, f"replay:{run / 'records.sqlite'}").secret == recorded.secret
    assert keys.for_new_run("pin", f"replay:{run}").source == "pinned"
    assert keys.for_new_run(None, "echo").source == "run"
