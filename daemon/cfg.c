/* SPDX-License-Identifier: MIT */
/* rdmabrokerd.conf parsing: see config.h and rdmabrokerd.conf(5). */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "daemon/cfg.h"
#include "daemon/log.h"

#define CONFIG_MAX_LINE 1024
/* A config file is small: past this it is refused, not read. */
#define CONFIG_MAX_SIZE (1024 * 1024)

static const char *const cfg_limit_names[RB_LIMIT_COUNT] = {
	[RB_LIMIT_CONNECTIONS] = "connections",
	[RB_LIMIT_PDS] = "pds",
	[RB_LIMIT_MRS] = "mrs",
	[RB_LIMIT_PINNED_BYTES] = "pinned_bytes",
	[RB_LIMIT_CQS] = "cqs",
	[RB_LIMIT_CQES] = "cqes",
	[RB_LIMIT_QPS] = "qps",
	[RB_LIMIT_SRQS] = "srqs",
	[RB_LIMIT_AHS] = "ahs",
	[RB_LIMIT_MWS] = "mws",
	[RB_LIMIT_MEMORY] = "memory",
	[RB_LIMIT_CM_IDS] = "cm_ids",
	[RB_LIMIT_CM_CHANNELS] = "cm_channels",
};

static const uint64_t cfg_limit_defaults[RB_LIMIT_COUNT] = {
	[RB_LIMIT_CONNECTIONS] = 64,
	[RB_LIMIT_PDS] = 256,
	[RB_LIMIT_MRS] = 4096,
	[RB_LIMIT_PINNED_BYTES] = 4ull << 30,
	[RB_LIMIT_CQS] = 1024,
	[RB_LIMIT_CQES] = 4194304,
	[RB_LIMIT_QPS] = 1024,
	[RB_LIMIT_SRQS] = 256,
	[RB_LIMIT_AHS] = 4096,
	[RB_LIMIT_MWS] = 4096,
	/* Rings and queue state; 1,000 QPs of ibv_rc_pingpong take ~40 MiB. */
	[RB_LIMIT_MEMORY] = 1ull << 30,
	/* rdma_cm ids (each listen, connection and UD id) and their event
	 * channels: one connection may hold 65,536 and 4,096 (daemon/cm.c). */
	[RB_LIMIT_CM_IDS] = 65536,
	[RB_LIMIT_CM_CHANNELS] = 4096,
};

const char *cfg_limit_name(enum rb_limit l)
{
	return l < RB_LIMIT_COUNT ? cfg_limit_names[l] : "?";
}

static const char *const cfg_sched_names[RB_SCHED_COUNT] = {
	[RB_SCHED_WEIGHT] = "weight",
	[RB_SCHED_BANDWIDTH] = "bandwidth",
	[RB_SCHED_MESSAGE_RATE] = "message_rate",
};

/* Every user weighs the same and nothing is capped unless configured. */
static const uint64_t cfg_sched_defaults[RB_SCHED_COUNT] = {
	[RB_SCHED_WEIGHT] = 1,
	[RB_SCHED_BANDWIDTH] = 0,
	[RB_SCHED_MESSAGE_RATE] = 0,
};

const char *cfg_sched_name(enum rb_sched_key k)
{
	return k < RB_SCHED_COUNT ? cfg_sched_names[k] : "?";
}

int cfg_sched_parse_name(const char *name)
{
	for (int k = 0; k < RB_SCHED_COUNT; k++)
		if (!strcmp(name, cfg_sched_names[k]))
			return k;
	return -1;
}

bool cfg_sched_valid(enum rb_sched_key k, uint64_t v)
{
	return k != RB_SCHED_WEIGHT || (v >= 1 && v <= RB_SCHED_WEIGHT_MAX);
}

static bool cfg_in_groups(gid_t g, gid_t gid, const gid_t *groups, int ngroups)
{
	if (g == gid)
		return true;
	for (int i = 0; i < ngroups; i++)
		if (groups[i] == g)
			return true;
	return false;
}

