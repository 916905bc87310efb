/*
 * listener.c - the accept loop of driftd's plaintext port (listener.h): one
 * thread in poll + accept4, a spare descriptor for EMFILE, and the list of
 * handed-off connections with their socket inodes.
 */
#include "rpc/listener.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/log.h"

typedef struct conn {
  int fd;
  ino_t ino;
} conn;

struct dd_listener {
  dd_listener_options opts;
  int fd;
  int spare;         /* /dev/null, given up to take a connection on EMFILE */
  int wake[2];       /* a pipe: stop writes, the loop's poll wakes */
  pthread_t thread;
  pthread_mutex_t mu; /* guards conns and the counters */
  conn *conns;
  size_t n, cap;
  uint64_t accepted, refused;
  time_t last_warn;
};

int dd_listener_bind(const char *addr, int *unsupported, char *err, size_t errcap) {
  *unsupported = 0;
  char host[256];
  const char *colon = strrchr(addr, ':');
  if (strncmp(addr, "unix:", 5) == 0 || strncmp(addr, "vsock:", 6) == 0 || !colon ||
      (size_t)(colon - addr) >= sizeof host) {
    *unsupported = 1;
    return -1;
  }
  memcpy(host, addr, (size_t)(colon - addr));
  host[colon - addr] = 0;
  char *h = host;
  if (h[0] == '[' && h[strlen(h) - 1] == ']') {
    h[strlen(h) - 1] = 0;
    h++;
  }
  struct addrinfo hints = {.ai_family = AF_UNSPEC,
                           .ai_socktype = SOCK_STREAM,
                           .ai_flags = AI_PASSIVE | AI_NUMERICSERV};
  struct addrinfo *ai = NULL;
  int rc = getaddrinfo(*h ? h : NULL, colon + 1, &hints, &ai);
  if (rc || !ai) {
    snprintf(err, errcap, "listen: \"%s\": %s", addr, gai_strerror(rc));
    return -1;
  }
  int fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  int one = 1;
  if (fd >= 0) setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (fd >= 0 && ai->ai_family == AF_INET6) {
    int zero = 0; /* [::] takes IPv4 too, as gRPC's own listener does */
    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
  }
  if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1024)) {
    snprintf(err, errcap, "cannot listen on %s: %s", addr, strerror(errno));
    if (fd >= 0) close(fd);
    fd = -1;
  }
  freeaddrinfo(ai);
  return fd;
}

/* Best effort: an HTTP/2 server preface (empty SETTINGS) and a GOAWAY with
 * ENHANCE_YOUR_CALM and why, then close. */
static void refuse(dd_listener *l, int fd, const char *why) {
  unsigned char buf[9 + 9 + 8 + 200];
  size_t dlen = strlen(why);
  if (dlen > 200) dlen = 200;
  memset(buf, 0, 18);
  buf[3] = 0x4; /* SETTINGS, empty */
  size_t plen = 8 + dlen;
  buf[9] = (unsigned char)(plen >> 16);
  buf[10] = (unsigned char)(plen >> 8);
  buf[11] = (unsigned char)plen;
  buf[12] = 0x7; /* GOAWAY on stream 0: last stream 0 */
  buf[18 + 7] = 0xb; /* ENHANCE_YOUR_CALM */
  memcpy(buf + 26, why, dlen);
  ssize_t w = send(fd, buf, 26 + dlen, MSG_NOSIGNAL | MSG_DONTWAIT);
  (void)w;
  shutdown(fd, SHUT_WR);
  close(fd);
  pthread_mutex_lock(&l->mu);
  l->refused++;
  time_t now = time(NULL);
  int warn = now - l->last_warn >= 10;
  if (warn) l->last_warn = now;
  pthread_mutex_unlock(&l->mu);
  if (warn) DD_WARN("refusing connections: %s (said again at most every 10 s)", why);
}

/* Drops connections gRPC has closed: their descriptor is gone or now holds
 * another file. Under mu. */
