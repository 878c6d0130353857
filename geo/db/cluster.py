"""The project's own PostgreSQL+PostGIS cluster, created with initdb and run with pg_ctl in a folder of its own."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import psycopg
from psycopg import sql

from geo.settings import Settings

INSTALL_HINT = (
    "PostgreSQL and PostGIS are not installed. On Debian run:\n"
    "    sudo apt-get install -y postgresql-15 postgresql-15-postgis-3\n"
    "or set AREAVASTA_PG_BIN_DIR to a PostgreSQL bin folder whose share/extension has PostGIS, "
    "or set AREAVASTA_DATABASE_URL to an existing PostGIS database."
)


class ClusterError(RuntimeError):
    """The managed cluster could not be created, started or reached."""


@dataclass(frozen=True)
class ClusterStatus:
    """Whether the managed cluster exists and runs, and where its data and binaries are."""

    initialized: bool
    running: bool
    port: int
    pgdata: Path
    bin_dir: Path | None

    def describe(self) -> str:
        """One line for operators: the state, port, data folder and binaries."""
        state = "running" if self.running else ("stopped" if self.initialized else "not created")
        return f"{state} (port {self.port}, data {self.pgdata}, binaries {self.bin_dir or 'not found'})"


def _postgis_control(bin_dir: Path) -> Path:
    """Where Debian's layout keeps the PostGIS control file for the server in ``bin_dir``."""
    version = bin_dir.parent.name
    return Path("/usr/share/postgresql") / version / "extension" / "postgis.control"


def _has_postgis(bin_dir: Path) -> bool:
    control = _postgis_control(bin_dir)
    return control.exists() or control.with_name("postgis-3.control").exists()


def find_bin_dir(explicit: Path | None = None) -> Path:
    """The PostgreSQL bin folder to use: the configured one, else the newest Debian server with PostGIS."""
    if explicit is not None:
        if not (explicit / "initdb").exists():
            raise ClusterError(f"AREAVASTA_PG_BIN_DIR={explicit} has no initdb. {INSTALL_HINT}")
        return explicit
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    servers = [p for p in candidates if (p / "initdb").exists() and (p / "pg_ctl").exists()]
    if not servers:
        raise ClusterError(INSTALL_HINT)
    with_postgis = [p for p in servers if _has_postgis(p)]
    if not with_postgis:
        version = servers[0].parent.name
        raise ClusterError(
            f"PostgreSQL {version} is installed but PostGIS is not. On Debian run:\n"
            f"    sudo apt-get install -y postgresql-{version}-postgis-3"
        )
    return with_postgis[0]


