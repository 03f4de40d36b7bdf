/* SPDX-License-Identifier: MIT */
/* The fuzz targets' daemon (harness.h). */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <syslog.h>
#include <unistd.h>

#include <sanitizer/common_interface_defs.h>

#include <event2/event.h>

/*
 * The fuzz targets link every daemon source but main.c; one pass of the
 * devices' progress (loop_pass, without loop_run's yield) runs between
 * requests, and the soft device's timers fire by hand.
 */
#include "daemon/daemon.h"
#include "daemon/log.h"
#include "daemon/loop.h"
#include "drivers/soft/soft-int.h"
#include "drivers/memio.h"
#include "tests/fuzz/harness.h"

struct rb_daemon fz_daemon = {
	.listen_fd = -1,
	.log_override = -1,
	.admin_gid = (gid_t)-1,
};

static uint32_t fz_seq;
static uint8_t *fz_rxbuf;

void fz_init(void)
{
	struct rb_daemon *d = &fz_daemon;
	const char *lvl = getenv("RB_FUZZ_LOG");

	char sym[256];

	if (d->base)
		return;
	/*
	 * The symbolizer libFuzzer starts for its NEW_FUNC lines talks to us
	 * over two pipes: have them open before any descriptor is counted.
	 */
	__sanitizer_symbolize_pc(__builtin_return_address(0), "%p %F %L", sym,
				 sizeof(sym));
	log_init();
	/* RB_FUZZ_LOG=debug shows what the daemon makes of an input. */
	log_set_level(lvl ? log_level_parse(lvl) : LOG_EMERG);
	signal(SIGPIPE, SIG_IGN);
	cfg_defaults(&d->cfg);
	daemon_state_init(d);
	d->rxbuf = malloc(RB_WIRE_MAX_FRAME + 1);
	fz_rxbuf = malloc(RB_WIRE_MAX_FRAME + 1);
	d->base = event_base_new();
	if (!d->rxbuf || !fz_rxbuf || !d->base || loop_init(d) < 0 ||
	    device_init(d) < 0 || d->ndevices != 1) {
		fprintf(stderr, "fuzz harness: cannot start the daemon state\n");
		abort();
	}
	/* The CMA workers, as the daemon starts them: not counted as a leak. */
	memio_init(d);
	/* Idle QPs leave the poll set at once: passes are run by hand. */
	d->devices[0]->poll_idle_ns = 0;
}

struct rb_session *fz_session(uint64_t id)
{
	struct rb_session *s;

	TAILQ_FOREACH(s, &fz_daemon.sessions, link)
		if (s->id == id)
			return s;
	return NULL;
}

struct rb_session *fz_connect(int *client)
{
	struct rb_daemon *d = &fz_daemon;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC,
		       0, sv) < 0) {
		perror("fuzz harness: socketpair");
		abort();
	}
	session_accept(d, sv[0]);
	*client = sv[1];
	/* Refused at accept: the fd is closed and there is no session. */
	return fz_session(d->next_session_id);
}

void fz_engine_pass(void)
{
	if (loop_busy())
		loop_pass();
}

void fz_fire_timers(struct rb_qp *qp)
{
	soft_qp_expire_timers(qp);
}

void fz_pump(int n)
{
	for (int i = 0; i < n; i++) {
		event_base_loop(fz_daemon.base, EVLOOP_NONBLOCK);
		fz_engine_pass();
	}
}

void fz_drain(int fd)
{
	for (;;) {
		struct rb_wire_msg msg;
		int ret = rb_wire_recv(fd, fz_rxbuf, &msg, RB_WIRE_MAX_FDS);

		if (ret == -EMSGSIZE || ret == -EBADMSG || ret == -EPROTO)
			continue;	/* consumed, fds closed */
		if (ret <= 0)
			return;
		rb_wire_msg_close_fds(&msg);
	}
}

/* What a session that should be gone was waiting for, for the report. */
void fz_session_show(const struct rb_session *s, const char *why)
{
	int pending = 0;

	(void)ioctl(s->fd, FIONREAD, &pending);
	fprintf(stderr, "fuzz harness: client %" PRIu64 " %s: closing %d killed %d handshaken %d outq %zu read %s write %s kill %s; %d bytes unread; %u sessions\n",
		s->id, why, s->closing, s->killed, s->handshaken, s->outq_len,
		event_pending(s->ev_read, EV_READ, NULL) ? "on" : "off",
		event_pending(s->ev_write, EV_WRITE, NULL) ? "on" : "off",
		event_pending(s->ev_kill, EV_TIMEOUT, NULL) ? "on" : "off",
		pending, (unsigned int)fz_daemon.nsessions);
}

bool fz_disconnect(int client, uint64_t id)
{
	struct rb_session *s;

	close(client);
	/*
	 * EOF (or a pending kill) ends the session from its own callbacks,
	 * within a pass or two.  CI once saw one still there after 8 passes,
	 * not reproduced since (the input alone, and millions more with its
	 * seed, end in one): so up to 64, and a session that needed more than
	 * 8 is shown, that the next one says what held it.
	 */
	for (int i = 0; i < 64 && fz_session(id); i++) {
		if (i == 8)
			fz_session_show(fz_session(id), "is slow to go");
		fz_pump(1);
	}
	s = fz_session(id);
	if (s) {
		fz_session_show(s, "outlived its client");
		session_destroy(s);
	}
	/* A test of limits_set is not the next input's business. */
	free(fz_daemon.overrides);
	fz_daemon.overrides = NULL;
	fz_daemon.noverrides = 0;
	return !s;
}

int fz_call(int client, Rdmabroker__Request *req, const int *fds, size_t nfds,
	    Rdmabroker__Reply **reply, int *rfds, size_t max_rfds, size_t *nrfds)
{
	int ret;

	req->seq = ++fz_seq;
	if (nrfds)
		*nrfds = 0;
	ret = rb_wire_send_pb(client, RB_WIRE_REQUEST, &req->base, fds, nfds);
	if (ret < 0)
		return ret;
	for (int tries = 0; tries < 64; tries++) {
		struct rb_wire_msg msg;

		fz_pump(1);
		ret = rb_wire_recv(client, fz_rxbuf, &msg, RB_WIRE_MAX_FDS);
		if (ret == -EAGAIN)
			continue;
		if (ret <= 0)
			return ret ? ret : -EPIPE;
		if (msg.kind != RB_WIRE_REPLY) {
			rb_wire_msg_close_fds(&msg);
			continue;
		}
		*reply = rdmabroker__reply__unpack(NULL, msg.len, msg.payload);
		for (size_t i = 0; i < msg.nfds; i++) {
			if (rfds && nrfds && i < max_rfds)
				rfds[(*nrfds)++] = msg.fds[i];
			else
				close(msg.fds[i]);
		}
		if (!*reply)
			return -EBADMSG;
		if ((*reply)->seq != req->seq) {
			rdmabroker__reply__free_unpacked(*reply, NULL);
			continue;
		}
		return 0;
	}
	return -ETIMEDOUT;
}

int fz_count_fds(bool show)
{
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!dir)
		return -1;
	while ((e = readdir(dir))) {
		char path[300], target[256];
		ssize_t len;

		if (e->d_name[0] == '.')
			continue;
		n++;
		if (!show)
			continue;
		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		len = readlink(path, target, sizeof(target) - 1);
		target[len > 0 ? len : 0] = '\0';
		fprintf(stderr, "  fd %s: %s\n", e->d_name, target);
	}
	closedir(dir);
	return n - 1;	/* the directory's own */
}
