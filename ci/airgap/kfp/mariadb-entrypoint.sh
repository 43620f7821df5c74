#!/bin/bash
# KFP's database, MariaDB standing in for the mysql:8.4 image its manifests run: the same
# contract (MYSQL_ALLOW_EMPTY_PASSWORD: root from any host, no password; the data directory
# initialised on first start), then mariadbd with KFP's flags, less the MySQL-8-only ones.
set -euo pipefail

datadir=/var/lib/mysql
args=()
while (($#)); do
  case "$1" in
    # MySQL 8 spellings MariaDB does not know: native passwords are MariaDB's default and its
    # binary log is off unless asked for.
    --authentication-policy=* | --mysql-native-password=* | --disable-log-bin)
      echo "mariadb-entrypoint: ignoring MySQL-only flag $1" >&2 ;;
    --datadir) datadir="$2"; args+=("--datadir=$2"); shift ;;
    --datadir=*) datadir="${1#--datadir=}"; args+=("$1") ;;
    *) args+=("$1") ;;
  esac
  shift
done

if [[ ! -d "$datadir/mysql" ]]; then
  echo "mariadb-entrypoint: initialising $datadir" >&2
  # No --user: as a non-root user it would chown the data directory, which a volume's owner
  # (root, with the pod's fsGroup) does not allow; the files are this user's anyway.
  mariadb-install-db --datadir="$datadir" --skip-test-db --auth-root-authentication-method=normal \
    >/dev/null
  if [[ "${MYSQL_ALLOW_EMPTY_PASSWORD:-}" =~ ^(1|true|yes)$ ]]; then
    # A private server on the socket only, to create root@'%' before the network is opened.
    mariadbd --datadir="$datadir" --skip-networking --socket=/run/mysqld/init.sock &
    pid=$!
    for _ in $(seq 60); do
      mariadb-admin --socket=/run/mysqld/init.sock -uroot ping >/dev/null 2>&1 && break
      sleep 1
    done
    mariadb --socket=/run/mysqld/init.sock -uroot <<'SQL'
CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '';
GRANT ALL PRIVILEGES ON *.* TO 'root'@'%' WITH GRANT OPTION;
FLUSH PRIVILEGES;
SQL
    kill "$pid"
    wait "$pid" || true
  fi
fi

exec mariadbd --bind-address=0.0.0.0 --port=3306 "${args[@]}"
