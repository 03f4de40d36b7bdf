/* SPDX-License-Identifier: MIT */
/*
 * Shared rings (proto/shm.h): a sealed memfd, mapped and pre-faulted in the
 * daemon, whose fd goes to the client with the reply that creates the
 * queue.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "daemon/ring.h"

int ring_create(enum rb_ring_kind kind, uint32_t entries, uint32_t entry_size,
		struct rb_ring **ring, size_t *bytes, int *fd_out)
{
	size_t len = rb_ring_bytes(entries, entry_size);
	struct rb_ring *r;
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
	r = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		 fd, 0);
	if (r == MAP_FAILED) {
		ret = -errno;
		close(fd);
		return ret;
	}
	r->magic = RB_RING_MAGIC;
	r->abi_version = RB_SHM_ABI_VERSION;
	r->kind = (uint16_t)kind;
	r->entries = entries;
	r->entry_size = entry_size;
	*ring = r;
	*bytes = len;
	*fd_out = fd;
	return 0;
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
