/*
 * listener.h - driftd's own accept loop for its plaintext gRPC port.
 *
 * gRPC core 1.51 stops accepting for good once accept4 fails (EMFILE when
 * descriptors run out), and it has no cap on connections. So driftd binds
 * and accepts itself, and hands each connection to gRPC (rpc.c, through
 * grpc_server_add_channel_from_fd, which gRPC allows for plaintext only).
 * The loop:
 *   - refuses a connection beyond max_connections, or one whose descriptor
 *     leaves fewer than reserve_fds free below the process's limit, with an
 *     HTTP/2 GOAWAY (ENHANCE_YOUR_CALM) whose debug text names the limit;
 *   - on EMFILE/ENFILE takes a connection with a descriptor held in
 *     reserve, refuses it the same way, and goes on accepting: the port
 *     recovers as soon as descriptors are free again.
 * Connections are counted until gRPC closes them (found by their socket's
 * inode no longer being behind the descriptor).
 *
 * This module knows sockets, nothing of gRPC: hand_off does the handing.
 */
#ifndef DRIFTD_LISTENER_H
#define DRIFTD_LISTENER_H

#include <stddef.h>
#include <stdint.h>

typedef struct dd_listener dd_listener;

typedef struct dd_listener_options {
  int max_connections;            /* open connections at most; 0: no cap */
  int reserve_fds;                /* descriptors kept free below the limit */
  void (*hand_off)(void *arg, int fd); /* owns fd from then on */
  void *arg;
} dd_listener_options;

/* Binds and listens on host:port (numeric or resolvable host; [v6]:port).
 * The listening descriptor, or -1 with a message. 1 in *unsupported when
 * the address is not a TCP one this loop serves (say unix:...): the caller
 * then leaves the port to gRPC. */
int dd_listener_bind(const char *listen, int *unsupported, char *err, size_t errcap);

/* Starts the accept thread on a bound descriptor (owned from then on). NULL
 * with a message on failure. */
dd_listener *dd_listener_start(int listen_fd, const dd_listener_options *opts, char *err,
                               size_t errcap);

/* Stops accepting, closes the listening socket, joins the thread, frees.
 * Connections already handed off stay with their owner. Accepts NULL. */
void dd_listener_stop(dd_listener *l);

typedef struct dd_listener_stats {
  uint64_t accepted;   /* handed off since start */
  uint64_t refused;    /* refused (limit, descriptors) since start */
  uint64_t open;       /* handed off and still open */
} dd_listener_stats;

void dd_listener_get_stats(dd_listener *l, dd_listener_stats *out);

#endif /* DRIFTD_LISTENER_H */