def _service_user() -> list[str]:
    """Command prefix that runs server binaries unprivileged: initdb and postgres refuse to run as root."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    try:
        import pwd

        pwd.getpwnam("postgres")
    except KeyError as exc:
        raise ClusterError(
            "Running as root, and there is no 'postgres' user to run the server as "
            "(it comes with Debian's postgresql package)."
        ) from exc
    if runuser is None:
        raise ClusterError("Running as root needs 'runuser' (util-linux) to start the server as 'postgres'.")
    return [runuser, "-u", "postgres", "--"]


def _chown_to_service_user(path: Path) -> None:
    if os.geteuid() != 0:
        return
    import pwd

    entry = pwd.getpwnam("postgres")
    for root, dirs, files in os.walk(path):
        for name in [*dirs, *files]:
            os.chown(os.path.join(root, name), entry.pw_uid, entry.pw_gid)
    os.chown(path, entry.pw_uid, entry.pw_gid)


class Cluster:
    """A cluster in ``root`` (``cluster/`` data, ``run/`` socket, ``server.log``, ``password``)."""

    def __init__(self, root: Path, port: int, user: str, database: str, bin_dir: Path | None = None) -> None:
        self.root = root.absolute()
        self.port = port
        self.user = user
        self.database = database
        self._bin_dir = bin_dir

    @classmethod
    def from_settings(cls, settings: Settings) -> Cluster:
        """The cluster the settings describe (``AREAVASTA_PG_*``)."""
        return cls(settings.pg_dir, settings.pg_port, settings.pg_user, settings.pg_database, settings.pg_bin_dir)

    @property
    def pgdata(self) -> Path:
        """The data folder (PGDATA)."""
        return self.root / "cluster"

    @property
    def socket_dir(self) -> Path:
        """The folder of the server's Unix socket."""
        return self.root / "run"

    @property
    def logfile(self) -> Path:
        """The server's log file."""
        return self.root / "server.log"

    @property
    def password_file(self) -> Path:
        """The file holding the generated password of the cluster's user."""
        return self.root / "password"

    def bin_dir(self) -> Path:
        """The PostgreSQL bin folder, found again when the given one has no initdb; ClusterError when there is none."""
        if self._bin_dir is None or not (self._bin_dir / "initdb").exists():
            self._bin_dir = find_bin_dir(self._bin_dir)
        return self._bin_dir

    def _run(
        self, *args: str, as_service: bool = True, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        prefix = _service_user() if as_service else []
        environment = {**os.environ, **env} if env else None
        return subprocess.run([*prefix, *args], capture_output=True, text=True, check=False, env=environment)

    def initialized(self) -> bool:
        """Whether initdb has created the data folder."""
        return (self.pgdata / "PG_VERSION").exists()

    def running(self) -> bool:
        """Whether pg_ctl reports the server running."""
        if not self.initialized():
            return False
        result = self._run(str(self.bin_dir() / "pg_ctl"), "status", "-D", str(self.pgdata))
        return result.returncode == 0

    def status(self) -> ClusterStatus:
        """The cluster's status; binaries that cannot be found are reported as None, not raised."""
        try:
            bin_dir: Path | None = self.bin_dir()
        except ClusterError:
            bin_dir = None
        running = bin_dir is not None and self.running()
        return ClusterStatus(self.initialized(), running, self.port, self.pgdata, bin_dir)

    def password(self) -> str:
        """The password of the cluster's user; ClusterError when the cluster has not been created."""
        if not self.password_file.exists():
            raise ClusterError(f"The managed cluster in {self.root} has not been created: run 'areavasta db start'.")
        return self.password_file.read_text().strip()

    def url(self) -> str:
        """SQLAlchemy URL of the cluster's database (TCP on loopback, password authentication)."""
        return f"postgresql+psycopg://{self.user}:{self.password()}@127.0.0.1:{self.port}/{self.database}"

    def init(self) -> None:
        """Create the cluster folder with initdb (a no-op when it exists)."""
        if self.initialized():
            return
        bin_dir = self.bin_dir()
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)  # the service user must traverse it when we run as root
        self.socket_dir.mkdir(exist_ok=True)
        if self.pgdata.exists():
            shutil.rmtree(self.pgdata)
        self.pgdata.mkdir(mode=0o700)
        _chown_to_service_user(self.pgdata)
        password = secrets.token_urlsafe(24)
        self.password_file.write_text(password + "\n")
        self.password_file.chmod(0o600)
        pwfile = self.socket_dir / ".initdb-pw"
        pwfile.write_text(password + "\n")
        _chown_to_service_user(self.socket_dir)
        try:
            result = self._run(
                str(bin_dir / "initdb"),
                "-D",
                str(self.pgdata),
                "-U",
                self.user,
                "--pwfile",
                str(pwfile),
                "--auth-local=scram-sha-256",
                "--auth-host=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                # byte order, the same order as C.UTF-8's code points for UTF-8 text, but compared with memcmp: the
                # codes' keys index and sort a third faster (PostgreSQL 15 calls strcoll for any other collation)
                "--lc-collate=C",
            )
        finally:
            pwfile.unlink(missing_ok=True)
        if result.returncode != 0:
            raise ClusterError(f"initdb failed in {self.pgdata}:\n{result.stderr.strip() or result.stdout.strip()}")

    def replica_of(self, primary: Cluster) -> None:
        """Create this cluster as a streaming replica of the running ``primary`` (pg_basebackup with its standby
        settings: it follows the primary's WAL from then on). A no-op when the cluster exists; ``start`` runs it."""
        if self.initialized():
            return
        self.root.mkdir(parents=True, exist_ok=True)
        self.root.chmod(0o755)
        self.socket_dir.mkdir(exist_ok=True)
        password = primary.password()
        self.password_file.write_text(password + "\n")
        self.password_file.chmod(0o600)
        self.pgdata.mkdir(mode=0o700, exist_ok=True)
        _chown_to_service_user(self.pgdata)
        result = self._run(
            str(self.bin_dir() / "pg_basebackup"),
            "-D",
            str(self.pgdata),
            "--write-recovery-conf",
            "--wal-method=stream",
            "--checkpoint=fast",
            "-h",
            "127.0.0.1",
            "-p",
            str(primary.port),
            "-U",
            primary.user,
            env={"PGPASSWORD": password},
        )
        if result.returncode != 0:
            shutil.rmtree(self.pgdata, ignore_errors=True)
            raise ClusterError(
                f"pg_basebackup could not copy the primary on port {primary.port}:\n{result.stderr.strip()}"
            )

    def start(self) -> None:
        """Create (if needed) and start the cluster, then make sure its database has PostGIS. Idempotent."""
        self.init()
        if not self.running():
            self.logfile.touch(exist_ok=True)
            _chown_to_service_user(self.socket_dir)
            if os.geteuid() == 0:
                _chown_to_service_user(self.logfile)
            options = f"-p {self.port} -k {self.socket_dir} -c listen_addresses=127.0.0.1"
            result = self._run(
                str(self.bin_dir() / "pg_ctl"),
                "start",
                "-w",
                "-t",
                "60",
                "-D",
                str(self.pgdata),
                "-l",
                str(self.logfile),
                "-o",
                options,
            )
            if result.returncode != 0:
                raise ClusterError(
                    f"pg_ctl could not start the cluster on port {self.port}:\n"
                    f"{result.stderr.strip()}\n--- {self.logfile} (last lines) ---\n{self._log_tail()}"
                )
        self._ensure_database()

    def stop(self) -> None:
        """Stop the cluster if it runs. Idempotent."""
        if not self.running():
            return
        result = self._run(str(self.bin_dir() / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(self.pgdata))
        if result.returncode != 0:
            raise ClusterError(f"pg_ctl could not stop the cluster:\n{result.stderr.strip()}")

    def reset(self) -> None:
        """Stop, delete and recreate the cluster: every loaded table is lost."""
        self.stop()
        if self.root.exists():
            shutil.rmtree(self.root)
        self.start()

    def _log_tail(self, lines: int = 15) -> str:
        if not self.logfile.exists():
            return "(no log)"
        return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])

    def _ensure_database(self) -> None:
        admin = psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password(),
            dbname="postgres",
            autocommit=True,
        )
        with admin:
            if admin.execute("SELECT pg_is_in_recovery()").fetchone() == (True,):
                return  # a replica: its databases and extensions come from the primary
            exists = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", (self.database,)).fetchone()
            if not exists:
                admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.database)))
        with psycopg.connect(
            host="127.0.0.1",
            port=self.port,
            user=self.user,
            password=self.password(),
            dbname=self.database,
            autocommit=True,
        ) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS postgis")


def safe_url(url: str) -> str:
    """The URL with its password hidden, for messages."""
    return re.sub(r"(://[^:/@]+:)[^@]*@", r"\1***@", url)
