/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr.  Lines carry sd-daemon priority prefixes ("<3>") when
 * stderr is the journal or not a terminal, so that systemd files each line
 * at its level; a terminal gets "rdmabrokerd: level: message".
 */
#ifndef RB_DAEMON_LOG_H
#define RB_DAEMON_LOG_H

#include <stdint.h>
#include <syslog.h>

void log_init(void);
void log_set_level(int level);
int log_get_level(void);
/* "err", "warning", "notice", "info", "debug" -> LOG_*, or -1 */
int log_level_parse(const char *name);
const char *log_level_name(int level);

/*
 * Per-client rate limiting: lines logged between log_limit_enter(l) and
 * log_limit_leave() (a client's request being served) are that client's,
 * and pass at LOG_LIMIT_RATE a second after a burst of LOG_LIMIT_BURST;
 * the rest are counted, and a summary line says how many were dropped
 * when the next passes or log_limit_flush() is called (the client went).
 * Nothing is limited when the log level is debug: the administrator asked
 * for every line.
 */
#define LOG_LIMIT_RATE	10
#define LOG_LIMIT_BURST	50

struct log_limit {
	char who[64];			/* "client 7 (pid 123 uid 1000)" */
	uint64_t last_ns;		/* of the last refill */
	uint32_t tokens;		/* lines it may log now */
	uint64_t suppressed;		/* since the last summary */
	uint64_t suppressed_total;
};

void log_limit_init(struct log_limit *l, const char *who);
void log_limit_enter(struct log_limit *l);
void log_limit_leave(void);
void log_limit_flush(struct log_limit *l);

void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* RB_DAEMON_LOG_H */
