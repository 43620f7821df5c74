"""The command line: ``metadata_store_server``'s own flags, so KFP's manifests run it unchanged.

KFP's ``metadata-grpc-deployment`` passes ``--grpc_port=8080``, the five
``--mysql_config_*`` flags and ``--enable_database_upgrade=true``; every one of them means
here what it means to ml-metadata's C++ server (``metadata_store_server_main.cc``): MySQL
needs host, port and database together, user and password are optional, and with no database
flag at all the store is an in-memory SQLite database that dies with the process. Additions,
for running it outside a cluster: ``--sqlite PATH`` (a file-backed SQLite store, created if
missing), ``--port`` as another name for ``--grpc_port``, and ``--flag value`` beside
``--flag=value``. As there, the server listens on every interface; ``MNIST_METADATA_HOST``
narrows that (tests bind loopback only).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final, NoReturn

HOST_ENV: Final = "MNIST_METADATA_HOST"
DEFAULT_HOST: Final = "0.0.0.0"  # metadata_store_server binds 0.0.0.0 too
DEFAULT_PORT: Final = 8080  # metadata_store_server's default, and KFP's Service port
MAX_PORT: Final = 65535
ACCEPTED: Final = (
    "--grpc_port (or --port), --sqlite, --mysql_config_host, --mysql_config_port,"
    " --mysql_config_database, --mysql_config_user, --mysql_config_password,"
    " --enable_database_upgrade, --metadata_store_connection_retries"
)


@dataclass(frozen=True)
class MySQL:
    """Where the MySQL database is, as ``--mysql_config_*`` gave it."""

    host: str
    port: int
    database: str
    user: str = ""
    password: str = ""

    def __repr__(self) -> str:
        # The password stays out of logs and tracebacks.
        return f"MySQL({self.user or '<no user>'}@{self.host}:{self.port}/{self.database})"


@dataclass(frozen=True)
class ServerFlags:
    """What the server was asked to do, checked."""

    port: int = DEFAULT_PORT
    host: str = DEFAULT_HOST
    sqlite: str | None = None
    mysql: MySQL | None = None
    enable_database_upgrade: bool = False
    connection_retries: int = 5
    # gRPC server options, as metadata_store_server's --grpc_channel_arguments gives them
    channel_arguments: tuple[tuple[str, int | str], ...] = ()

    def describe_store(self) -> str:
        """One line naming the database, never its password."""
        if self.mysql is not None:
            return f"MySQL database {self.mysql.database!r} on {self.mysql.host}:{self.mysql.port}"
        if self.sqlite is not None:
            return f"SQLite file {self.sqlite}"
        return "an in-memory SQLite database (nothing persists; give --sqlite or --mysql_config_*)"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # argparse's own text ("unrecognized arguments: --foo") plus what is accepted.
        self.print_usage()
        self.exit(
            2,
            f"{self.prog}: error: {message}\n(the metadata server takes metadata_store_server's"
            f" flags: {ACCEPTED})\n",
        )


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 < value <= MAX_PORT:
        raise argparse.ArgumentTypeError(f"{value} is not a port in 1..{MAX_PORT}")
    return value


def _mysql_port(text: str) -> int:
    # 0 is metadata_store_server's "not given", so it is accepted here too.
    return 0 if text.strip() == "0" else _port(text)


def _bool(text: str) -> bool:
    # gflags' spellings: --flag, --flag=true/false, 1/0, yes/no, t/f, y/n.
    lowered = text.lower()
    if lowered in ("true", "t", "yes", "y", "1"):
        return True
    if lowered in ("false", "f", "no", "n", "0"):
        return False
    raise argparse.ArgumentTypeError(f"{text!r} is not a boolean; give true or false")


def _retries(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give 0 or more")
    return value


def _channel_arguments(text: str) -> tuple[tuple[str, int | str], ...]:
    """``key=value[,key=value]`` (KFP passes grpc.max_metadata_size=16384); numbers as ints."""
    pairs: list[tuple[str, int | str]] = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.startswith("grpc.") or not value:
            raise argparse.ArgumentTypeError(
                f"{item!r} is not grpc.<name>=<value> (e.g. grpc.max_metadata_size=16384)"
            )
        pairs.append((key, int(value) if value.lstrip("-").isdigit() else value))
    return tuple(pairs)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser, with metadata_store_server's flag names, defaults and help."""
    parser = _Parser(
        prog="python -m metadata_server",
        description="ML Metadata's MetadataStoreService over the real C++ store (ml-metadata).",
        allow_abbrev=False,  # gflags matches flag names exactly
    )
    parser.add_argument(
        "--grpc_port",
        "--port",
        dest="port",
        type=_port,
        default=DEFAULT_PORT,
        help=f"port to listen on for the gRPC API (default {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--sqlite",
        metavar="PATH",
        help="a SQLite database file, created if missing (not a metadata_store_server flag)",
    )
    mysql = parser.add_argument_group(
        "MySQL", "host, port and database together select MySQL; user and password are optional"
    )
    mysql.add_argument("--mysql_config_host", default="", help="the MySQL host name")
    mysql.add_argument(
        "--mysql_config_port", type=_mysql_port, default=0, help="the MySQL port (e.g. 3306)"
    )
    mysql.add_argument(
        "--mysql_config_database",
        default="",
        help="the database, created if missing (KFP: metadb)",
    )
    mysql.add_argument("--mysql_config_user", default="", help="the MySQL user")
    mysql.add_argument("--mysql_config_password", default="", help="the MySQL user's password")
    parser.add_argument(
        "--enable_database_upgrade",
        type=_bool,
        nargs="?",
        const=True,
        default=False,
        help="upgrade an older database schema to this store's version at start",
    )
    parser.add_argument(
        "--grpc_channel_arguments",
        type=_channel_arguments,
        default=(),
        help="gRPC server options, comma-separated grpc.<name>=<value>",
    )
    parser.add_argument(
        "--metadata_store_connection_retries",
        dest="connection_retries",
        type=_retries,
        default=5,
        help="how many more times to try reaching MySQL at start, a second apart (default 5)",
    )
    return parser


