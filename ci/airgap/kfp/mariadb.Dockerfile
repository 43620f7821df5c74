# KFP's database: bookworm's MariaDB on a debootstrap root filesystem (ARG ROOTFS, imported
# locally). It runs as uid/gid 999, the user KFP's mysql Deployment asks for.
ARG ROOTFS
FROM ${ROOTFS}
RUN groupmod --gid 999 mysql && usermod --uid 999 --gid 999 mysql \
    && mkdir -p /var/lib/mysql /run/mysqld /var/log/mysql \
    && rm -rf /var/lib/mysql/* \
    && chown -R 999:999 /var/lib/mysql /run/mysqld /var/log/mysql \
    && printf '[mariadbd]\nskip-name-resolve\ncharacter-set-server=utf8mb4\ncollation-server=utf8mb4_general_ci\n' \
       > /etc/mysql/mariadb.conf.d/90-kfp.cnf
COPY mariadb-entrypoint.sh /usr/local/bin/mariadb-entrypoint
USER 999:999
EXPOSE 3306
ENTRYPOINT ["/usr/local/bin/mariadb-entrypoint"]
