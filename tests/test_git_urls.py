"""Git URLs a spec gives: https to public addresses only (unless the operator allows more), checked before any
connection, and every clone bounded in time, stalls included. The CLI cases drive the real `arena run`."""

import ipaddress
import socket
import threading
import time
from pathlib import Path

import pytest
import yaml

from arena.errors import SandboxError, SpecError
from arena.netguard import GitRemote, check_git_url, private_reason
from arena.sandboxes.repos import _remote_git, run_bounded
from tests.conftest import spec_dict, write_steps
from tests.test_cli import arena

SUBMIT = "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"


@pytest.fixture(autouse=True)
def strict_network(monkeypatch):
    for name in ("ARENA_ALLOW_PRIVATE_NETWORK", "ARENA_ALLOW_SSH_GIT", "ARENA_GIT_TIMEOUT_S"):
        monkeypatch.delenv(name, raising=False)


BLOCKED = [
    "127.0.0.1",
    "127.8.9.10",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "169.254.169.254",
    "100.64.0.1",
    "0.0.0.0",
    "0.1.2.3",
    "::1",
    "::",
    "fc00::1",
    "fd12::1",
    "fe80::1",
    "::ffff:127.0.0.1",
    "::ffff:169.254.169.254",
    "::ffff:10.0.0.1",
    "64:ff9b::a9fe:a9fe",
    "::7f00:1",
    "2002:a9fe:a9fe::1",
    "224.0.0.1",
    "240.0.0.1",
    "192.0.2.1",
]
PUBLIC = ["8.8.8.8", "140.82.121.4", "172.32.0.1", "100.128.0.1", "2606:4700::1111", "::ffff:8.8.8.8"]


@pytest.mark.parametrize("address", BLOCKED)
def test_private_loopback_link_local_and_mapped_addresses_are_not_public(address):
    assert private_reason(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address):
    assert private_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    "url, message",
    [
        ("https://localhost/x.git", "localhost resolves to 127.0.0.1, a loopback address"),
        ("https://127.0.0.1:8443/x.git", "a loopback address"),
        ("https://2130706433/x.git", "resolves to 127.0.0.1"),  # 127.0.0.1 written as one number
        ("https://0x7f.1/x.git", "resolves to 127.0.0.1"),
        ("https://169.254.169.254/x.git", "link-local"),
        ("https://[::ffff:169.254.169.254]/x.git", "inside the IPv6 address"),
        ("https://10.0.0.5/x.git", "a private or reserved address"),
        ("http://github.com/o/r.git", "http:// URLs are refused; use https://, or set ARENA_ALLOW_PRIVATE_NETWORK=1"),
        ("git://github.com/o/r.git", "git:// URLs are refused"),
        ("file:///etc/x.git", "file:// URLs are refused"),
        ("ssh://git@github.com/o/r.git", "set ARENA_ALLOW_SSH_GIT=1"),
        ("git@github.com:o/r.git", "set ARENA_ALLOW_SSH_GIT=1"),
        ("https://nonexistent.invalid/x.git", "does not resolve"),
        ("https://-oProxyCommand=x/r.git", "has no valid host"),
    ],
)
def test_guard_refuses_with_the_reason_and_the_fix(url, message):
    with pytest.raises(SpecError) as error:
        check_git_url(url)
    assert message in str(error.value)


def test_credentials_in_the_url_are_refused_and_not_repeated():
    with pytest.raises(SpecError) as error:
        check_git_url("https://user:ghp_canarytoken@8.8.8.8/o/r.git")
    assert "carries credentials" in str(error.value) and "ghp_canarytoken" not in str(error.value)
    with pytest.raises(SpecError, match="carries credentials"):
        check_git_url("https://ghp_canarytoken@8.8.8.8/o/r.git")


def test_public_https_passes_with_every_address_it_resolves_to():
    remote = check_git_url("https://8.8.8.8/o/r.git")
    assert (remote.scheme, remote.host, remote.port, remote.addresses) == ("https", "8.8.8.8", 443, ("8.8.8.8",))


def test_operator_flags_allow_http_private_and_ssh(monkeypatch):
    monkeypatch.setenv("ARENA_ALLOW_PRIVATE_NETWORK", "1")
    assert check_git_url("http://localhost:8080/x.git").addresses[0] in ("127.0.0.1", "::1")
    with pytest.raises(SpecError, match="ARENA_ALLOW_SSH_GIT"):
        check_git_url("git@localhost:o/r.git")
    monkeypatch.setenv("ARENA_ALLOW_SSH_GIT", "1")
    assert check_git_url("git@localhost:o/r.git").scheme == "ssh"
    monkeypatch.setenv("ARENA_ALLOW_PRIVATE_NETWORK", "0")
    with pytest.raises(SpecError, match="loopback"):
        check_git_url("ssh://git@localhost/o/r.git")  # ssh alone does not open private addresses
    assert check_git_url("ssh://git@8.8.8.8/o/r.git").port == 22


def test_a_timed_out_command_is_killed_with_its_children(tmp_path):
    started = time.monotonic()
    with pytest.raises(SandboxError, match="sleeping took longer than ARENA_GIT_TIMEOUT_S=0.5 s"):
        run_bounded(
            ["sh", "-c", "sleep 30 & echo $! > pid; sleep 30"],
            cwd=tmp_path,
            timeout=0.5,
            what="sleeping",
            setting_name="ARENA_GIT_TIMEOUT_S",
        )
    assert time.monotonic() - started < 5
    child = Path(f"/proc/{(tmp_path / 'pid').read_text().strip()}")
    time.sleep(0.2)
    assert not child.exists() or (child / "stat").read_text().split()[2] == "Z"  # killed (a zombie at most)


