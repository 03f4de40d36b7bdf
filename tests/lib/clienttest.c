/* SPDX-License-Identifier: MIT */
#include "config.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tests/lib/clienttest.h"

int ct_open(struct ibv_device ***list, struct ibv_context **ctx)
{
	int n;

	*list = ibv_get_device_list(&n);
	if (!*list || n < 1)
		return -1;
	*ctx = ibv_open_device((*list)[0]);
	return *ctx ? 0 : -1;
}

void ct_close(struct ibv_device **list, struct ibv_context *ctx)
{
	ibv_close_device(ctx);
	ibv_free_device_list(list);
}

void ct_ready_and_wait(void)
{
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}

int ct_memfd_maps(const char *pid, const char *name)
{
	char path[64], want[96], line[512];
	FILE *f;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	snprintf(want, sizeof(want), "/memfd:%s", name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		n += strstr(line, want) != NULL;
	fclose(f);
	return n;
}

int ct_fds(const char *pid)
{
	char path[64];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%s/fd", pid);
	d = opendir(path);
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}
