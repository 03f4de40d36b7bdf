/* SPDX-License-Identifier: MIT */
/* Helpers shared by the C tests of the connection manager (cmtest.h). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/cmtest.h"

void cmt_fail(int line, const char *fmt, ...)
{
	/* libtool runs an uninstalled program as .libs/lt-NAME. */
	const char *prog = program_invocation_short_name;
	va_list ap;

	if (strncmp(prog, "lt-", 3) == 0)
		prog += 3;
	fprintf(stderr, "%s: FAIL: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (line %d)\n", line);
	exit(1);
}

struct rdma_cm_event *cmt_expect(struct rdma_event_channel *ch,
				 enum rdma_cm_event_type want, int ms)
{
	struct pollfd p = { .fd = ch->fd, .events = POLLIN };
	struct rdma_cm_event *ev;

	if (poll(&p, 1, ms) != 1)
		FAIL("no event within %d ms, wanted %s", ms, rdma_event_str(want));
	if (rdma_get_cm_event(ch, &ev))
		FAIL("rdma_get_cm_event: %s", strerror(errno));
	if (ev->event != want)
		FAIL("got %s (status %d), wanted %s", rdma_event_str(ev->event),
		     ev->status, rdma_event_str(want));
	return ev;
}