@pytest.fixture
def listener():
    """A socket on 127.0.0.1 that records whether anyone connected."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    sock.setblocking(False)
    yield sock
    sock.close()


def connected(sock: socket.socket) -> bool:
    try:
        sock.accept()[0].close()
        return True
    except BlockingIOError:
        return False


def test_git_connects_only_to_the_addresses_the_guard_checked(listener, monkeypatch, tmp_path):
    """DNS rebinding: git gets the checked addresses pinned, so a second DNS answer cannot send it elsewhere."""
    port = listener.getsockname()[1]
    monkeypatch.setenv("ARENA_GIT_TIMEOUT_S", "2")
    # `pinned.invalid` resolves nowhere: git reaches the listener only through the pin.
    remote = GitRemote(f"https://pinned.invalid:{port}/x.git", "https", "pinned.invalid", port, ("127.0.0.1",))
    with pytest.raises(SandboxError, match="took longer than ARENA_GIT_TIMEOUT_S=2 s"):
        _remote_git(["clone", "--quiet", "--mirror", remote.url, str(tmp_path / "m.git")], remote, what="cloning")
    assert connected(listener)


# -- through the real CLI ----------------------------------------------------------------------------


def remote_spec(arena_dir: Path, repo: str) -> Path:
    write_steps(arena_dir / "idle.yaml", [{"thought": "done", "commands": [SUBMIT]}])
    spec = spec_dict(Path("unused"), [{"name": "idle", "model": "scripted:idle.yaml"}])
    spec["task"]["repo"] = repo
    path = arena_dir / "remote.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize(
    "repo, message",
    [
        ("http://169.254.169.254/x.git", "http:// URLs are refused"),
        ("https://169.254.169.254/x.git", "169.254.169.254 resolves to 169.254.169.254, a link-local address"),
        ("file:///tmp/x.git", "file:// URLs are refused"),
        ("https://user:tok@github.com/o/r.git", "carries credentials"),
    ],
)
def test_cli_refuses_unsafe_git_urls_with_exit_2(repo, message, arena_dir, tmp_path):
    result = arena("run", str(remote_spec(arena_dir, repo)), data_dir=tmp_path / "data")
    assert result.returncode == 2, result.stderr
    assert f"task.repo: git URL '{repo.replace('user:tok', '***')}'" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr


def test_cli_refuses_a_loopback_url_before_connecting(listener, arena_dir, tmp_path):
    port = listener.getsockname()[1]
    result = arena("run", str(remote_spec(arena_dir, f"https://127.0.0.1:{port}/repo.git")), data_dir=tmp_path / "d")
    assert (
        result.returncode == 2
        and "a loopback address" in result.stderr
        and "ARENA_ALLOW_PRIVATE_NETWORK=1" in (result.stderr)
    )
    time.sleep(0.2)
    assert not connected(listener)  # refused before git (or anything) connected


class StalledServer:
    """Accepts connections and never answers; records what each connection sent until it closed."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        self.connections: list[socket.socket] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections.append(conn)

    def closed_by_client(self, conn: socket.socket) -> bool:
        conn.settimeout(3)
        try:
            while conn.recv(4096):
                pass
            return True
        except (TimeoutError, OSError):
            return False


def test_a_stalled_git_server_times_out_releases_the_lock_and_kills_git(arena_dir, tmp_path, monkeypatch):
    server = StalledServer()
    port = server.sock.getsockname()[1]
    monkeypatch.setenv("ARENA_ALLOW_PRIVATE_NETWORK", "1")  # plain http:// to 127.0.0.1, on purpose
    monkeypatch.setenv("ARENA_GIT_TIMEOUT_S", "3")
    spec, data = remote_spec(arena_dir, f"http://127.0.0.1:{port}/repo.git"), tmp_path / "data"
    for attempt in ("first", "second: the mirror lock was released"):
        started = time.monotonic()
        result = arena("run", str(spec), data_dir=data, timeout=30)
        assert time.monotonic() - started < 15, attempt
        assert result.returncode == 1, (attempt, result.stderr)
        assert f"cloning http://127.0.0.1:{port}/repo.git took longer than ARENA_GIT_TIMEOUT_S=3 s" in result.stderr
        assert "Traceback" not in result.stderr
    assert len(server.connections) >= 2
    assert all(server.closed_by_client(c) for c in server.connections)  # git's helper processes were killed
    assert list((data / "cache" / "mirrors").glob("*.git")) == []  # no half-made mirror left behind
    server.sock.close()


def test_local_repositories_are_not_network_checked(calc_repo, arena_dir, tmp_path):
    """A local path is no URL: it is used as it is, under the default (strict) network policy."""
    result = arena("run", str(remote_spec(arena_dir, str(calc_repo))), "--json", data_dir=tmp_path / "data")
    assert result.returncode == 0, result.stderr


def test_an_address_that_git_would_read_as_an_option_is_refused(tmp_path, monkeypatch):
    """Found in review: with ssh allowed, `--upload-pack=...@host:path` matched the scp-like form."""
    from arena.sandboxes import RepoCache

    monkeypatch.setenv("ARENA_ALLOW_SSH_GIT", "1")
    marker = tmp_path / "PWNED"
    for url in (f"--upload-pack=touch {marker}@localhost:x", "git@-oProxyCommand=x:o/r.git"):
        with pytest.raises(SpecError):
            RepoCache(tmp_path / "cache").mirror(url)
    assert not marker.exists()
