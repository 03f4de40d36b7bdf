/* SPDX-License-Identifier: MIT */
/*
 * librdmabroker: the libibverbs API served by rdmabrokerd.
 *
 * Programs use <infiniband/verbs.h> exactly as with libibverbs and link
 * with -lrdmabroker (pkg-config librdmabroker), or run unchanged under
 * rdmab-run(1).  This header adds the little that is rdmabroker's own.
 * See librdmabroker(7).
 */
#ifndef RDMABROKER_H
#define RDMABROKER_H

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The library's version, e.g. "0.1.0".  Also a cheap way for a program to
 * tell that it runs on librdmabroker rather than libibverbs:
 * dlsym(RTLD_DEFAULT, "rdmab_version") is non-NULL.
 */
const char *rdmab_version(void);

#ifdef __cplusplus
}
#endif

#endif /* RDMABROKER_H */