void cfg_sched_for(const struct rb_config *cfg, uid_t uid, gid_t gid,
		   const gid_t *groups, int ngroups, uint64_t out[RB_SCHED_COUNT])
{
	const struct rb_sched_params *user = NULL;

	for (size_t i = 0; i < cfg->nusers; i++)
		if (cfg->users[i].uid == uid)
			user = &cfg->users[i].sched;
	for (int k = 0; k < RB_SCHED_COUNT; k++) {
		out[k] = cfg->sched.v[k];
		if (user && (user->set & (1u << k))) {
			out[k] = user->v[k];
			continue;
		}
		for (size_t g = 0; g < cfg->ngroups; g++) {
			const struct rb_group_sched *gs = &cfg->groups[g];

			if ((gs->sched.set & (1u << k)) &&
			    cfg_in_groups(gs->gid, gid, groups, ngroups)) {
				out[k] = gs->sched.v[k];
				break;
			}
		}
	}
}

void cfg_defaults(struct rb_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	snprintf(cfg->socket, sizeof(cfg->socket), "%s", RB_DEFAULT_SOCKET);
	cfg->socket_mode = 0666;
	cfg->log_level = LOG_INFO;
	cfg->max_clients = 1024;
	cfg->control_spin_us = 50;
	cfg->memory_timeout_ms = 250;
	cfg->handshake_timeout_ms = 5000;
	for (size_t i = 0; rb_drivers[i] && i < RB_MAX_DRIVERS; i++)
		rb_drivers[i]->config_defaults(cfg->drv[i]);
	memcpy(cfg->limits.v, cfg_limit_defaults, sizeof(cfg->limits.v));
	memcpy(cfg->sched.v, cfg_sched_defaults, sizeof(cfg->sched.v));
	cfg->sched.set = (1u << RB_SCHED_COUNT) - 1;
}

void cfg_free(struct rb_config *cfg)
{
	free(cfg->users);
	cfg->users = NULL;
	cfg->nusers = 0;
	free(cfg->groups);
	cfg->groups = NULL;
	cfg->ngroups = 0;
}

/* The registry's index of a driver: its settings' place in cfg->drv. */
static int cfg_driver_index(const struct rb_driver *drv)
{
	for (int i = 0; rb_drivers[i] && i < RB_MAX_DRIVERS; i++)
		if (rb_drivers[i] == drv)
			return i;
	return -1;
}

void *cfg_driver_config(struct rb_config *cfg, const char *section)
{
	int i = cfg_driver_index(rb_driver_by_section(section));

	return i < 0 ? NULL : cfg->drv[i];
}

const struct rb_limits *cfg_limits_for(const struct rb_config *cfg,
					  uid_t uid)
{
	for (size_t i = 0; i < cfg->nusers; i++)
		if (cfg->users[i].uid == uid)
			return &cfg->users[i].limits;
	return &cfg->limits;
}

/* ------------------------------------------------------------ parsing */

enum cfg_section {
	SEC_NONE,
	SEC_DAEMON,
	SEC_DRIVER,			/* a driver's: p->drv */
	SEC_LIMITS,
	SEC_USER_LIMITS,
	SEC_GROUP_LIMITS,		/* [limits @GROUP]: scheduling keys only */
};

struct cfg_parser {
	const char *file;
	unsigned int line;
	char *err;
	size_t errlen;
	enum cfg_section sec;
	struct rb_user_limits *user;	/* for SEC_USER_LIMITS */
	struct rb_group_sched *group;	/* for SEC_GROUP_LIMITS */
	const struct rb_driver *drv;	/* for SEC_DRIVER */
	/* per-user sections override only the keys they set */
	bool user_set[RB_LIMIT_COUNT];
	/* duplicate detection: keys seen in the current section */
	char seen[64][40];
	size_t nseen;
};

__attribute__((format(printf, 2, 3)))
static int cfg_error(struct cfg_parser *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (p->line)
		snprintf(p->err, p->errlen, "%s:%u: %s", p->file, p->line, msg);
	else
		snprintf(p->err, p->errlen, "%s: %s", p->file, msg);
	return -EINVAL;
}

