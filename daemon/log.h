/* SPDX-License-Identifier: MIT */
/*
 * Logging to stderr.  Lines carry sd-daemon priority prefixes ("<3>") when
 * stderr is the journal or not a terminal, so that systemd files each line
 * at its level; a terminal gets "rdmabrokerd: level: message".
 */
#ifndef RB_DAEMON_LOG_H
#define RB_DAEMON_LOG_H

#include <syslog.h>

void log_init(void);
void log_set_level(int level);
int log_get_level(void);
/* "err", "warning", "notice", "info", "debug" -> LOG_*, or -1 */
int log_level_parse(const char *name);
const char *log_level_name(int level);

void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...)	log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...)	log_msg(LOG_WARNING, __VA_ARGS__)
#define log_notice(...)	log_msg(LOG_NOTICE, __VA_ARGS__)
#define log_info(...)	log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...)	log_msg(LOG_DEBUG, __VA_ARGS__)

#endif /* RB_DAEMON_LOG_H */
