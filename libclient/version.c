/* SPDX-License-Identifier: MIT */
#include "config.h"

#include "libclient/client.h"
#include "libclient/rdmabroker.h"

RB_EXPORT const char *rdmab_version(void)
{
	return PACKAGE_VERSION;
}