static char *cfg_trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

/* Unsigned integer with optional K/M/G/T (powers of 1024) if sized. */
int cfg_parse_u64(const char *s, bool sized, uint64_t *out)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno)
		return -EINVAL;
	if (sized && *end) {
		switch (toupper((unsigned char)*end)) {
		case 'K':
			shift = 10;
			break;
		case 'M':
			shift = 20;
			break;
		case 'G':
			shift = 30;
			break;
		case 'T':
			shift = 40;
			break;
		default:
			return -EINVAL;
		}
		end++;
		if (*end == 'i' || *end == 'B')
			end++;
		if (*end == 'B')
			end++;
	}
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int cfg_parse_bool(const char *s, int *out)
{
	if (!strcmp(s, "yes") || !strcmp(s, "true") || !strcmp(s, "on") ||
	    !strcmp(s, "1")) {
		*out = 1;
		return 0;
	}
	if (!strcmp(s, "no") || !strcmp(s, "false") || !strcmp(s, "off") ||
	    !strcmp(s, "0")) {
		*out = 0;
		return 0;
	}
	return -EINVAL;
}

static int cfg_copy_str(struct cfg_parser *p, char *dst, size_t dstlen,
			   const char *key, const char *val)
{
	if (strlen(val) >= dstlen)
		return cfg_error(p, "%s: value too long (at most %zu bytes)",
				    key, dstlen - 1);
	memcpy(dst, val, strlen(val) + 1);
	return 0;
}

static int cfg_daemon_key(struct cfg_parser *p, struct rb_config *cfg,
			     const char *key, const char *val)
{
	uint64_t v;

	if (!strcmp(key, "socket")) {
		if (val[0] != '/')
			return cfg_error(p, "socket: must be an absolute path");
		return cfg_copy_str(p, cfg->socket, sizeof(cfg->socket), key, val);
	}
	if (!strcmp(key, "socket_mode")) {
		char *end;
		unsigned long m = strtoul(val, &end, 8);

		if (!*val || *end || m > 0777)
			return cfg_error(p, "socket_mode: '%s' is not an octal mode (e.g. 0660)", val);
		cfg->socket_mode = (mode_t)m;
		return 0;
	}
	if (!strcmp(key, "socket_group"))
		return cfg_copy_str(p, cfg->socket_group,
				       sizeof(cfg->socket_group), key, val);
	if (!strcmp(key, "admin_group"))
		return cfg_copy_str(p, cfg->admin_group,
				       sizeof(cfg->admin_group), key, val);
	if (!strcmp(key, "log_level")) {
		int l = log_level_parse(val);

		if (l < 0)
			return cfg_error(p, "log_level: '%s' is not one of err, warning, notice, info, debug", val);
		cfg->log_level = l;
		return 0;
	}
	if (!strcmp(key, "max_clients")) {
		if (cfg_parse_u64(val, false, &v) < 0 || v > UINT32_MAX)
			return cfg_error(p, "max_clients: '%s' is not a count", val);
		cfg->max_clients = (uint32_t)v;
		return 0;
	}
	if (!strcmp(key, "control_spin_us")) {
		if (cfg_parse_u64(val, false, &v) < 0 || v > 1000000)
			return cfg_error(p, "control_spin_us: '%s' is not a count of microseconds up to 1000000", val);
		cfg->control_spin_us = (uint32_t)v;
		return 0;
	}
	if (!strcmp(key, "handshake_timeout_ms")) {
		if (cfg_parse_u64(val, false, &v) < 0 || v < 1 || v > 600000)
			return cfg_error(p, "handshake_timeout_ms: '%s' is not a count of milliseconds from 1 to 600000", val);
		cfg->handshake_timeout_ms = (uint32_t)v;
		return 0;
	}
	if (!strcmp(key, "memory_timeout_ms")) {
		if (cfg_parse_u64(val, false, &v) < 0 || v < 1 || v > 60000)
			return cfg_error(p, "memory_timeout_ms: '%s' is not a count of milliseconds from 1 to 60000", val);
		cfg->memory_timeout_ms = (uint32_t)v;
		return 0;
	}
	return cfg_error(p, "unknown key '%s' in [daemon]", key);
}

