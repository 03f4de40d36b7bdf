/* SPDX-License-Identifier: MIT */
/*
 * rdmabrokerd: options, configuration, signals and the event loop.
 * Runs in the foreground (systemd style); see rdmabrokerd(8).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "daemon/cm.h"
#include "daemon/daemon.h"
#include "daemon/loop.h"
#include "drivers/memio.h"
#include "drivers/prefault.h"
#include "proto/shm.h"
#include "daemon/log.h"

static void usage(FILE *out)
{
	fprintf(out,
		"Usage: rdmabrokerd [OPTION]...\n"
		"The rdmabroker daemon: owns the RDMA devices and serves verbs clients.\n"
		"\n"
		"  -c, --config FILE      configuration file\n"
		"                         (default %s)\n"
		"  -s, --socket PATH      listen on PATH (default %s)\n"
		"  -l, --log-level LEVEL  err, warning, notice, info or debug\n"
		"  -t, --check-config     check the configuration file and exit\n"
		"  -h, --help             show this help and exit\n"
		"  -V, --version          show the version and exit\n"
		"\n"
		"Signals: SIGTERM/SIGINT stop, SIGHUP reloads the configuration.\n"
		"See rdmabrokerd(8) and rdmabrokerd.conf(5).\n",
		RB_DEFAULT_CONFIG, RB_DEFAULT_SOCKET);
}

/* Read the config file into d->cfg; on failure d->cfg is unchanged. */
static int daemon_load_config(struct rb_daemon *d, bool initial)
{
	char err[768];
	int ret;

	ret = cfg_load(&d->cfg, d->cfg_path, d->cfg_missing_ok, err,
			  sizeof(err));
	if (ret < 0) {
		log_err("%s%s", err, initial ? "" : "; keeping the previous configuration");
		return ret;
	}
	log_set_level(d->log_override >= 0 ? d->log_override : d->cfg.log_level);
	/* Once here, not at every connection: a group lookup may block (NSS). */
	d->admin_gid = (gid_t)-1;
	if (d->cfg.admin_group[0]) {
		struct group *gr = getgrnam(d->cfg.admin_group);

		if (gr)
			d->admin_gid = gr->gr_gid;
		else
			log_warn("admin_group %s: no such group; only root is an administrator",
				 d->cfg.admin_group);
	}
	return 0;
}

static void daemon_stop(struct rb_daemon *d, const char *why)
{
	struct rb_session *s;

	if (d->stopping)
		return;
	d->stopping = true;
	log_notice("%s: stopping, %u clients connected", why, d->nsessions);
	notify_stopping();
	/* Tell every client, best effort: the socket may be full. */
	TAILQ_FOREACH(s, &d->sessions, link) {
		session_send_shutdown(s, why);
		/* Verbs users learn it where libibverbs tells them. */
		session_async_event(s, IBV_EVENT_DEVICE_FATAL, RB_ASYNC_DEVICE, 0);
	}
	while ((s = TAILQ_FIRST(&d->sessions)))
		session_destroy(s);
	event_base_loopbreak(d->base);
}

static void daemon_reload(struct rb_daemon *d)
{
	struct rb_config old = d->cfg;
	struct rb_session *s;

	notify_reloading();
	/* cfg_load frees what it replaces: keep a copy of the old users. */
	old.users = NULL;
	old.nusers = 0;
	if (daemon_load_config(d, false) < 0) {
		notify_ready(d);
		return;
	}
	d->reloads++;
	if (strcmp(old.socket, d->cfg.socket))
		log_notice("reload: socket changed to %s; takes effect at restart",
			   d->cfg.socket);
	for (size_t i = 0; rb_drivers[i] && i < RB_MAX_DRIVERS; i++)
		if (memcmp(old.drv[i], d->cfg.drv[i], rb_drivers[i]->config_size))
			log_notice("reload: [%s] changed; takes effect at restart",
				   rb_drivers[i]->section);
	/* What a driver can change while it runs, it changes now. */
	for (uint32_t i = 0; i < d->ndevices; i++) {
		struct rb_device *dev = d->devices[i];

		if (dev->driver && dev->driver->config_apply)
			dev->driver->config_apply(dev, cfg_driver_config(&d->cfg,
							dev->driver->section));
	}
	listener_apply_mode(d);
	/* Weights and rates may have changed. */
	sched_reconfigure(d);
	/* admin_group may have changed. */
	TAILQ_FOREACH(s, &d->sessions, link)
		s->admin = session_is_admin(d, s->uid, s->gid, s->groups,
					    s->ngroups);
	log_info("configuration reloaded from %s (log level %s)",
		 d->cfg.path[0] ? d->cfg.path : "built-in defaults",
		 log_level_name(log_get_level()));
	notify_ready(d);
}

/*
 * Every QP holds a doorbell fd and every client a socket or two: 1,000
 * clients with 10,000 QPs need more than the usual soft limit of 1024.
 * Take what the hard limit allows (systemd's LimitNOFILE sets both).
 */
static void daemon_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open files limit: %s", strerror(errno));
	}
}

