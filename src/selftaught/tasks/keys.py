"""Instance keys: the secret every validation and held-out instance is derived from.

An instance is made by `make_instance(rng)` with `rng` seeded from
HMAC-SHA256(key, task name, split, seed). The seeds are public (validation 0..n-1,
held-out 1,000,000..); the key is not, so nothing that lacks the key (a sandboxed
solution or improver, or anyone reading the task code) can regenerate an instance or its
answer. Where a key comes from:

  - `run`: drawn from the operating system's randomness when a run is created, and kept
    in the run directory as `instance.key` (mode 0600); `resume` and `replay:` read it back;
  - `user`: one per user for one-off commands (`score`, `improve`, `transfer`), created on
    first use in `$XDG_DATA_HOME/selftaught/instance.key` (default
    `~/.local/share/selftaught/`), mode 0600, so one solution keeps its score on one machine;
  - `pinned`: given with `--instance-key` or `instance_key` in a config, for a shared,
    reproducible benchmark. It is only as secret as the place it is written.

Reports show a key's source and `id` (a one-way fingerprint), never the key.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from selftaught.errors import UserError
from selftaught.sandbox import hidden

KEY_FILE = "instance.key"
KEY_BYTES = 32


@dataclass(frozen=True)
class InstanceKey:
    """A secret and where it came from (`run`, `user`, `pinned`, `replay`)."""

    secret: bytes = field(repr=False)
    source: str

    @property
    def id(self) -> str:
        """A fingerprint to tell keys apart in records; it does not reveal the key."""
        return hashlib.sha256(b"selftaught instance key id\0" + self.secret).hexdigest()[:12]

    def describe(self) -> dict[str, str]:
        """What a run records about its key: source and fingerprint, not the key."""
        return {"source": self.source, "id": self.id}

    def rng(self, task: str, split: str, seed: int) -> np.random.Generator:
        """The generator of instance `seed` of `split` of `task`."""
        message = f"{task}\0{split}\0{seed}".encode()
        digest = hmac.new(self.secret, message, hashlib.sha256).digest()
        return np.random.default_rng(int.from_bytes(digest, "big"))


def fresh() -> InstanceKey:
    """A new key from the operating system's randomness."""
    return InstanceKey(secrets.token_bytes(KEY_BYTES), "run")


def pinned(text: str) -> InstanceKey:
    """The key a user wrote down (`--instance-key`, `instance_key`)."""
    if not text:
        raise UserError("an instance key must not be empty")
    return InstanceKey(text.encode(), "pinned")


def _encode(key: InstanceKey) -> bytes:
    return json.dumps({"source": key.source, "key": key.secret.hex()}).encode()


def write_key(path: Path, key: InstanceKey) -> None:
    """Write `key` to a new owner-only file; an existing file is never replaced."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(_encode(key))
        f.flush()
        os.fsync(f.fileno())


def read_key(path: Path) -> InstanceKey:
    """The key kept in `path`; a missing or damaged file is a user error."""
    try:
        data = json.loads(Path(path).read_bytes())
        return InstanceKey(bytes.fromhex(data["key"]), str(data["source"]))
    except FileNotFoundError:
        raise UserError(f"no instance key at {path}") from None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"cannot read the instance key {path}: {exc}") from None


def user_key_path() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(Path.home(), ".local", "share")
    return Path(base) / "selftaught" / KEY_FILE


def user_key() -> InstanceKey:
    """This user's key for one-off commands, created on first use.

    Two first uses at once agree: each writes a complete private file under a temporary
    name and links it into place; a link that finds the file already there loses, and
    its process reads the winner's key.
    """
    path = user_key_path()
    hidden.hide(path.parent, name_it=True)
    if not path.exists():
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            tmp = path.with_name(f".{KEY_FILE}.{secrets.token_hex(8)}")
            write_key(tmp, InstanceKey(secrets.token_bytes(KEY_BYTES), "user"))
            try:
                os.link(tmp, path)
            except FileExistsError:
                pass
            finally:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)
        except OSError as exc:
            raise UserError(
                f"cannot create the instance key {path}: {exc.strerror or exc} "
                "(set XDG_DATA_HOME, or pin a key with --instance-key)"
            ) from None
    key = read_key(path)
    return InstanceKey(key.secret, "user")


def for_new_run(instance_key: str | None, model: str) -> InstanceKey:
    """The key of a new run: pinned if the config pins one; a replayed run's own key when
    the model replays a recorded run that has one; else a fresh one."""
    if instance_key:
        return pinned(instance_key)
    if model.startswith("replay:"):
        recorded = Path(model.removeprefix("replay:")).expanduser()
        folder = recorded if recorded.is_dir() else recorded.parent
        if (folder / KEY_FILE).is_file():
            return InstanceKey(read_key(folder / KEY_FILE).secret, "replay")
    return fresh()


def for_one_off(instance_key: str | None) -> InstanceKey:
    """The key of `score`, `improve` and `transfer`: pinned, else this user's."""
    return pinned(instance_key) if instance_key else user_key()
