/* Receive a query's rows and print how fast they came.
 *   receive CONNINFO text|binary QUERY [libpq|wire]
 * FORMAT is the result format asked for in Bind.
 *   libpq (default): rows arrive through libpq in single-row mode, so the
 *     client holds one row at a time: the rate a libpq application sees,
 *     which on a small machine is bounded by libpq's own work per row.
 *   wire: libpq connects, then the query is sent as Parse/Bind/Execute/Sync
 *     on the socket and the reply is read in large pieces, counting
 *     DataRow messages without decoding them: the server's own rate.
 * Prints "rows bytes seconds" (bytes: the DataRows' field bytes for libpq,
 * the DataRow messages' lengths for wire). */
#include <arpa/inet.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

/* NOTICEs (what a query scanned) are not the benchmark's output. */
static void quiet(void *arg, const char *message) {
  (void)arg;
  (void)message;
}

static int through_libpq(PGconn *conn, const char *query, int binary, long *rows, long long *bytes) {
  if (!PQsendQueryParams(conn, query, 0, NULL, NULL, NULL, NULL, binary) || !PQsetSingleRowMode(conn)) {
    fprintf(stderr, "%s", PQerrorMessage(conn));
    return 1;
  }
  PGresult *res;
  int failed = 0;
  while ((res = PQgetResult(conn)) != NULL) {
    ExecStatusType status = PQresultStatus(res);
    if (status == PGRES_SINGLE_TUPLE) {
      int fields = PQnfields(res);
      for (int f = 0; f < fields; f++) *bytes += PQgetlength(res, 0, f);
      (*rows)++;
    } else if (status != PGRES_TUPLES_OK) {
      fprintf(stderr, "%s", PQresultErrorMessage(res));
      failed = 1;
    }
    PQclear(res);
  }
  return failed;
}

/* Append a protocol message: type, length, body. */
static size_t message(char *out, char type, const char *body, size_t len) {
  uint32_t n = htonl((uint32_t)(len + 4));
  out[0] = type;
  memcpy(out + 1, &n, 4);
  memcpy(out + 5, body, len);
  return len + 5;
}

static int on_the_wire(PGconn *conn, const char *query, int binary, long *rows, long long *bytes) {
  int fd = PQsocket(conn);
  /* libpq leaves its socket non-blocking; these reads and writes wait. */
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  size_t qlen = strlen(query);
  char *out = malloc(qlen + 256), *body = malloc(qlen + 64);
  size_t at = 0, b = 0;
  /* Parse: unnamed statement, the query, no parameter types. */
  body[b++] = 0;
  memcpy(body + b, query, qlen + 1);
  b += qlen + 1;
  body[b++] = 0, body[b++] = 0;
  at += message(out + at, 'P', body, b);
  /* Bind: unnamed portal and statement, no parameters, one result format. */
  char bind[] = {0, 0, 0, 0, 0, 0, 0, 1, 0, (char)binary};
  at += message(out + at, 'B', bind, sizeof bind);
  char execute[] = {0, 0, 0, 0, 0};
  at += message(out + at, 'E', execute, sizeof execute);
  at += message(out + at, 'S', NULL, 0);
  if (write(fd, out, at) != (ssize_t)at) return 1;
  size_t cap = 1 << 20, have = 0;
  char *buf = malloc(cap);
  int failed = 0;
  for (;;) {
    ssize_t n = read(fd, buf + have, cap - have);
    if (n <= 0) {
      fprintf(stderr, "connection closed\n");
      return 1;
    }
    have += (size_t)n;
    size_t pos = 0;
    while (have - pos >= 5) {
      uint32_t len;
      memcpy(&len, buf + pos + 1, 4);
      len = ntohl(len);
      if (have - pos < 1 + (size_t)len) break;
      char type = buf[pos];
      if (type == 'D') {
        (*rows)++;
        *bytes += len;
      } else if (type == 'E') {
        fprintf(stderr, "error response\n");
        failed = 1;
      } else if (type == 'Z') {
        return failed;
      }
      pos += 1 + len;
    }
    memmove(buf, buf + pos, have - pos);
    have -= pos;
    if (have == cap) buf = realloc(buf, cap *= 2);
  }
}

int main(int argc, char **argv) {
  if (argc != 4 && argc != 5) {
    fprintf(stderr, "usage: receive CONNINFO text|binary QUERY [libpq|wire]\n");
    return 2;
  }
  PGconn *conn = PQconnectdb(argv[1]);
  if (PQstatus(conn) != CONNECTION_OK) {
    fprintf(stderr, "%s", PQerrorMessage(conn));
    return 1;
  }
  PQsetNoticeProcessor(conn, quiet, NULL);
  int binary = strcmp(argv[2], "binary") == 0;
  int wire = argc == 5 && strcmp(argv[4], "wire") == 0;
  long rows = 0;
  long long bytes = 0;
  double start = now();
  int failed = wire ? on_the_wire(conn, argv[3], binary, &rows, &bytes)
                    : through_libpq(conn, argv[3], binary, &rows, &bytes);
  printf("%ld %lld %.3f\n", rows, bytes, now() - start);
  PQfinish(conn);
  return failed;
}