/* A key of a driver's section: the driver parses it (drivers/driver.h). */
static int cfg_driver_key(struct cfg_parser *p, struct rb_config *cfg,
			  const char *key, const char *val)
{
	char msg[400];
	int i = cfg_driver_index(p->drv);

	msg[0] = '\0';
	if (i < 0 || p->drv->config_key(cfg->drv[i], key, val, msg, sizeof(msg)) < 0)
		return cfg_error(p, "%s", msg[0] ? msg : "invalid setting");
	return 0;
}

/* weight, bandwidth or message_rate into *sp; 1 if key is none of them. */
static int cfg_sched_key(struct cfg_parser *p, struct rb_sched_params *sp,
			 const char *key, const char *val)
{
	int k = cfg_sched_parse_name(key);
	uint64_t v;

	if (k < 0)
		return 1;
	if (cfg_parse_u64(val, k == RB_SCHED_BANDWIDTH, &v) < 0)
		return cfg_error(p, "%s: '%s' is not a %s", key, val,
				 k == RB_SCHED_BANDWIDTH ? "rate in bytes per second (e.g. 100M)" :
				 k == RB_SCHED_WEIGHT ? "weight" : "count per second");
	if (!cfg_sched_valid((enum rb_sched_key)k, v))
		return cfg_error(p, "weight: '%s' is not between 1 and %d", val,
				 RB_SCHED_WEIGHT_MAX);
	sp->v[k] = v;
	sp->set |= 1u << k;
	return 0;
}

static int cfg_limit_key(struct cfg_parser *p, struct rb_limits *lim,
			    bool *set, struct rb_sched_params *sp,
			    const char *key, const char *val)
{
	int ret = cfg_sched_key(p, sp, key, val);

	if (ret <= 0)
		return ret;
	for (int i = 0; i < RB_LIMIT_COUNT; i++) {
		bool sized = i == RB_LIMIT_PINNED_BYTES || i == RB_LIMIT_MEMORY;
		uint64_t v;

		if (strcmp(key, cfg_limit_names[i]))
			continue;
		if (cfg_parse_u64(val, sized, &v) < 0)
			return cfg_error(p, "%s: '%s' is not a %s", key, val,
					    sized ? "size (e.g. 4G)" : "count");
		lim->v[i] = v;
		if (set)
			set[i] = true;
		return 0;
	}
	return cfg_error(p, "unknown limit '%s' (known: connections, pds, mrs, pinned_bytes, cqs, cqes, qps, srqs, ahs, mws, memory, cm_ids, cm_channels, weight, bandwidth, message_rate)", key);
}

static int cfg_user_uid(struct cfg_parser *p, const char *name,
			   uid_t *uid)
{
	struct passwd *pw = getpwnam(name);
	uint64_t v;

	if (pw) {
		*uid = pw->pw_uid;
		return 0;
	}
	if (cfg_parse_u64(name, false, &v) == 0 && v < UINT32_MAX) {
		*uid = (uid_t)v;
		return 0;
	}
	return cfg_error(p, "[limits %s]: no such user", name);
}

static int cfg_group_gid(struct cfg_parser *p, const char *name, gid_t *gid)
{
	struct group *gr = getgrnam(name);
	uint64_t v;

	if (gr) {
		*gid = gr->gr_gid;
		return 0;
	}
	if (cfg_parse_u64(name, false, &v) == 0 && v < UINT32_MAX) {
		*gid = (gid_t)v;
		return 0;
	}
	return cfg_error(p, "[limits @%s]: no such group", name);
}

