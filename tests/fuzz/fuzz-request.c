/* SPDX-License-Identifier: MIT */
/*
 * fuzz-request: the control socket, from the datagram to the handler.
 *
 * An input is a session: records of
 *   u8 flags, u16 length (little-endian), length bytes
 * each sent as one datagram on a fresh connection (a short last record
 * takes what is left).  The bytes are a packed rdmabroker.Request that
 * the harness frames with a valid header, or with FZ_RAW the whole
 * datagram, header included.  FZ_FDS picks descriptors to send beside it
 * (memfds sealed or not, a pipe, a socket, ...), FZ_ENGINE runs engine
 * passes after it, FZ_SECOND sends it on a second connection of the same
 * process (opened at its first use).  After the last record the clients
 * hang up, as a
 * process that exits does; the session's objects must all go (LeakSanitizer
 * runs between inputs) and no descriptor may stay open.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tests/fuzz/harness.h"

#define FZ_FDS		0x07	/* which descriptors ride along: */
#define FZ_RAW		0x08	/* the payload is the whole datagram */
#define FZ_ENGINE	0x10	/* a few engine passes afterwards */
#define FZ_SECOND	0x20	/* on a second connection (same uid and pid) */

#define FZ_MEMFD_SIZE	(64 * 1024)

static int fz_memfd(unsigned int seals, size_t size)
{
	int fd = memfd_create("fuzz-mr", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0)
		return -1;
	if (ftruncate(fd, (off_t)size) < 0 ||
	    (seals && fcntl(fd, F_ADD_SEALS, seals) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The fds of selector sel, in fds; how many. */
static size_t fz_make_fds(unsigned int sel, int fds[2])
{
	int p[2];

	switch (sel) {
	case 1:
		fds[0] = fz_memfd(F_SEAL_SHRINK, FZ_MEMFD_SIZE);
		return fds[0] >= 0;
	case 2:
		fds[0] = fz_memfd(0, FZ_MEMFD_SIZE);
		return fds[0] >= 0;
	case 3:
		if (pipe2(p, O_CLOEXEC) < 0)
			return 0;
		close(p[1]);
		fds[0] = p[0];
		return 1;
	case 4:
		fds[0] = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		return fds[0] >= 0;
	case 5:
		fds[0] = fz_memfd(F_SEAL_SHRINK, FZ_MEMFD_SIZE);
		fds[1] = fz_memfd(F_SEAL_SHRINK, FZ_MEMFD_SIZE);
		if (fds[0] < 0 || fds[1] < 0) {
			if (fds[0] >= 0)
				close(fds[0]);
			if (fds[1] >= 0)
				close(fds[1]);
			return 0;
		}
		return 2;
	case 6:
		/* Sealed against writing: a shared writable map fails. */
		fds[0] = fz_memfd(F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE,
				  FZ_MEMFD_SIZE);
		return fds[0] >= 0;
	case 7:
		/* Sealed, but empty. */
		fds[0] = fz_memfd(F_SEAL_SHRINK | F_SEAL_GROW, 0);
		return fds[0] >= 0;
	default:
		return 0;
	}
}

static void fz_send(int client, unsigned int flags, const uint8_t *p,
		    size_t len)
{
	static uint8_t frame[RB_WIRE_MAX_FRAME];
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	struct rb_wire_hdr hdr = {
		.magic = RB_WIRE_MAGIC, .version = RB_WIRE_VERSION,
		.kind = RB_WIRE_REQUEST, .len = (uint32_t)len,
	};
	struct iovec iov;
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	int fds[2];
	size_t nfds = fz_make_fds(flags & FZ_FDS, fds);

	if (flags & FZ_RAW) {
		iov.iov_base = (void *)p;
		iov.iov_len = len;
	} else {
		if (len > RB_WIRE_MAX_PAYLOAD)
			len = RB_WIRE_MAX_PAYLOAD;
		hdr.len = (uint32_t)len;
		memcpy(frame, &hdr, sizeof(hdr));
		if (len)
			memcpy(frame + sizeof(hdr), p, len);
		iov.iov_base = frame;
		iov.iov_len = sizeof(hdr) + len;
	}
	if (nfds) {
		struct cmsghdr *c;

		memset(cbuf, 0, sizeof(cbuf));
		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	/* A full socket (the daemon stopped reading): the datagram is lost. */
	if (sendmsg(client, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
	    errno != EAGAIN && errno != EPIPE && errno != ECONNRESET &&
	    errno != EMSGSIZE && errno != ENOBUFS) {
		perror("fuzz-request: sendmsg");
		abort();
	}
	for (size_t i = 0; i < nfds; i++)
		close(fds[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int fds_before;
	struct rb_session *s;
	uint64_t id, id2 = 0;
	size_t at = 0;
	int client, client2 = -1, nfds;

	fz_init();
	fds_before = fz_count_fds(false);
	s = fz_connect(&client);
	if (!s)
		abort();
	id = s->id;
	while (at + 3 <= size) {
		unsigned int flags = data[at];
		size_t len = (size_t)data[at + 1] | (size_t)data[at + 2] << 8;
		int to = client;

		at += 3;
		if (len > size - at)
			len = size - at;
		if (flags & FZ_SECOND) {
			if (client2 < 0) {
				s = fz_connect(&client2);
				if (!s)
					abort();
				id2 = s->id;
			}
			to = client2;
		}
		/* A connection the daemon dropped takes nothing more. */
		if (fz_session(to == client ? id : id2))
			fz_send(to, flags, data + at, len);
		at += len;
		fz_pump((flags & FZ_ENGINE) ? 8 : 2);
		fz_drain(client);
		if (client2 >= 0)
			fz_drain(client2);
	}
	/* A client that hangs up is gone at once, whatever it did. */
	if ((client2 >= 0 && !fz_disconnect(client2, id2)) ||
	    !fz_disconnect(client, id) || !TAILQ_EMPTY(&fz_daemon.sessions)) {
		struct rb_session *left;

		TAILQ_FOREACH(left, &fz_daemon.sessions, link)
			fz_session_show(left, "is still listed");
		fprintf(stderr, "fuzz-request: a session outlived its client (the clients were %" PRIu64 " and %" PRIu64 ")\n",
			id, id2);
		abort();
	}
	/* libFuzzer's threads may hold one a moment: look again. */
	for (int i = 0; i < 3 && (nfds = fz_count_fds(false)) != fds_before; i++)
		usleep(1000);
	if (nfds != fds_before) {
		fprintf(stderr, "fuzz-request: %d descriptors open after the session, %d before\n",
			nfds, fds_before);
		fz_count_fds(true);
		abort();
	}
	return 0;
}
