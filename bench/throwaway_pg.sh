# A PostgreSQL server for a benchmark, on loopback in a throwaway folder:
# sourced by bench/federated.sh and bench/pgbench.sh after they set DATA
# (the run's folder) and PGPORT.
#   start_pg [-c name=value ...]   initdb into $DATA/pg and start it (user bench, trust)
#   stop_pg                        stop it (for the script's EXIT trap)
#   pg ARGS...                     psql to its postgres database
PGBIN="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
as_pg() {
  if [ "$(id -u)" = 0 ]; then setpriv --reuid=postgres --regid=postgres --init-groups -- "$@"; else "$@"; fi
}
start_pg() {
  mkdir "$DATA/pg"
  [ "$(id -u)" = 0 ] && chown postgres "$DATA/pg"
  as_pg "$PGBIN/initdb" -D "$DATA/pg/data" -U bench --auth=trust -E UTF8 --locale=C.UTF-8 --no-sync >/dev/null
  as_pg "$PGBIN/pg_ctl" -D "$DATA/pg/data" -l "$DATA/pg/log" -w \
    -o "-p $PGPORT -c listen_addresses=127.0.0.1 -k $DATA/pg $*" start >/dev/null
}
stop_pg() {
  as_pg "$PGBIN/pg_ctl" -D "$DATA/pg/data" stop -m immediate >/dev/null 2>&1 || true
}
pg() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PGPORT" -U bench -d postgres "$@"; }
