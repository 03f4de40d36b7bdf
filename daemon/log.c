/* SPDX-License-Identifier: MIT */
/* Logging to stderr: see log.h. */
#include "config.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/log.h"

static int log_level = LOG_INFO;
static bool log_prefix;
static struct log_limit *log_cur;	/* the client being served, or NULL */

static const char *const log_names[] = {
	[LOG_EMERG] = "emerg",
	[LOG_ALERT] = "alert",
	[LOG_CRIT] = "crit",
	[LOG_ERR] = "err",
	[LOG_WARNING] = "warning",
	[LOG_NOTICE] = "notice",
	[LOG_INFO] = "info",
	[LOG_DEBUG] = "debug",
};

void log_init(void)
{
	log_prefix = getenv("JOURNAL_STREAM") != NULL || !isatty(STDERR_FILENO);
	/* Whole lines, even when several processes share stderr. */
	setvbuf(stderr, NULL, _IOLBF, 0);
}

void log_set_level(int level)
{
	log_level = level;
}

int log_get_level(void)
{
	return log_level;
}

int log_level_parse(const char *name)
{
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (strcmp(name, log_names[i]) == 0)
			return i;
	if (strcmp(name, "error") == 0)
		return LOG_ERR;
	if (strcmp(name, "warn") == 0)
		return LOG_WARNING;
	return -1;
}

const char *log_level_name(int level)
{
	if (level < LOG_EMERG || level > LOG_DEBUG)
		return "?";
	return log_names[level];
}

static void log_write(int level, const char *line)
{
	if (log_prefix)
		fprintf(stderr, "<%d>%s\n", level, line);
	else
		fprintf(stderr, "rdmabrokerd: %s: %s\n", log_level_name(level), line);
}

static uint64_t log_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

void log_limit_init(struct log_limit *l, const char *who)
{
	memset(l, 0, sizeof(*l));
	snprintf(l->who, sizeof(l->who), "%s", who);
	l->tokens = LOG_LIMIT_BURST;
	l->last_ns = log_now_ns();
}

void log_limit_enter(struct log_limit *l)
{
	log_cur = l;
}

void log_limit_leave(void)
{
	log_cur = NULL;
}

void log_limit_flush(struct log_limit *l)
{
	char line[160];

	if (!l || !l->suppressed)
		return;
	snprintf(line, sizeof(line), "%s: %" PRIu64 " log lines suppressed (more than %d a second)",
		 l->who, l->suppressed, LOG_LIMIT_RATE);
	l->suppressed = 0;
	log_write(LOG_NOTICE, line);
}

/* May the client being served log one more line? */
static bool log_limit_take(struct log_limit *l)
{
	uint64_t now = log_now_ns();
	uint64_t add = (now - l->last_ns) * LOG_LIMIT_RATE / 1000000000ull;

	if (add) {
		l->tokens = add + l->tokens > LOG_LIMIT_BURST ? LOG_LIMIT_BURST :
			    l->tokens + (uint32_t)add;
		l->last_ns = now;
	}
	if (!l->tokens) {
		l->suppressed++;
		l->suppressed_total++;
		return false;
	}
	l->tokens--;
	log_limit_flush(l);
	return true;
}

void log_msg(int level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (level > log_level)
		return;
	/* At debug level the administrator asked for every line. */
	if (log_cur && log_level < LOG_DEBUG && !log_limit_take(log_cur))
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* A client-supplied string must not forge a second log line. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	log_write(level, line);
}
