/* SPDX-License-Identifier: MIT */
/*
 * Shared rings (proto/shm.h): a sealed memfd, mapped and pre-faulted in the
 * daemon, whose fd goes to the client with the reply that creates the
 * queue.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/objects.h"
#include "daemon/ring.h"

static void ring_init(struct rb_ring *r, enum rb_ring_kind kind,
		      uint32_t entries, uint32_t entry_size)
{
	r->magic = RB_RING_MAGIC;
	r->abi_version = RB_SHM_ABI_VERSION;
	r->kind = (uint16_t)kind;
	r->entries = entries;
	r->entry_size = entry_size;
	/* cq_push wakes a CQ's sleeping pollers (proto/shm.h) */
	r->features = kind == RB_RING_CQ ? RB_RING_FEAT_WAKE : 0;
}

/* A sealed memfd of len bytes mapped (pre-faulted) at *map; 0 or -errno. */
static int ring_memfd(size_t len, void **map, int *fd_out)
{
	void *p;
	int fd, ret;

	fd = memfd_create("rdmabroker-ring", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return -errno;
	/* Fixed size for both sides: neither can shrink it under the other. */
	if (ftruncate(fd, (off_t)len) < 0 ||
	    fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		 fd, 0);
	if (p == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	*map = p;
	*fd_out = fd;
	return 0;
}

int ring_create(enum rb_ring_kind kind, uint32_t entries, uint32_t entry_size,
		struct rb_ring **ring, size_t *bytes, int *fd_out)
{
	size_t len = rb_ring_bytes(entries, entry_size);
	void *p;
	int ret;

	ret = ring_memfd(len, &p, fd_out);
	if (ret < 0)
		return ret;
	ring_init(p, kind, entries, entry_size);
	*ring = p;
	*bytes = len;
	return 0;
}

int ring_create_pair(const struct ring_spec spec[2], struct rb_ring *ring[2],
		     size_t bytes[2], size_t *offset, int *fd_out)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p;
	int ret;

	bytes[0] = rb_ring_bytes(spec[0].entries, spec[0].entry_size);
	bytes[1] = rb_ring_bytes(spec[1].entries, spec[1].entry_size);
	*offset = (bytes[0] + page - 1) & ~(page - 1);
	ret = ring_memfd(*offset + bytes[1], &p, fd_out);
	if (ret < 0)
		return ret;
	ring[0] = p;
	ring[1] = (struct rb_ring *)((char *)p + *offset);
	for (int i = 0; i < 2; i++)
		ring_init(ring[i], spec[i].kind, spec[i].entries, spec[i].entry_size);
	return 0;
}

void ring_reset(struct rb_ring *r, enum rb_ring_kind kind, uint32_t entries,
		uint32_t entry_size)
{
	ring_init(r, kind, entries, entry_size);
	/* Plain stores: nobody uses the ring until the reply that hands it
	 * back goes out, and that is a system call. */
	r->prod = 0;
	r->cons = 0;
	r->flags = 0;
}

void ring_destroy(struct rb_ring *ring, size_t bytes)
{
	if (ring)
		munmap(ring, bytes);
}

uint32_t ring_pending(const struct rb_ring *r, uint32_t cons, uint32_t entries)
{
	uint32_t n = __atomic_load_n(&r->prod, __ATOMIC_ACQUIRE) - cons;

	return n > entries ? entries : n;
}

bool ring_wild(const struct rb_ring *r, uint32_t cons, uint32_t entries,
	       struct rb_res *owner, const char *what)
{
	char why[96];

	if (__atomic_load_n(&r->prod, __ATOMIC_ACQUIRE) - cons <= entries)
		return false;
	snprintf(why, sizeof(why), "%s producer index past its ring", what);
	res_kill_owner(owner, why);
	return true;
}
