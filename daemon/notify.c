/* SPDX-License-Identifier: MIT */
/* systemd readiness, status and watchdog; all no-ops outside systemd. */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-daemon.h>

#include "daemon/daemon.h"
#include "daemon/log.h"

static struct event *notify_wd_ev;
static struct event *notify_status_ev;	/* a STATUS= update is due */

void notify_ready(struct rb_daemon *d)
{
	sd_notifyf(0, "READY=1\nSTATUS=%u clients, %u devices",
		   d->nsessions, d->ndevices);
}

static void notify_status_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_daemon *d = arg;

	sd_notifyf(0, "STATUS=%u clients, %u devices", d->nsessions,
		   d->ndevices);
}

/*
 * At most one STATUS= a second: a client that connects and disconnects
 * in a loop would otherwise make the serving thread send systemd a
 * datagram (a socket, a send, a close) per connection.
 */
void notify_status(struct rb_daemon *d)
{
	static const struct timeval second = { 1, 0 };

	if (!getenv("NOTIFY_SOCKET"))
		return;
	if (!notify_status_ev)
		notify_status_ev = evtimer_new(d->base, notify_status_cb, d);
	if (notify_status_ev && !evtimer_pending(notify_status_ev, NULL))
		evtimer_add(notify_status_ev, &second);
}

void notify_reloading(void)
{
	sd_notify(0, "RELOADING=1");
}

void notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

static void notify_wd_cb(evutil_socket_t fd, short what, void *arg)
{
	sd_notify(0, "WATCHDOG=1");
}

/* Ping at half the interval systemd asked for (sd_watchdog_enabled(3)). */
int notify_watchdog_start(struct rb_daemon *d)
{
	uint64_t usec;
	struct timeval tv;
	int ret = sd_watchdog_enabled(0, &usec);

	if (ret < 0) {
		log_warn("watchdog: %s; not pinging", strerror(-ret));
		return 0;
	}
	if (ret == 0)
		return 0;
	usec /= 2;
	tv.tv_sec = (time_t)(usec / 1000000);
	tv.tv_usec = (suseconds_t)(usec % 1000000);
	notify_wd_ev = event_new(d->base, -1, EV_PERSIST, notify_wd_cb, NULL);
	if (!notify_wd_ev || event_add(notify_wd_ev, &tv) < 0) {
		log_err("watchdog: cannot start the timer");
		return -1;
	}
	sd_notify(0, "WATCHDOG=1");
	log_info("watchdog: pinging every %llu ms",
		 (unsigned long long)(usec / 1000));
	return 0;
}

void notify_fini(void)
{
	if (notify_status_ev)
		event_free(notify_status_ev);
	notify_status_ev = NULL;
	if (notify_wd_ev)
		event_free(notify_wd_ev);
	notify_wd_ev = NULL;
}
