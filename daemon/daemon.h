/* SPDX-License-Identifier: MIT */
/*
 * rdmabrokerd's shared state: the one daemon, its sessions and devices.
 * Everything runs on one libevent loop; nothing here is locked.
 */
#ifndef RB_DAEMON_DAEMON_H
#define RB_DAEMON_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/types.h>
#include <time.h>

#include <event2/event.h>

#include "daemon/cfg.h"
#include "daemon/log.h"
#include "daemon/res.h"
#include "daemon/sched.h"
#include "daemon/stat.h"
#include "drivers/driver.h"
#include "proto/rdmabroker.pb-c.h"
#include "proto/wire.h"

#define RB_MAX_DEVICES		16
/* Clients an administrator may have past max_clients: root always gets in. */
#define RB_ADMIN_RESERVE	16
/* Replies queued for a client that does not read; past this it is dropped. */
#define RB_OUTQ_HIGH_WATER	256

struct rb_outmsg {
	STAILQ_ENTRY(rb_outmsg) link;
	size_t len;
	int fds[RB_WIRE_MAX_FDS];	/* owned until sent */
	size_t nfds;
	uint8_t frame[];
};

struct rb_session {
	TAILQ_ENTRY(rb_session) link;
	struct rb_daemon *d;
	uint64_t id;
	int fd;
	struct event *ev_read;
	struct event *ev_write;
	struct event *ev_kill;		/* session_kill: destroy, soon */
	struct event *ev_hello;		/* the handshake deadline */
	bool killed;			/* session_kill was called */

	/* From SO_PEERCRED/SO_PEERGROUPS at accept, never from messages. */
	pid_t pid;
	uid_t uid;
	gid_t gid;
	gid_t groups[64];		/* supplementary, SO_PEERGROUPS */
	int ngroups;
	bool admin;
	char comm[17];
	time_t connected_since;

	bool handshaken;
	uint32_t proto_version;		/* negotiated at the handshake */
	uint64_t features;		/* RB_PROTO_FEAT_*, both sides' */
	char client_version[32];
	char client_name[32];
	struct rb_device *device;	/* set by DeviceOpen */
	int async_fd;			/* DeviceOpen: our end, write-only, or -1 */
	struct rb_res_table res;	/* the objects this session owns */
	struct rb_mr_arena *mr_arena;	/* mr.c: its arena memfd, checked */
	struct rb_usage *usage;		/* its uid's, shared with its other sessions */
	struct rb_qp_pool *qp_pool;	/* qp.c: QP rings kept for reuse, or NULL */
	struct rb_sched_tenant *tenant;	/* sched.c: its uid's, shared */
	struct rb_sched_client sched;	/* sched.c: time held back */

	struct log_limit log_limit;	/* its share of the log (log.h) */
	char cgroup[192];		/* /proc/PID/cgroup at accept (v2 path) */
	struct rb_stat stat;		/* its counters (stat.h) */
	uint64_t held[RB_LIMIT_COUNT];	/* its share of its uid's usage */

	STAILQ_HEAD(, rb_outmsg) outq;
	size_t outq_len;
	bool closing;			/* drop once outq drains */
	/* mr.c: what is queued waits (session_hold) for the prefault of
	 * this mapping, until hold_until (CLOCK_MONOTONIC ns) at most. */
	const void *hold_map;
	uint64_t hold_until;
};

struct rb_daemon {
	struct event_base *base;
	struct rb_config cfg;
	char cfg_path[4096];
	bool cfg_missing_ok;		/* default path: may be absent */
	char socket_override[108];	/* -s */
	gid_t admin_gid;		/* cfg.admin_group's, or -1 */
	int log_override;		/* -l, or -1 */

	int listen_fd;
	char socket_path[108];		/* the file we listen on, if ours */
	bool socket_from_systemd;
	bool socket_created;		/* we made the file: unlink at exit */
	struct event *ev_accept;
	struct event *ev_accept_retry;	/* accept paused on EMFILE */
	struct log_limit accept_log;	/* connection lines, all clients */