static void sweep(dd_listener *l) {
  size_t kept = 0;
  for (size_t i = 0; i < l->n; i++) {
    struct stat st;
    if (fstat(l->conns[i].fd, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == l->conns[i].ino)
      l->conns[kept++] = l->conns[i];
  }
  l->n = kept;
}

static rlim_t fd_limit(void) {
  struct rlimit rl;
  return getrlimit(RLIMIT_NOFILE, &rl) == 0 ? rl.rlim_cur : 1024;
}

static void take(dd_listener *l, int fd) {
  char why[200] = "";
  rlim_t limit = fd_limit();
  pthread_mutex_lock(&l->mu);
  sweep(l);
  if ((rlim_t)fd + (rlim_t)l->opts.reserve_fds >= limit)
    snprintf(why, sizeof why,
             "driftd: out of descriptors (%llu open of %llu); retry later",
             (unsigned long long)fd, (unsigned long long)limit);
  else if (l->opts.max_connections > 0 && l->n >= (size_t)l->opts.max_connections)
    snprintf(why, sizeof why, "driftd: max_connections %d reached; retry later",
             l->opts.max_connections);
  int ok = !why[0];
  if (ok && l->n == l->cap) {
    size_t cap = l->cap ? 2 * l->cap : 256;
    conn *nc = realloc(l->conns, cap * sizeof *nc);
    if (nc) {
      l->conns = nc;
      l->cap = cap;
    } else {
      ok = 0;
      snprintf(why, sizeof why, "driftd: out of memory; retry later");
    }
  }
  struct stat st;
  if (ok && fstat(fd, &st) == 0) {
    l->conns[l->n++] = (conn){fd, st.st_ino};
    l->accepted++;
  }
  pthread_mutex_unlock(&l->mu);
  if (!ok) {
    refuse(l, fd, why);
    return;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  l->opts.hand_off(l->opts.arg, fd);
}

static void *loop(void *arg) {
  dd_listener *l = arg;
  struct pollfd p[2] = {{.fd = l->fd, .events = POLLIN}, {.fd = l->wake[0], .events = POLLIN}};
  for (;;) {
    if (poll(p, 2, 1000) < 0 && errno != EINTR) break;
    if (p[1].revents) break;
    if (!(p[0].revents & POLLIN)) continue;
    for (;;) {
      int fd = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd >= 0) {
        take(l, fd);
        continue;
      }
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if ((errno == EMFILE || errno == ENFILE) && l->spare >= 0) {
        /* The spare descriptor takes one connection to refuse it, so the
         * backlog drains instead of filling while descriptors are out. */
        close(l->spare);
        l->spare = -1;
        int c = accept4(l->fd, NULL, NULL, SOCK_CLOEXEC);
        if (c >= 0) refuse(l, c, "driftd: out of descriptors (EMFILE); retry later");
        l->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (c >= 0) continue;
      }
      if (errno != EAGAIN && errno != EWOULDBLOCK) {
        /* Still out of descriptors, or worse: wait, never spin or stop. */
        struct timespec ts = {0, 50 * 1000 * 1000};
        nanosleep(&ts, NULL);
      }
      break;
    }
  }
  return NULL;
}

dd_listener *dd_listener_start(int listen_fd, const dd_listener_options *opts, char *err,
                               size_t errcap) {
  dd_listener *l = calloc(1, sizeof *l);
  if (!l) {
    snprintf(err, errcap, "out of memory");
    close(listen_fd);
    return NULL;
  }
  l->opts = *opts;
  if (l->opts.reserve_fds <= 0) l->opts.reserve_fds = 64;
  l->fd = listen_fd;
  l->spare = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pthread_mutex_init(&l->mu, NULL);
  if (pipe2(l->wake, O_CLOEXEC) || pthread_create(&l->thread, NULL, loop, l)) {
    snprintf(err, errcap, "starting the accept thread: %s", strerror(errno));
    close(listen_fd);
    if (l->spare >= 0) close(l->spare);
    pthread_mutex_destroy(&l->mu);
    free(l);
    return NULL;
  }
  return l;
}

void dd_listener_stop(dd_listener *l) {
  if (!l) return;
  char c = 1;
  ssize_t w = write(l->wake[1], &c, 1);
  (void)w;
  pthread_join(l->thread, NULL);
  close(l->fd);
  close(l->wake[0]);
  close(l->wake[1]);
  if (l->spare >= 0) close(l->spare);
  free(l->conns);
  pthread_mutex_destroy(&l->mu);
  free(l);
}

void dd_listener_get_stats(dd_listener *l, dd_listener_stats *out) {
  memset(out, 0, sizeof *out);
  if (!l) return;
  pthread_mutex_lock(&l->mu);
  sweep(l);
  out->accepted = l->accepted;
  out->refused = l->refused;
  out->open = l->n;
  pthread_mutex_unlock(&l->mu);
}