static int cfg_group_section(struct cfg_parser *p, struct rb_config *cfg,
			     const char *name)
{
	struct rb_group_sched *g;
	gid_t gid = 0;
	int ret = cfg_group_gid(p, name, &gid);

	if (ret < 0)
		return ret;
	for (size_t i = 0; i < cfg->ngroups; i++)
		if (cfg->groups[i].gid == gid)
			return cfg_error(p, "[limits @%s]: group given twice", name);
	g = realloc(cfg->groups, (cfg->ngroups + 1) * sizeof(*g));
	if (!g)
		return cfg_error(p, "out of memory");
	cfg->groups = g;
	p->group = &g[cfg->ngroups++];
	memset(p->group, 0, sizeof(*p->group));
	p->group->gid = gid;
	p->sec = SEC_GROUP_LIMITS;
	return 0;
}

static int cfg_section(struct cfg_parser *p, struct rb_config *cfg,
			  char *hdr)
{
	char *arg;

	p->nseen = 0;
	p->user = NULL;
	p->group = NULL;
	hdr = cfg_trim(hdr);
	arg = strpbrk(hdr, " \t");
	if (arg) {
		*arg++ = '\0';
		arg = cfg_trim(arg);
	}
	if (!strcmp(hdr, "daemon") && !arg) {
		p->sec = SEC_DAEMON;
	} else if (rb_driver_by_section(hdr) && !arg) {
		p->sec = SEC_DRIVER;
		p->drv = rb_driver_by_section(hdr);
	} else if (!strcmp(hdr, "limits") && !arg) {
		p->sec = SEC_LIMITS;
	} else if (!strcmp(hdr, "limits") && arg && arg[0] == '@' && arg[1]) {
		return cfg_group_section(p, cfg, arg + 1);
	} else if (!strcmp(hdr, "limits") && arg && *arg) {
		struct rb_user_limits *u;
		uid_t uid = 0;
		int ret = cfg_user_uid(p, arg, &uid);

		if (ret < 0)
			return ret;
		for (size_t i = 0; i < cfg->nusers; i++)
			if (cfg->users[i].uid == uid)
				return cfg_error(p, "[limits %s]: user given twice", arg);
		u = realloc(cfg->users, (cfg->nusers + 1) * sizeof(*u));
		if (!u)
			return cfg_error(p, "out of memory");
		cfg->users = u;
		p->user = &u[cfg->nusers++];
		memset(p->user, 0, sizeof(*p->user));
		p->user->uid = uid;
		memset(p->user_set, 0, sizeof(p->user_set));
		p->sec = SEC_USER_LIMITS;
	} else {
		char known[256] = "[daemon], ";
		size_t n = strlen(known);

		for (size_t i = 0; rb_drivers[i] && n < sizeof(known); i++)
			n += (size_t)snprintf(known + n, sizeof(known) - n, "[%s], ",
					      rb_drivers[i]->section);
		return cfg_error(p, "unknown section [%s%s%s] (known: %s[limits], [limits USER], [limits @GROUP])",
				    hdr, arg ? " " : "", arg ? arg : "", known);
	}
	return 0;
}

static int cfg_line(struct cfg_parser *p, struct rb_config *cfg,
		       char *line)
{
	char *eq, *key, *val;

	line = cfg_trim(line);
	if (!*line || *line == '#' || *line == ';')
		return 0;
	if (*line == '[') {
		char *close = strchr(line, ']');

		if (!close || close[1] != '\0')
			return cfg_error(p, "malformed section header");
		*close = '\0';
		return cfg_section(p, cfg, line + 1);
	}
	eq = strchr(line, '=');
	if (!eq)
		return cfg_error(p, "expected 'key = value' or '[section]'");
	*eq = '\0';
	key = cfg_trim(line);
	val = cfg_trim(eq + 1);
	if (!*key)
		return cfg_error(p, "missing key before '='");

	for (size_t i = 0; i < p->nseen; i++)
		if (!strcmp(p->seen[i], key))
			return cfg_error(p, "duplicate key '%s'", key);
	if (p->nseen < sizeof(p->seen) / sizeof(p->seen[0]) &&
	    strlen(key) < sizeof(p->seen[0]))
		strcpy(p->seen[p->nseen++], key);

	switch (p->sec) {
	case SEC_NONE:
		return cfg_error(p, "'%s' outside a section (start with [daemon])", key);
	case SEC_DAEMON:
		return cfg_daemon_key(p, cfg, key, val);
	case SEC_DRIVER:
		return cfg_driver_key(p, cfg, key, val);
	case SEC_LIMITS:
		return cfg_limit_key(p, &cfg->limits, NULL, &cfg->sched, key, val);
	case SEC_USER_LIMITS:
		return cfg_limit_key(p, &p->user->limits, p->user_set,
				     &p->user->sched, key, val);
	case SEC_GROUP_LIMITS: {
		int ret = cfg_sched_key(p, &p->group->sched, key, val);

		if (ret > 0)
			return cfg_error(p, "'%s' in a group section: only weight, bandwidth and message_rate are set per group", key);
		return ret;
	}
	}
	return 0;
}