static void daemon_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct rb_daemon *d = arg;

	switch (sig) {
	case SIGHUP:
		daemon_reload(d);
		break;
	case SIGTERM:
		daemon_stop(d, "SIGTERM");
		break;
	case SIGINT:
		daemon_stop(d, "SIGINT");
		break;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "log-level", required_argument, NULL, 'l' },
		{ "check-config", no_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP };
	struct event *sigev[sizeof(sigs) / sizeof(sigs[0])] = { NULL };
	struct rb_daemon d = {
		.listen_fd = -1,
		.log_override = -1,
		.cfg_missing_ok = true,
	};
	bool check_only = false;
	int ret = 1, c;

	log_init();
	snprintf(d.cfg_path, sizeof(d.cfg_path), "%s", RB_DEFAULT_CONFIG);
	while ((c = getopt_long(argc, argv, "c:s:l:thV", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			snprintf(d.cfg_path, sizeof(d.cfg_path), "%s", optarg);
			d.cfg_missing_ok = false;
			break;
		case 's':
			if (optarg[0] != '/' ||
			    strlen(optarg) >= sizeof(d.socket_override)) {
				fprintf(stderr, "rdmabrokerd: --socket needs an absolute path shorter than %zu bytes\n",
					sizeof(d.socket_override));
				return 2;
			}
			snprintf(d.socket_override, sizeof(d.socket_override), "%s", optarg);
			break;
		case 'l':
			d.log_override = log_level_parse(optarg);
			if (d.log_override < 0) {
				fprintf(stderr, "rdmabrokerd: unknown log level '%s' (err, warning, notice, info, debug)\n",
					optarg);
				return 2;
			}
			break;
		case 't':
			check_only = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("rdmabrokerd (rdmabroker) %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "rdmabrokerd: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return 2;
	}

	cfg_defaults(&d.cfg);
	if (check_only) {
		char err[768];

		if (cfg_load(&d.cfg, d.cfg_path, d.cfg_missing_ok, err,
				sizeof(err)) < 0) {
			fprintf(stderr, "rdmabrokerd: %s\n", err);
			return 1;
		}
		printf("%s: OK\n", d.cfg.path[0] ? d.cfg.path : "built-in defaults");
		cfg_free(&d.cfg);
		return 0;
	}
	if (daemon_load_config(&d, true) < 0)
		return 1;

	signal(SIGPIPE, SIG_IGN);
	daemon_raise_nofile();
	/* Before anything maps client memory (memio.c says why). */
	c = memio_init(&d);
	if (c < 0)
		log_warn("cannot start the memory workers now: %s; trying again when needed",
			 strerror(-c));
	/* After: the memory workers' parent has no use for its eventfd. */
	c = prefault_init();
	if (c < 0)
		log_warn("cannot set up the prefault thread: %s; regions are touched by their first copy",
			 strerror(-c));
	daemon_state_init(&d);
	d.rxbuf = malloc(RB_WIRE_MAX_FRAME + 1);
	d.base = event_base_new();
	if (!d.rxbuf || !d.base) {
		log_err("out of memory at start");
		goto out;
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		sigev[i] = evsignal_new(d.base, sigs[i], daemon_signal_cb, &d);
		if (!sigev[i] || event_add(sigev[i], NULL) < 0) {
			log_err("cannot install signal handlers");
			goto out;
		}
	}
	if (loop_init(&d) < 0) {
		log_err("out of memory at start");
		goto out;
	}
	if (device_init(&d) < 0)
		goto out;
	/* Made at start, not at first use: CM MADs from other hosts may
	 * come before any client here speaks the CM. */
	if (cm_init(&d) < 0) {
		log_err("out of memory at start");
		goto out;
	}
	if (listener_open(&d) < 0)
		goto out;
	if (notify_watchdog_start(&d) < 0)
		goto out;

	log_notice("rdmabrokerd %s ready: %u device%s, config %s", PACKAGE_VERSION,
		   d.ndevices, d.ndevices == 1 ? "" : "s",
		   d.cfg.path[0] ? d.cfg.path : "(built-in defaults)");
	notify_ready(&d);

	if (loop_run(&d) < 0) {
		log_err("event loop failed");
		goto out;
	}
	ret = 0;
out:
	if (!d.stopping && ret == 0)
		daemon_stop(&d, "exit");
	while (d.sessions.tqh_first)
		session_destroy(d.sessions.tqh_first);
	/* Shared objects go with their last holder (res.h): none is left. */
	if (d.nshared)
		log_warn("%u shared object(s) left after every client went", d.nshared);
	notify_fini();
	memio_fini();
	mr_fini();
	prefault_fini();
	stat_fini();
	listener_close(&d);
	cm_fini(&d);
	device_fini(&d);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigev[i])
			event_free(sigev[i]);
	if (d.base)
		event_base_free(d.base);
	free(d.rxbuf);
	cfg_free(&d.cfg);
	free(d.overrides);
	sched_free(&d);
	if (ret == 0)
		log_notice("stopped");
	return ret;
}
