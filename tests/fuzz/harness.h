/* SPDX-License-Identifier: MIT */
/*
 * The libFuzzer targets' daemon: the real rdmabrokerd state (config
 * defaults, the soft device, the engine) without main() or a listening
 * socket.  A client is one end of a socketpair whose other end went
 * through session_accept(), so every datagram takes the daemon's own
 * path: rb_wire_recv, dispatch_request, the handlers, session_send.
 * The event loop and the engine are pumped by hand, never blocking.
 */
#ifndef RB_TESTS_FUZZ_HARNESS_H
#define RB_TESTS_FUZZ_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "daemon/daemon.h"
#include "daemon/objects.h"

extern struct rb_daemon fz_daemon;

/* Once per process: config defaults, the soft device, quiet logs. */
void fz_init(void);

/* A new session; *client gets the harness's end (nonblocking). */
struct rb_session *fz_connect(int *client);

/* The session of this id if the daemon still has it, else NULL. */
struct rb_session *fz_session(uint64_t id);

/* Run what is ready in the event loop (and the engine), n times. */
void fz_pump(int n);

/* One engine pass (engine.c's own), with whatever is in its poll set. */
void fz_engine_pass(void);

/* Fire qp's engine timers now (RNR retry, lost peer) if they are set. */
void fz_fire_timers(struct rb_qp *qp);

/* Read and drop every datagram waiting on fd, closing fds they carry. */
void fz_drain(int fd);

/*
 * Close the client end and let the daemon tear its session down; false
 * if it did not notice in a few loop turns (the harness then destroys it).
 */
bool fz_disconnect(int client, uint64_t id);
void fz_session_show(const struct rb_session *s, const char *why);

/*
 * A request, its reply: seq assigned, fds sent beside it (not closed
 * here).  0 with *reply set (free with rdmabroker__reply__free_unpacked)
 * and up to max_rfds fds in rfds (*nrfds; extras closed), or -errno.
 */
int fz_call(int client, Rdmabroker__Request *req, const int *fds, size_t nfds,
	    Rdmabroker__Reply **reply, int *rfds, size_t max_rfds, size_t *nrfds);

/* Open fds of the process (listed on stderr with show), to catch
 * descriptors the daemon leaks. */
int fz_count_fds(bool show);

#endif /* RB_TESTS_FUZZ_HARNESS_H */