int cfg_load(struct rb_config *cfg, const char *path, bool missing_ok,
		char *err, size_t errlen)
{
	struct cfg_parser p = { .file = path, .err = err, .errlen = errlen };
	/* User sections overlay [limits], which may come after them. */
	bool (*user_set)[RB_LIMIT_COUNT] = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	struct rb_config next;
	size_t total = 0;
	struct stat st;
	int ret = 0, fd;
	FILE *f;

	cfg_defaults(&next);
	snprintf(next.path, sizeof(next.path), "%s", path);
	/*
	 * Only a regular file of bounded size: /dev/zero would be read without
	 * end, and a FIFO would block the daemon in open or read (on SIGHUP,
	 * its only thread).  O_NONBLOCK makes the open of a FIFO return.
	 */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		ret = -errno;
		if (ret == -ENOENT && missing_ok) {
			next.path[0] = '\0';
			goto done;
		}
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0)
		ret = -errno;
	else if (!S_ISREG(st.st_mode))
		ret = -EINVAL;
	else if (st.st_size > CONFIG_MAX_SIZE)
		ret = -EFBIG;
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, ret == -EINVAL ?
			 "not a regular file" : ret == -EFBIG ?
			 "larger than 1 MiB: not a configuration file" : strerror(-ret));
		close(fd);
		return ret;
	}
	f = fdopen(fd, "r");
	if (!f) {
		ret = -errno;
		close(fd);
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	while ((n = getline(&line, &cap, f)) != -1) {
		p.line++;
		total += (size_t)n;
		if (total > CONFIG_MAX_SIZE) {
			p.line = 0;
			ret = cfg_error(&p, "larger than 1 MiB: not a configuration file");
			break;
		}
		if (n > CONFIG_MAX_LINE) {
			ret = cfg_error(&p, "line longer than %d bytes", CONFIG_MAX_LINE);
			break;
		}
		if (strlen(line) != (size_t)n) {
			ret = cfg_error(&p, "NUL byte in line");
			break;
		}
		ret = cfg_line(&p, &next, line);
		if (ret < 0)
			break;
		if (p.sec == SEC_USER_LIMITS) {
			size_t idx = (size_t)(p.user - next.users);
			bool (*grown)[RB_LIMIT_COUNT];

			grown = realloc(user_set, next.nusers * sizeof(*grown));
			if (!grown) {
				ret = cfg_error(&p, "out of memory");
				break;
			}
			user_set = grown;
			memcpy(user_set[idx], p.user_set, sizeof(p.user_set));
		}
	}
	if (!ret && ferror(f)) {
		p.line = 0;
		ret = cfg_error(&p, "read error");
	}
	fclose(f);
	free(line);
	if (ret < 0) {
		free(user_set);
		cfg_free(&next);
		return ret;
	}
	for (size_t u = 0; u < next.nusers; u++)
		for (int i = 0; i < RB_LIMIT_COUNT; i++)
			if (!user_set[u][i])
				next.users[u].limits.v[i] = next.limits.v[i];
	free(user_set);
done:
	cfg_free(cfg);
	*cfg = next;
	return 0;
}