def parse(argv: Sequence[str], environ: Mapping[str, str]) -> ServerFlags:
    """Parse *argv* (without the program name); exit 2 with a clear message if it is wrong."""
    parser = build_parser()
    args = parser.parse_args(list(argv))
    mysql: MySQL | None = None
    given = {
        "--mysql_config_host": args.mysql_config_host,
        "--mysql_config_port": args.mysql_config_port,
        "--mysql_config_database": args.mysql_config_database,
    }
    if any(given.values()):
        missing = [name for name, value in given.items() if not value]
        if missing:
            parser.error(
                f"MySQL needs --mysql_config_host, --mysql_config_port and"
                f" --mysql_config_database together; missing {', '.join(missing)}"
            )
        mysql = MySQL(
            host=args.mysql_config_host,
            port=args.mysql_config_port,
            database=args.mysql_config_database,
            user=args.mysql_config_user,
            password=args.mysql_config_password,
        )
    elif args.mysql_config_user or args.mysql_config_password:
        parser.error(
            "--mysql_config_user/--mysql_config_password without --mysql_config_host,"
            " --mysql_config_port and --mysql_config_database"
        )
    if args.sqlite is not None:
        if mysql is not None:
            parser.error("--sqlite and --mysql_config_* both given; choose one database")
        if not args.sqlite.strip():
            parser.error("--sqlite needs a file path")
    return ServerFlags(
        port=args.port,
        host=environ.get(HOST_ENV, DEFAULT_HOST) or DEFAULT_HOST,
        sqlite=args.sqlite,
        mysql=mysql,
        enable_database_upgrade=args.enable_database_upgrade,
        connection_retries=args.connection_retries,
        channel_arguments=args.grpc_channel_arguments,
    )