	TAILQ_HEAD(, rb_session) sessions;
	uint32_t nsessions;
	uint64_t next_session_id;

	LIST_HEAD(, rb_usage) usages;	/* per uid with sessions */
	/* Objects shared between sessions (res.h), and XRC domains opened
	 * by file, by inode (xrcd.c). */
	struct rb_res_list shared;
	uint32_t nshared;
	LIST_HEAD(, rb_xrcd) xrcds;
	struct rb_limit_override *overrides;	/* rdmactl limits set */
	size_t noverrides;
	LIST_HEAD(, rb_sched_tenant) tenants;	/* sched.c: per uid with sessions */
	struct rb_sched_override *sched_overrides;	/* rdmactl limits set */
	size_t nsched_overrides;

	struct rb_cm *cm;		/* cm.c: ids, ports, listens */
	struct cm_local *cm_local;	/* cm-msg.c: the local transport */

	struct rb_device *devices[RB_MAX_DEVICES];
	uint32_t ndevices;

	time_t started_at;
	uint64_t reloads;
	bool stopping;
	uint8_t *rxbuf;			/* RB_WIRE_MAX_FRAME + 1 */
};

/* listener.c */
int listener_open(struct rb_daemon *d);
void listener_apply_mode(struct rb_daemon *d);
void listener_close(struct rb_daemon *d);

/* session.c */
void daemon_state_init(struct rb_daemon *d);
void session_accept(struct rb_daemon *d, int fd);
void session_destroy(struct rb_session *s);
/* Queue a reply (with fds, ownership transferred) and send what we can. */
int session_send(struct rb_session *s, uint16_t kind,
		 const ProtobufCMessage *msg, int *fds, size_t nfds);
void session_send_shutdown(struct rb_session *s, const char *reason);
/*
 * Keep what is queued for s, and what is queued after it, until
 * session_release: the reply to a registration waits for its region's
 * pages to be touched (mr.c).  Requests are still read and served.
 */
void session_hold(struct rb_session *s, const void *map, uint64_t until_ns);
/* Send what was held; s may be destroyed (a session closing). */
void session_release(struct rb_session *s);
/*
 * Disconnect a client that broke the protocol (or the shared-memory
 * rules): logged, told, and destroyed from its own timer event, so that
 * callers (a driver, mid-pass) never see the session freed under them.
 * Until then s->killed is set and drivers leave its objects alone
 * (res_owner_killed).
 */
void session_kill(struct rb_session *s, const char *why);
/*
 * Queue one async event (proto/shm.h) on the session's async fd; false
 * when it could not be (no device opened, or the client does not read its
 * events and the socket is full: logged).
 */
bool session_async_event(struct rb_session *s, uint32_t event_type,
			 uint32_t element, uint32_t handle);
uint32_t session_count_uid(struct rb_daemon *d, uid_t uid);
bool session_is_admin(struct rb_daemon *d, uid_t uid, gid_t gid,
		      const gid_t *groups, int ngroups);

/* mr.c: the registrations' prefault event goes (daemon exit). */
void mr_fini(void);

/* qp.c: free the QP rings the session kept (it is ending). */
void qp_pool_fini(struct rb_session *s);

/* dispatch.c */
/* Its body case (0 if it could not be decoded). */
int dispatch_request(struct rb_session *s, const struct rb_wire_msg *msg);

/* device.c */
int device_init(struct rb_daemon *d);
void device_fini(struct rb_daemon *d);
struct rb_device *device_by_index(struct rb_daemon *d, uint32_t index);

/* notify.c: sd_notify wrappers; no-ops outside systemd. */
void notify_ready(struct rb_daemon *d);
void notify_status(struct rb_daemon *d);
void notify_reloading(void);
void notify_stopping(void);
int notify_watchdog_start(struct rb_daemon *d);
void notify_fini(void);

#endif /* RB_DAEMON_DAEMON_H */
