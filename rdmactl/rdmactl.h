/* SPDX-License-Identifier: MIT */
/*
 * rdmactl: the command line tool of rdmabroker, modelled on iproute2's
 * `rdma`.  One file per object (dev.c, client.c, status.c); each builds a
 * json_object tree and hands it to the one print layer (print.c), which
 * writes it as JSON or, following a layout table, as text.
 */
#ifndef RB_RDMACTL_H
#define RB_RDMACTL_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "proto/rpc.h"

/* Exit statuses. */
#define RDMACTL_OK		0
#define RDMACTL_FAIL		1	/* the daemon said no, or is not there */
#define RDMACTL_USAGE		2	/* bad command line */

struct rdmactl {
	bool json;
	bool pretty;
	bool details;
	const char *socket;		/* -s, else NULL */
	struct rb_rpc rpc;		/* fd -1 until rdmactl_connect() */
};

/* A command (or, at the top level, an object) and what runs it. */
struct rdmactl_cmd {
	const char *name;
	int (*run)(struct rdmactl *rc, int argc, char **argv);
};

/*
 * Run the entry of cmds (NULL-name terminated) that argv[0] names exactly
 * or as a unique prefix; "help" (or a prefix of it) prints usage on stdout.
 * level names the level in messages ("object", "dev command").  Unknown
 * or ambiguous words print a message and usage on stderr and return
 * RDMACTL_USAGE.  argv[0] must exist.
 */
int rdmactl_dispatch(struct rdmactl *rc, const char *level,
		     const struct rdmactl_cmd *cmds, void (*usage)(FILE *out),
		     int argc, char **argv);

/* Prints "rdmactl: <msg>" and usage on stderr; returns RDMACTL_USAGE. */
int rdmactl_usage_error(void (*usage)(FILE *out), const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Connects (once) to the daemon; prints why not and returns RDMACTL_FAIL. */
int rdmactl_connect(struct rdmactl *rc);

/*
 * Sends req and waits for a reply with body `body`.  Returns 0 with *reply
 * set, or -errno; for a daemon error (-status) the daemon's reason is left
 * in err.  Transport errors are printed here already.
 */
int rdmactl_call(struct rdmactl *rc, Rdmabroker__Request *req,
		 Rdmabroker__Reply__BodyCase body, Rdmabroker__Reply **reply,
		 char *err, size_t errlen);

/*
 * Listings page (RB_PROTO_FEAT_PAGED_LISTS): after each reply, move its
 * next cursor (has_next, next) into the request (q_has, q_cursor), kept in
 * buf.  True when another page is to be asked for; false when the listing
 * is complete, or the daemon pages not at all (a version 1 daemon) or
 * gave an empty page with a cursor (it would never end).
 */
#define RDMACTL_CURSOR_MAX	64
bool rdmactl_cursor_next(uint8_t *buf, protobuf_c_boolean has_next,
			 const ProtobufCBinaryData *next, size_t n_items,
			 protobuf_c_boolean *q_has, ProtobufCBinaryData *q_cursor);

/*
 * A PID argument: a positive decimal number; otherwise a usage error
 * naming `what` (RDMACTL_USAGE).
 */
int rdmactl_parse_pid(void (*usage_fn)(FILE *out), const char *what,
		      const char *arg, uint32_t *pid);

/* The objects. */
int dev_run(struct rdmactl *rc, int argc, char **argv);
void dev_usage(FILE *out);
int client_run(struct rdmactl *rc, int argc, char **argv);
void client_usage(FILE *out);
int res_run(struct rdmactl *rc, int argc, char **argv);
/*
 * One page of what the daemon counts per client (ResSummaryReq), for
 * `res` and `client show pid`; RDMACTL_FAIL (reason printed, prefixed
 * with what) on failure, or when the daemon does not count (version 1).
 */
int res_summary_fetch(struct rdmactl *rc, Rdmabroker__ResSummaryReq *q,
		      Rdmabroker__Reply **rep, const char *what);
void res_usage(FILE *out);
int limits_run(struct rdmactl *rc, int argc, char **argv);
void limits_usage(FILE *out);
int status_run(struct rdmactl *rc, int argc, char **argv);
void status_usage(FILE *out);
int stat_run(struct rdmactl *rc, int argc, char **argv);
void stat_usage(FILE *out);

/* ------------------------------------------------------------- names.c */

/*
 * An enum's value, its JSON string (ibv_devinfo's / libibverbs' wording)
 * and its short text form (iproute2 rdma's wording).  Tables end with a
 * NULL json.
 */
struct rb_name {
	uint32_t val;
	const char *json;
	const char *text;
};

extern const struct rb_name names_node_type[];
extern const struct rb_name names_transport[];
extern const struct rb_name names_port_state[];
extern const struct rb_name names_phys_state[];
extern const struct rb_name names_link_layer[];
extern const struct rb_name names_gid_type[];
extern const struct rb_name names_atomic_cap[];
extern const struct rb_name names_width[];
extern const struct rb_name names_speed[];

/* The JSON string for val, or dflt when the table does not know it. */
const char *names_json(const struct rb_name *t, uint32_t val,
		       const char *dflt);
/* The text form of a JSON string from t (the string itself if unknown). */
const char *names_text(const struct rb_name *t, const char *json);
/* enum ibv_mtu to bytes; 0 when invalid. */
unsigned int names_mtu_bytes(uint32_t mtu);

/* ------------------------------------------------------------- print.c */

enum pr_fmt {
	PR_PLAIN = 0,
	PR_DURATION,		/* seconds as 1d02h03m04s */
	PR_HEX,			/* integer as 0x... */
};

#define PR_DETAIL	0x1	/* only with -d */
#define PR_COLON	0x2	/* "value:" (label ignored) */

struct pr_layout;

/* How one member of a JSON object appears in text. */
struct pr_field {
	const char *key;
	const char *label;		/* NULL: the value alone */
	unsigned int flags;
	enum pr_fmt fmt;
	const struct rb_name *names;	/* text form of an enum string */
	const struct pr_layout *sub;	/* object or array of objects, printed
					 * on the lines that follow */
};

struct pr_layout {
	const struct pr_field *fields;	/* NULL: every member, "key value" */
	unsigned int indent;		/* of a sub-layout, beyond its parent */
	unsigned int per_line;		/* wrap after this many fields (0: no) */
	bool lines;			/* one "label value" per line */
};

/*
 * Prints doc, an object or an array of objects, as one JSON document or
 * as text following layout, then drops the reference to doc.  Returns
 * RDMACTL_OK, or RDMACTL_FAIL when stdout could not be written.
 */
int pr_output(const struct rdmactl *rc, struct json_object *doc,
	      const struct pr_layout *layout);

/* Helpers for building documents. */
void pr_add_str(struct json_object *o, const char *key, const char *val);
void pr_add_int(struct json_object *o, const char *key, int64_t val);
void pr_add_u64(struct json_object *o, const char *key, uint64_t val);
void pr_add_bool(struct json_object *o, const char *key, bool val);
/* GUID as ibv_devinfo prints it: xxxx:xxxx:xxxx:xxxx. */
void pr_add_guid(struct json_object *o, const char *key, uint64_t guid);
/* Unix time as ISO 8601 local time, e.g. 2024-05-01T12:00:00+02:00. */
void pr_add_time(struct json_object *o, const char *key, uint64_t t);

#endif /* RB_RDMACTL_H */
