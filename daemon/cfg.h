/* SPDX-License-Identifier: MIT */
/*
 * rdmabrokerd.conf: INI-style settings, documented in rdmabrokerd.conf(5).
 * Parsing is all-or-nothing: on the first error nothing is applied and the
 * error names FILE:LINE.
 */
#ifndef RB_DAEMON_CFG_H
#define RB_DAEMON_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "drivers/driver.h"

#define RB_DEFAULT_CONFIG	SYSCONFDIR "/rdmabroker/rdmabrokerd.conf"
#define RB_DEFAULT_SOCKET	RUNDIR "/rdmabrokerd.sock"

/* Per-user limits; 0 = unlimited.  Order matches rdmabroker.Limits. */
enum rb_limit {
	RB_LIMIT_CONNECTIONS,
	RB_LIMIT_PDS,
	RB_LIMIT_MRS,
	RB_LIMIT_PINNED_BYTES,
	RB_LIMIT_CQS,
	RB_LIMIT_CQES,
	RB_LIMIT_QPS,
	RB_LIMIT_SRQS,
	RB_LIMIT_AHS,
	RB_LIMIT_MWS,
	RB_LIMIT_MEMORY,
	RB_LIMIT_CM_IDS,
	RB_LIMIT_CM_CHANNELS,
	RB_LIMIT_COUNT
};

struct rb_limits {
	uint64_t v[RB_LIMIT_COUNT];
};

/*
 * How the engine shares itself (daemon/sched.h): per user, from [limits],
 * [limits USER] and [limits @GROUP].  Not limits on what a user holds,
 * so kept apart from rb_limit.
 */
enum rb_sched_key {
	RB_SCHED_WEIGHT,		/* share of a busy engine, 1 .. RB_SCHED_WEIGHT_MAX */
	RB_SCHED_BANDWIDTH,		/* bytes/s, 0 = unlimited */
	RB_SCHED_MESSAGE_RATE,		/* work requests/s, 0 = unlimited */
	RB_SCHED_COUNT
};

#define RB_SCHED_WEIGHT_MAX	1000

struct rb_sched_params {
	uint64_t v[RB_SCHED_COUNT];
	uint32_t set;			/* bit k: v[k] given in this section */
};

struct rb_user_limits {
	uid_t uid;
	struct rb_limits limits;	/* defaults overlaid with the section */
	struct rb_sched_params sched;	/* only what the section sets */
};

/* [limits @GROUP]: scheduling keys only, for the group's members. */
struct rb_group_sched {
	gid_t gid;
	struct rb_sched_params sched;
};

struct rb_config {
	char path[4096];		/* file read ("" = built-in defaults) */
	char socket[108];
	mode_t socket_mode;
	char socket_group[64];		/* "" = leave as created */
	char admin_group[64];		/* "" = only root */
	int log_level;			/* LOG_* */
	uint32_t max_clients;		/* 0 = unlimited */
	uint32_t control_spin_us;	/* poll for the next request this long */
	uint32_t handshake_timeout_ms;	/* a connection says Hello within this */
	uint32_t memory_timeout_ms;	/* a CMA access waits this long (memio.c) */

	/* Each driver's section, parsed by it (drivers/driver.h), in the
	 * order of rb_drivers[]: plain data, so the struct copies. */
	uint8_t drv[RB_MAX_DRIVERS][RB_DRIVER_CONFIG_MAX]
		__attribute__((aligned(16)));

	struct rb_limits limits;	/* [limits] */
	struct rb_user_limits *users;	/* [limits USER] */
	size_t nusers;
	struct rb_sched_params sched;	/* [limits]: every key set */
	struct rb_group_sched *groups;	/* [limits @GROUP], in file order */
	size_t ngroups;
};

/* Name of a limit as in the config file and rdmactl ("qps"). */
const char *cfg_limit_name(enum rb_limit l);

/* Name of a scheduling key as in the config file and rdmactl ("weight"). */
const char *cfg_sched_name(enum rb_sched_key k);
/* The key named name, or -1. */
int cfg_sched_parse_name(const char *name);
/* Whether v is a valid value of key k. */
bool cfg_sched_valid(enum rb_sched_key k, uint64_t v);

/*
 * The scheduling values of a user whose client connected with gid and
 * groups: each key from [limits USER] if set there, else from the first
 * [limits @GROUP] (in file order) that sets it and names gid or one of
 * groups, else from [limits].
 */
void cfg_sched_for(const struct rb_config *cfg, uid_t uid, gid_t gid,
		   const gid_t *groups, int ngroups, uint64_t out[RB_SCHED_COUNT]);

/* Fill *cfg with the built-in defaults. */
void cfg_defaults(struct rb_config *cfg);

/*
 * Read path into *cfg (which must hold defaults or a previous config; it
 * is replaced only on success).  missing_ok: a missing file is not an
 * error (the default path).  On failure returns -errno with err holding
 * "FILE:LINE: message" (or "FILE: message").
 */
int cfg_load(struct rb_config *cfg, const char *path, bool missing_ok,
		char *err, size_t errlen);

/* The limits in force for uid. */
const struct rb_limits *cfg_limits_for(const struct rb_config *cfg,
					  uid_t uid);

void cfg_free(struct rb_config *cfg);

/* The settings of the driver whose config section is section, or NULL. */
void *cfg_driver_config(struct rb_config *cfg, const char *section);

/*
 * Value syntax every section shares, for drivers' config_key too:
 * yes/no (true/false, on/off, 1/0); an unsigned number (0x.. allowed),
 * with sized, a K/M/G/T suffix.  0 or -EINVAL (-ERANGE).
 */
int cfg_parse_bool(const char *s, int *out);
int cfg_parse_u64(const char *s, bool sized, uint64_t *out);

#endif /* RB_DAEMON_CFG_H */
