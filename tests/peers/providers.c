/* SPDX-License-Identifier: MIT */
/*
 * rdma-core's provider libraries load on librdmabroker, and their direct
 * verbs refuse a broker device as they refuse any device of another vendor.
 *
 *   client-providers PROVIDER.so...
 *
 * Each argument is dlopen()ed with RTLD_NOW, so every private libibverbs
 * symbol it imports must resolve (libclient/private.c).  For libmlx5 and
 * libefa the entry points programs call first (mlx5dv_is_supported,
 * mlx5dv_open_device, mlx5dv_query_device, efadv_query_device) must say
 * "not mine" on rbsoft0.  Exit 0 pass, 1 fail.
 */
#include "config.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <infiniband/verbs.h>

#include "tests/lib/clienttest.h"

static int failures;

#define CHECK(cond, ...) do { if (!(cond)) { \
	fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); failures++; } } while (0)

/* The struct arguments are only written by a provider that owns the device. */
static unsigned char scratch[4096];

static void check_mlx5(void *h, struct ibv_device *dev, struct ibv_context *ctx)
{
	bool (*is_supported)(struct ibv_device *) = (bool (*)(struct ibv_device *))dlsym(h, "mlx5dv_is_supported");
	struct ibv_context *(*open_device)(struct ibv_device *, void *) =
		(struct ibv_context *(*)(struct ibv_device *, void *))dlsym(h, "mlx5dv_open_device");
	int (*query)(struct ibv_context *, void *) =
		(int (*)(struct ibv_context *, void *))dlsym(h, "mlx5dv_query_device");

	CHECK(is_supported && open_device && query, "mlx5dv symbols missing");
	if (!is_supported || !open_device || !query)
		return;
	CHECK(!is_supported(dev), "mlx5dv_is_supported(rbsoft0) is true");
	errno = 0;
	CHECK(open_device(dev, scratch) == NULL && errno == EOPNOTSUPP,
	      "mlx5dv_open_device: errno %d", errno);
	CHECK(query(ctx, scratch) == EOPNOTSUPP, "mlx5dv_query_device");
}

static void check_efa(void *h, struct ibv_context *ctx)
{
	int (*query)(struct ibv_context *, void *, uint32_t) =
		(int (*)(struct ibv_context *, void *, uint32_t))dlsym(h, "efadv_query_device");

	CHECK(query != NULL, "efadv_query_device missing");
	if (query)
		CHECK(query(ctx, scratch, 32) == EOPNOTSUPP, "efadv_query_device");
}

int main(int argc, char **argv)
{
	struct ibv_device **list;
	struct ibv_context *ctx;
	int i, loaded = 0;

	if (ct_open(&list, &ctx) < 0) {
		fprintf(stderr, "no broker device\n");
		return 1;
	}
	for (i = 1; i < argc; i++) {
		const char *base = strrchr(argv[i], '/');
		void *h = dlopen(argv[i], RTLD_NOW | RTLD_LOCAL);

		base = base ? base + 1 : argv[i];
		CHECK(h != NULL, "dlopen %s: %s", argv[i], dlerror());
		if (!h)
			continue;
		loaded++;
		if (!strncmp(base, "libmlx5", 7))
			check_mlx5(h, ctx->device, ctx);
		else if (!strncmp(base, "libefa", 6))
			check_efa(h, ctx);
		/* Providers stay loaded, as libibverbs keeps them. */
	}
	/* The broker's own verbs still work after the constructors ran. */
	{
		struct ibv_pd *pd = ibv_alloc_pd(ctx);

		CHECK(pd != NULL, "ibv_alloc_pd after loading providers");
		if (pd)
			ibv_dealloc_pd(pd);
	}
	ct_close(list, ctx);
	printf("loaded %d providers, %d failures\n", loaded, failures);
	return failures ? 1 : 0;
}
