/* SPDX-License-Identifier: MIT */
/*
 * Memory registration.  The daemon's engine moves data straight between
 * registered buffers, so it needs the pages themselves: the pages of a
 * region of ordinary private anonymous memory (malloc, memalign, mmap)
 * are re-backed, in place, by pages of one memfd per process (the arena)
 * holding the same bytes, and the daemon gets the arena and where the
 * region's pages are in it.  The address and the contents stay what they
 * were; the pages become shared with the daemon.  Regions may share pages
 * and overlap in any way.  When the last region on a page is deregistered
 * it becomes private anonymous memory again, with its contents.
 *
 * Memory that must not be re-backed (file or shared mappings, the stack,
 * anything but plain read-write private anonymous memory) is registered
 * in CMA mode instead: the daemon reaches it through this process's
 * /proc/self/mem, which goes with the request (see rbc_cma_fd).
 *
 * Caveats, as in librdmabroker(7): while the pages are re-backed, a child
 * made by fork() shares them instead of getting a copy (ibv_fork_init()
 * makes them not inherited at all, as libibverbs does); and a thread that
 * writes to a buffer while another registers it may lose that write.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "libclient/client.h"

#define RBC_ACCESS_KNOWN (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | \
			  IBV_ACCESS_REMOTE_READ | IBV_ACCESS_REMOTE_ATOMIC | \
			  IBV_ACCESS_MW_BIND | RB_ACCESS_FLUSH_GLOBAL | \
			  RB_ACCESS_FLUSH_PERSISTENT)

/*
 * The arena: one memfd per process, grown in steps as pages are
 * registered, sealed against shrinking.  A run is a stretch of the
 * process's pages re-backed by a stretch of the arena; runs are split at
 * region boundaries so each counts the regions on it exactly.  New runs
 * go at the end of what is in use; a run freed at that end gives its
 * space back, and its pages stay for the next run, up to RBC_ARENA_SPARE
 * (a registration loop then neither frees nor allocates a page); any other
 * freed run's pages are released at once.
 */
#define RBC_ARENA_STEP	(1u << 20)
#define RBC_ARENA_SPARE	(64u << 10)

struct rbc_run {
	TAILQ_ENTRY(rbc_run) link;	/* sorted by start, never overlapping */
	uintptr_t start;		/* page aligned */
	size_t len;			/* page multiple */
	uint64_t off;			/* in the arena */
	unsigned int refs;		/* regions on these pages */
};

struct rbc_mr {
	struct ibv_mr mr;		/* must be first */
	uintptr_t start, end;		/* its pages, if re-backed (MEMFD) */
	bool memfd;
};

static pthread_mutex_t rbc_arena_lock = PTHREAD_MUTEX_INITIALIZER;
static int rbc_arena_fd = -1;
static uint64_t rbc_arena_ino;		/* the arena memfd's inode, or 0 */
static uint64_t rbc_parent_ino;		/* our parent's arena (fork), or 0 */
static uint64_t rbc_arena_size;		/* the memfd's size */
static uint64_t rbc_arena_used;		/* [0, used) holds the runs */
static uint64_t rbc_arena_dirty;	/* [used, dirty): freed, pages kept */
static uint64_t rbc_arena_floor;	/* below: never reused (a child's) */
static TAILQ_HEAD(rbc_runs, rbc_run) rbc_runs = TAILQ_HEAD_INITIALIZER(rbc_runs);

enum rbc_span {
	RBC_SPAN_ANON,			/* private anonymous read-write (or ours) */
	RBC_SPAN_OTHER,			/* anything else: CMA */
	RBC_SPAN_UNMAPPED,		/* a hole: EFAULT */
};

/*
 * PROCMAP_QUERY (Linux 6.11): one VMA of a /proc/PID/maps file by address,
 * without formatting the whole map as text.  Older headers lack it; the
 * layout and number are the kernel's ABI.
 */
#ifndef PROCMAP_QUERY
struct procmap_query {
	uint64_t size;
	uint64_t query_flags;
	uint64_t query_addr;
	uint64_t vma_start;
	uint64_t vma_end;
	uint64_t vma_flags;
	uint64_t vma_page_size;
	uint64_t vma_offset;
	uint64_t inode;
	uint32_t dev_major;
	uint32_t dev_minor;
	uint32_t vma_name_size;
	uint32_t build_id_size;
	uint64_t vma_name_addr;
	uint64_t build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#define PROCMAP_QUERY_VMA_READABLE	0x01
#define PROCMAP_QUERY_VMA_WRITABLE	0x02
#define PROCMAP_QUERY_VMA_EXECUTABLE	0x04
#define PROCMAP_QUERY_VMA_SHARED	0x08
#endif

/*
 * Our /proc/self/maps, kept open for PROCMAP_QUERY (under rbc_arena_lock).
 * /proc/self is resolved at open: the file is bound to this address space,
 * so a forked child closes it (rbc_arena_atfork_child) and opens its own.
 */
static int rbc_maps_fd = -1;
static dev_t rbc_maps_dev;		/* what rbc_maps_fd was opened on */
static ino_t rbc_maps_ino;
static bool rbc_maps_noquery;		/* the kernel has no PROCMAP_QUERY */

static void rbc_arena_atfork_once(void);

/* What one mapping is, from its permissions, inode and name. */
static enum rbc_span rbc_classify_one(bool rw_private, uint64_t inode,
				      const char *path)
{
	/*
	 * Pages of our arena already (or of the arena of the process we were
	 * forked from, whose pages a child shares until it registers them).
	 * Another process's arena by the same name is not ours to re-back:
	 * a broker daemon that registers a client's memory it has mapped
	 * (the verbs driver, nested on another broker) must keep sharing it.
	 */
	if (strstr(path, "/memfd:rdmabroker-mr") && inode &&
	    (inode == rbc_arena_ino || inode == rbc_parent_ino))
		return RBC_SPAN_ANON;
	if (!rw_private || inode != 0 || (path[0] && !strstr(path, "[heap]")))
		return RBC_SPAN_OTHER;
	return RBC_SPAN_ANON;
}

/* Open our maps file for queries; -1 if it cannot be. */
static int rbc_maps_open(void)
{
	struct stat st;

	rbc_arena_atfork_once();
	rbc_maps_fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	if (rbc_maps_fd < 0)
		return -1;
	if (fstat(rbc_maps_fd, &st) < 0) {
		close(rbc_maps_fd);
		rbc_maps_fd = -1;
		return -1;
	}
	rbc_maps_dev = st.st_dev;
	rbc_maps_ino = st.st_ino;
	return 0;
}

/*
 * A query failed with err: let go of the fd, closing it only if it still
 * is the file we opened (the program may have closed it and the number
 * gone to another file), and query no more if the kernel cannot.
 */
static void rbc_maps_drop(int err)
{
	struct stat st;

	if (fstat(rbc_maps_fd, &st) == 0 && st.st_dev == rbc_maps_dev &&
	    st.st_ino == rbc_maps_ino) {
		if (err == ENOTTY || err == EINVAL || err == EOPNOTSUPP)
			rbc_maps_noquery = true;	/* an older kernel */
		close(rbc_maps_fd);
	}
	rbc_maps_fd = -1;
}

/*
 * What [start, end) is, by PROCMAP_QUERY, mapping by mapping: 0 with *kind,
 * or -1 when the query cannot answer (the caller reads the text instead).
 */
static int rbc_classify_query(uintptr_t start, uintptr_t end, enum rbc_span *kind)
{
	uintptr_t covered = start;
	/* Zeroed: tools that do not know the ioctl (valgrind) see it written. */
	char name[256] = { 0 };

	*kind = RBC_SPAN_ANON;
	if (rbc_maps_noquery)
		return -1;
	if (rbc_maps_fd < 0 && rbc_maps_open() < 0)
		return -1;
	while (covered < end) {
		struct procmap_query q = {
			.size = sizeof(q),
			.query_addr = covered,
			.vma_name_addr = (uintptr_t)name,
			.vma_name_size = sizeof(name),
		};
		bool rw_private;

		if (ioctl(rbc_maps_fd, PROCMAP_QUERY, &q) < 0) {
			if (errno == ENOENT) {
				*kind = RBC_SPAN_UNMAPPED;	/* a hole */
				return 0;
			}
			if (errno == ENAMETOOLONG) {
				/* A long path: a file, so not ours; where does it end? */
				q.vma_name_addr = 0;
				q.vma_name_size = 0;
				if (ioctl(rbc_maps_fd, PROCMAP_QUERY, &q) == 0)
					goto got;
			}
			rbc_maps_drop(errno);
			return -1;
		}
got:
		if (q.vma_name_size == 0)
			name[0] = '\0';
		name[sizeof(name) - 1] = '\0';
		if (q.vma_end <= covered || q.vma_start > covered)
			return -1;		/* not an answer to the question */
		covered = (uintptr_t)q.vma_end;
		rw_private = (q.vma_flags & (PROCMAP_QUERY_VMA_READABLE |
					     PROCMAP_QUERY_VMA_WRITABLE |
					     PROCMAP_QUERY_VMA_EXECUTABLE |
					     PROCMAP_QUERY_VMA_SHARED)) ==
			     (PROCMAP_QUERY_VMA_READABLE | PROCMAP_QUERY_VMA_WRITABLE);
		if (rbc_classify_one(rw_private, q.inode, name) == RBC_SPAN_OTHER)
			*kind = RBC_SPAN_OTHER;
	}
	return 0;
}

/* What [start, end) is, from the text of /proc/self/maps. */
static enum rbc_span rbc_classify_text(uintptr_t start, uintptr_t end)
{
	FILE *f = fopen("/proc/self/maps", "re");
	enum rbc_span kind = RBC_SPAN_ANON;
	uintptr_t covered = start;
	char line[512];

	if (!f)
		return RBC_SPAN_OTHER;
	while (covered < end && fgets(line, sizeof(line), f)) {
		uintptr_t lo, hi;
		char perms[8], path[256] = "";
		unsigned long long off, inode;
		unsigned int maj, min;
		int n;

		n = sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %llx %x:%x %llu %255[^\n]",
			   &lo, &hi, perms, &off, &maj, &min, &inode, path);
		if (n < 7 || hi <= covered)
			continue;
		if (lo > covered)
			break;		/* a hole */
		covered = hi;
		if (rbc_classify_one(strcmp(perms, "rw-p") == 0, inode, path) ==
		    RBC_SPAN_OTHER)
			kind = RBC_SPAN_OTHER;
	}
	fclose(f);
	return covered < end ? RBC_SPAN_UNMAPPED : kind;
}

/* What [start, end) is: one query per mapping, or the text if need be. */
static enum rbc_span rbc_classify(uintptr_t start, uintptr_t end)
{
	enum rbc_span kind;

	if (rbc_classify_query(start, end, &kind) == 0)
		return kind;
	return rbc_classify_text(start, end);
}

/*
 * Copy whole pages.  They hold more than the region (other heap objects,
 * allocator metadata, a sanitizer's redzones): that is the point, so the
 * sanitizer must not check this copy, and it must not become a memcpy
 * call it would intercept.
 */
__attribute__((no_sanitize_address))
static void rbc_copy_pages(void *dst, const void *src, size_t len)
{
	volatile uint64_t *d = dst;
	const volatile uint64_t *s = src;

	for (size_t i = 0; i < len / sizeof(uint64_t); i++)
		d[i] = s[i];
}

/*
 * A forked child must not grow its parent's arena: both would append at
 * the same offsets and share the pages of every later registration.  The
 * child starts without an arena; the runs it inherited belong to the
 * parent's regions, which it cannot use (its contexts are the parent's).
 * The child may still map the arena pages of the runs the parent had at
 * the fork (unless ibv_fork_init made them not inherited): the parent
 * never gives that arena space to a later run (rbc_arena_floor), so what
 * the child writes there lands in no later region of the parent.
 */
static void rbc_arena_atfork_prepare(void)
{
	pthread_mutex_lock(&rbc_arena_lock);
}

static void rbc_arena_atfork_parent(void)
{
	rbc_arena_floor = rbc_arena_used;
	pthread_mutex_unlock(&rbc_arena_lock);
}

static void rbc_arena_atfork_child(void)
{
	struct rbc_run *r;

	pthread_mutex_init(&rbc_arena_lock, NULL);
	if (rbc_arena_fd >= 0)
		close(rbc_arena_fd);
	rbc_arena_fd = -1;
	if (rbc_arena_ino)
		rbc_parent_ino = rbc_arena_ino;
	rbc_arena_ino = 0;
	rbc_arena_size = rbc_arena_used = rbc_arena_dirty = rbc_arena_floor = 0;
	/* The parent's map, not ours. */
	if (rbc_maps_fd >= 0)
		close(rbc_maps_fd);
	rbc_maps_fd = -1;
	while ((r = TAILQ_FIRST(&rbc_runs))) {
		TAILQ_REMOVE(&rbc_runs, r, link);
		free(r);
	}
}

static void rbc_arena_atfork_register(void)
{
	pthread_atfork(rbc_arena_atfork_prepare, rbc_arena_atfork_parent,
		       rbc_arena_atfork_child);
}

/* Before the arena or the maps fd is opened: a child must let go of them. */
static void rbc_arena_atfork_once(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	pthread_once(&once, rbc_arena_atfork_register);
}

static int rbc_arena_open(void)
{
	struct stat st;

	if (rbc_arena_fd >= 0)
		return 0;
	rbc_arena_atfork_once();
	rbc_arena_fd = memfd_create("rdmabroker-mr", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (rbc_arena_fd < 0)
		return -1;
	/* It may grow; it must never shrink under the daemon's mappings. */
	if (fcntl(rbc_arena_fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0 ||
	    fstat(rbc_arena_fd, &st) < 0) {
		close(rbc_arena_fd);
		rbc_arena_fd = -1;
		return -1;
	}
	rbc_arena_ino = (uint64_t)st.st_ino;
	return 0;
}

/* Split the run containing at (strictly inside it) in two. */
static int rbc_split_at(uintptr_t at)
{
	struct rbc_run *r, *n;

	TAILQ_FOREACH(r, &rbc_runs, link) {
		if (at <= r->start || at >= r->start + r->len)
			continue;
		n = malloc(sizeof(*n));
		if (!n)
			return -1;
		*n = *r;
		n->start = at;
		n->len = r->start + r->len - at;
		n->off = r->off + (at - r->start);
		r->len = at - r->start;
		TAILQ_INSERT_AFTER(&rbc_runs, r, n, link);
		return 0;
	}
	return 0;
}

/*
 * Move len bytes between buf and the arena at off, with no mapping of the
 * arena in between (each mapping made and unmapped costs a TLB flush, and
 * the kernel reads and writes the arena's pages through its own mapping).
 * A raw system call: buf is whole pages, more than the region, and a
 * sanitizer's pread/pwrite would check what is not ours to check (see
 * rbc_copy_pages).  0, or -1 with errno: the caller copies another way.
 */
static int rbc_arena_io(bool write, void *buf, size_t len, uint64_t off)
{
#if defined(SYS_pwrite64) && defined(SYS_pread64) && __SIZEOF_LONG__ == 8
	while (len) {
		long n = syscall(write ? SYS_pwrite64 : SYS_pread64, rbc_arena_fd,
				 buf, len, (long)off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf = (char *)buf + n;
		len -= (size_t)n;
		off += (uint64_t)n;
	}
	return 0;
#else
	(void)write;
	(void)buf;
	(void)len;
	(void)off;
	errno = ENOSYS;
	return -1;
#endif
}

/* Room for len bytes in the arena, at *off; -1 with errno if it cannot grow. */
static int rbc_arena_alloc(uint64_t len, uint64_t *off)
{
	uint64_t need = rbc_arena_used + len;

	if (need > rbc_arena_size) {
		uint64_t size = (need + RBC_ARENA_STEP - 1) & ~(uint64_t)(RBC_ARENA_STEP - 1);

		if (size > INT64_MAX) {
			errno = ENOMEM;
			return -1;
		}
		if (ftruncate(rbc_arena_fd, (off_t)size) < 0)
			return -1;
		rbc_arena_size = size;
	}
	*off = rbc_arena_used;
	rbc_arena_used = need;
	if (rbc_arena_dirty < rbc_arena_used)
		rbc_arena_dirty = rbc_arena_used;
	return 0;
}

/* Give [off, off + len) back; its pages go, unless kept as spare (above). */
static void rbc_arena_free(uint64_t off, uint64_t len)
{
	if (off + len == rbc_arena_used && off >= rbc_arena_floor) {
		rbc_arena_used = off;
		if (rbc_arena_dirty - rbc_arena_used <= RBC_ARENA_SPARE)
			return;
		off = rbc_arena_used;
		len = rbc_arena_dirty - off;
		rbc_arena_dirty = rbc_arena_used;
	}
	/* The arena keeps its size; the memory itself is released. */
	fallocate(rbc_arena_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
		  (off_t)off, (off_t)len);
}

/*
 * The mappings re-backing makes and undoes, as raw system calls, never
 * through the mmap, mremap and munmap a program may hook.  The pages keep
 * their address and bytes, so there is nothing for a hook to learn, and
 * hooks get it wrong: UCX's (ucm) pass mremap only four arguments on, so
 * MREMAP_FIXED moved the pages to whatever the fifth held (address 0),
 * the library took them as in place and released their arena pages, and
 * the buffer read zeros (tests/integration/mr-hooks); and each hooked
 * call made UCX drop and register the buffer again.
 */
#if __SIZEOF_LONG__ == 8 && defined(SYS_mmap) && defined(SYS_mremap) && defined(SYS_munmap)
static void *rbc_vm_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	/* syscall() gives -1, i.e. MAP_FAILED, with errno on failure. */
	return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
}

static void *rbc_vm_move(void *from, size_t len, void *to)
{
	return (void *)syscall(SYS_mremap, from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
}

static void rbc_vm_munmap(void *addr, size_t len)
{
	syscall(SYS_munmap, addr, len);
}
#else
static void *rbc_vm_mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	return mmap(addr, len, prot, flags, fd, off);
}

static void *rbc_vm_move(void *from, size_t len, void *to)
{
	return mremap(from, len, len, MREMAP_MAYMOVE | MREMAP_FIXED, to);
}

static void rbc_vm_munmap(void *addr, size_t len)
{
	munmap(addr, len);
}
#endif

/* Re-back [start, start + len) with new arena pages holding its bytes. */
static struct rbc_run *rbc_run_new(uintptr_t start, size_t len)
{
	struct rbc_run *r = calloc(1, sizeof(*r));
	uint64_t off;
	void *tmp;

	if (!r)
		return NULL;
	if (rbc_arena_alloc(len, &off) < 0) {
		free(r);
		return NULL;
	}
	/* Whole pages are written: a spare page's old bytes are all gone. */
	if (rbc_arena_io(true, (void *)start, len, off) == 0) {
		/* One step: the arena's pages, holding the bytes already, take
		 * the old ones' place, no hole between; populated, so the
		 * first access does not fault. */
		if (rbc_vm_mmap((void *)start, len, PROT_READ | PROT_WRITE,
				MAP_SHARED | MAP_FIXED | MAP_POPULATE, rbc_arena_fd,
				(off_t)off) == MAP_FAILED)
			goto err;
	} else {
		tmp = rbc_vm_mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
				  rbc_arena_fd, (off_t)off);
		if (tmp == MAP_FAILED)
			goto err;
		rbc_copy_pages(tmp, (void *)start, len);
		/* One step: the new pages take the old ones' place, no hole between. */
		if (rbc_vm_move(tmp, len, (void *)start) == MAP_FAILED) {
			rbc_vm_munmap(tmp, len);
			goto err;
		}
	}
	ibv_dontfork_range((void *)start, len);
	r->start = start;
	r->len = len;
	r->off = off;
	return r;
err:
	rbc_arena_free(off, len);
	free(r);
	return NULL;
}

/*
 * Runs no region uses any more: private anonymous pages again, same bytes.
 * Last first: the pieces of one run split at region boundaries then give
 * their arena space back from its end.
 */
static void rbc_runs_gc(void)
{
	struct rbc_run *r, *prev;

	for (r = TAILQ_LAST(&rbc_runs, rbc_runs); r; r = prev) {
		void *tmp;

		prev = TAILQ_PREV(r, rbc_runs, link);
		if (r->refs)
			continue;
		/* Populated: the copy below takes no page faults. */
		tmp = rbc_vm_mmap(NULL, r->len, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
		if (tmp == MAP_FAILED)
			continue;	/* keep the run: the memory stays valid */
		if (rbc_arena_io(false, tmp, r->len, r->off) < 0)
			rbc_copy_pages(tmp, (void *)r->start, r->len);
		if (rbc_vm_move(tmp, r->len, (void *)r->start) == MAP_FAILED) {
			rbc_vm_munmap(tmp, r->len);
			continue;
		}
		ibv_dofork_range((void *)r->start, r->len);
		rbc_arena_free(r->off, r->len);
		TAILQ_REMOVE(&rbc_runs, r, link);
		free(r);
	}
}

/*
 * Take a reference on every page of [start, end), re-backing those not
 * backed yet, and describe where they are in the arena: *x gets *nx
 * extents (free it).  -1 with errno on failure, nothing changed.
 */
static int rbc_runs_get(uintptr_t start, uintptr_t end,
			Rdmabroker__MrExtent **x, size_t *nx)
{
	struct rbc_run *r, *n;
	uintptr_t at = start;
	size_t cap = 0;
	int err;

	*x = NULL;
	*nx = 0;
	if (rbc_arena_open() < 0 || rbc_split_at(start) < 0 || rbc_split_at(end) < 0)
		return -1;
	/* Fill the gaps between existing runs inside [start, end). */
	r = TAILQ_FIRST(&rbc_runs);
	while (at < end) {
		while (r && r->start + r->len <= at)
			r = TAILQ_NEXT(r, link);
		if (r && r->start <= at) {
			at = r->start + r->len;
			continue;
		}
		{
			uintptr_t gap_end = r && r->start < end ? r->start : end;

			n = rbc_run_new(at, gap_end - at);
			if (!n)
				goto fail;
			if (r)
				TAILQ_INSERT_BEFORE(r, n, link);
			else
				TAILQ_INSERT_TAIL(&rbc_runs, n, link);
			at = gap_end;
		}
	}
	/* Every page is in a run now: list the extents, then count the region. */
	TAILQ_FOREACH(r, &rbc_runs, link) {
		if (r->start + r->len <= start || r->start >= end)
			continue;
		if (*nx && (*x)[*nx - 1].fd_offset + (*x)[*nx - 1].length == r->off &&
		    (*x)[*nx - 1].addr + (*x)[*nx - 1].length == r->start) {
			(*x)[*nx - 1].length += r->len;
			continue;
		}
		if (*nx == cap) {
			Rdmabroker__MrExtent *nxs;

			cap = cap ? cap * 2 : 4;
			nxs = realloc(*x, cap * sizeof(**x));
			if (!nxs) {
				errno = ENOMEM;
				goto fail;
			}
			*x = nxs;
		}
		rdmabroker__mr_extent__init(&(*x)[*nx]);
		(*x)[*nx].addr = r->start;
		(*x)[*nx].length = r->len;
		(*x)[*nx].fd_offset = r->off;
		(*nx)++;
	}
	TAILQ_FOREACH(r, &rbc_runs, link)
		if (r->start < end && r->start + r->len > start)
			r->refs++;
	return 0;

fail:
	err = errno;
	free(*x);
	*x = NULL;
	*nx = 0;
	rbc_runs_gc();	/* the runs made here have no region yet */
	errno = err;
	return -1;
}

/* Drop the region's reference on [start, end); pages no region uses go back. */
static void rbc_runs_put(uintptr_t start, uintptr_t end)
{
	struct rbc_run *r;

	rbc_split_at(start);
	rbc_split_at(end);
	TAILQ_FOREACH(r, &rbc_runs, link)
		if (r->start >= start && r->start + r->len <= end && r->refs)
			r->refs--;
	rbc_runs_gc();
}

/* Access flags as libibverbs takes them: 0, or an errno. */
static int rbc_check_access(unsigned int *access)
{
	/* Optional access bits may be ignored, as libibverbs allows. */
	*access &= ~(unsigned int)IBV_ACCESS_OPTIONAL_RANGE;
	if (*access & IBV_ACCESS_ON_DEMAND)
		return EOPNOTSUPP;
	if ((*access & ~(unsigned int)RBC_ACCESS_KNOWN) ||
	    ((*access & (IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_ATOMIC)) &&
	     !(*access & IBV_ACCESS_LOCAL_WRITE)))
		return EINVAL;
	return 0;
}

/*
 * Where [addr, addr + length) goes: re-backed (*memfd, with the extents)
 * or reached by CMA.  Called with rbc_arena_lock held; 0 or an errno.
 */
/*
 * What a CMA region goes with: this process's /proc/self/mem, through
 * which the daemon reaches it.  The file stays bound to this address
 * space, and only this process could open it, so the daemon needs no
 * privilege over us and cannot be pointed at another process.  -1 with
 * errno set if it cannot be opened.
 */
static int rbc_cma_fd(void)
{
	return open("/proc/self/mem", O_RDWR | O_CLOEXEC);
}

static int rbc_place(void *addr, size_t length, uintptr_t *start, uintptr_t *end,
		     bool *memfd, Rdmabroker__MrExtent **ext, size_t *next)
{
	long page = sysconf(_SC_PAGESIZE);

	if (!addr || !length || (uintptr_t)addr + length < (uintptr_t)addr)
		return EINVAL;
	*start = (uintptr_t)addr & ~(uintptr_t)(page - 1);
	*end = ((uintptr_t)addr + length + (uintptr_t)page - 1) & ~(uintptr_t)(page - 1);
	*memfd = false;
	switch (rbc_classify(*start, *end)) {
	case RBC_SPAN_UNMAPPED:
		return EFAULT;
	case RBC_SPAN_ANON:
		if (rbc_runs_get(*start, *end, ext, next) < 0)
			return errno;
		*memfd = true;
		break;
	case RBC_SPAN_OTHER:
		break;
	}
	return 0;
}

/* The extents as the message's pointer array (free it); NULL on ENOMEM. */
static Rdmabroker__MrExtent **rbc_extent_ptrs(Rdmabroker__MrExtent *ext, size_t n)
{
	Rdmabroker__MrExtent **p = calloc(n ? n : 1, sizeof(*p));

	for (size_t i = 0; p && i < n; i++)
		p[i] = &ext[i];
	return p;
}

/* A registered region as the daemon's reply describes it (reply freed). */
static struct ibv_mr *rbc_mr_done(struct rbc_mr *mr, struct ibv_pd *pd, void *addr,
				  size_t length, Rdmabroker__Reply *reply)
{
	mr->mr.context = pd->context;
	mr->mr.pd = pd;
	mr->mr.addr = addr;
	mr->mr.length = length;
	mr->mr.handle = reply->mr_reg->handle;
	mr->mr.lkey = reply->mr_reg->lkey;
	mr->mr.rkey = reply->mr_reg->rkey;
	rb_rpc_reply_free(reply);
	return &mr->mr;
}

RB_EXPORT struct ibv_mr *ibv_reg_mr_iova2(struct ibv_pd *pd, void *addr,
					  size_t length, uint64_t iova,
					  unsigned int access)
{
	struct rbc_context *c = to_rbc_context(pd->context);
	Rdmabroker__MrRegReq body = RDMABROKER__MR_REG_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__MrExtent *ext = NULL, **extp = NULL;
	Rdmabroker__Reply *reply;
	size_t next = 0;
	int cma_fd;
	struct rbc_mr *mr;
	int ret;

	ret = rbc_check_access(&access);
	if (ret) {
		errno = ret;
		return NULL;
	}
	mr = calloc(1, sizeof(*mr));
	if (!mr) {
		errno = ENOMEM;
		return NULL;
	}
	pthread_mutex_lock(&rbc_arena_lock);
	ret = rbc_place(addr, length, &mr->start, &mr->end, &mr->memfd, &ext, &next);
	if (ret)
		goto fail;
	body.pd = pd->handle;
	body.addr = (uintptr_t)addr;
	body.length = length;
	body.iova = iova;
	body.access = access;
	body.mode = mr->memfd ? RDMABROKER__MR_MODE__MR_MEMFD :
				RDMABROKER__MR_MODE__MR_CMA;
	if (mr->memfd) {
		extp = rbc_extent_ptrs(ext, next);
		if (!extp) {
			free(ext);
			ret = ENOMEM;
			goto fail_runs;
		}
		body.n_extents = next;
		body.extents = extp;
	}
	req.body_case = RDMABROKER__REQUEST__BODY_MR_REG;
	req.mr_reg = &body;
	cma_fd = mr->memfd ? -1 : rbc_cma_fd();
	if (!mr->memfd && cma_fd < 0) {
		ret = errno;
		free(extp);
		free(ext);
		goto fail_runs;
	}
	ret = rbc_call_send_fds(c, &req, &reply, mr->memfd ? &rbc_arena_fd : &cma_fd, 1);
	if (cma_fd >= 0)
		close(cma_fd);
	free(extp);
	free(ext);
	if (ret)
		goto fail_runs;
	pthread_mutex_unlock(&rbc_arena_lock);
	return rbc_mr_done(mr, pd, addr, length, reply);

fail_runs:
	if (mr->memfd)
		rbc_runs_put(mr->start, mr->end);
fail:
	pthread_mutex_unlock(&rbc_arena_lock);
	free(mr);
	errno = ret;
	return NULL;
}

/*
 * ibv_reg_dmabuf_mr: memory named by an fd and an offset, none of this
 * process's pages.  The broker's devices reach memory through memfds, so
 * the fd must be a memfd sealed against shrinking (F_SEAL_SHRINK), which
 * the daemon checks; a real dma-buf is refused (EINVAL).  A broker daemon
 * nested on this one (the verbs driver) registers its clients' memory
 * this way, so the pages stay shared rather than copied.
 */
RB_EXPORT struct ibv_mr *ibv_reg_dmabuf_mr(struct ibv_pd *pd, uint64_t offset,
					   size_t length, uint64_t iova, int fd,
					   int access)
{
	struct rbc_context *c = to_rbc_context(pd->context);
	Rdmabroker__MrRegReq body = RDMABROKER__MR_REG_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__MrExtent ext = RDMABROKER__MR_EXTENT__INIT, *extp = &ext;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned int acc = (unsigned int)access;
	Rdmabroker__Reply *reply;
	struct rbc_mr *mr;
	int ret;

	ret = rbc_check_access(&acc);
	if (!ret && (!length || fd < 0 || offset > INT64_MAX ||
		     length > INT64_MAX - offset - page))
		ret = EINVAL;
	if (ret) {
		errno = ret;
		return NULL;
	}
	mr = calloc(1, sizeof(*mr));
	if (!mr) {
		errno = ENOMEM;
		return NULL;
	}
	/* The region's "address" is its offset: the daemon maps the pages
	 * from there; the device addresses it by iova. */
	ext.addr = offset & ~(page - 1);
	ext.fd_offset = ext.addr;
	ext.length = ((offset + length + page - 1) & ~(page - 1)) - ext.addr;
	body.pd = pd->handle;
	body.addr = offset;
	body.length = length;
	body.iova = iova;
	body.access = acc;
	body.mode = RDMABROKER__MR_MODE__MR_MEMFD;
	body.n_extents = 1;
	body.extents = &extp;
	req.body_case = RDMABROKER__REQUEST__BODY_MR_REG;
	req.mr_reg = &body;
	ret = rbc_call_send_fds(c, &req, &reply, &fd, 1);
	if (ret) {
		free(mr);
		errno = ret;
		return NULL;
	}
	return rbc_mr_done(mr, pd, (void *)(uintptr_t)iova, length, reply);
}

#undef ibv_reg_mr
RB_EXPORT struct ibv_mr *ibv_reg_mr(struct ibv_pd *pd, void *addr,
				    size_t length, int access)
{
	return ibv_reg_mr_iova2(pd, addr, length, (uintptr_t)addr,
				(unsigned int)access);
}

#undef ibv_reg_mr_iova
RB_EXPORT struct ibv_mr *ibv_reg_mr_iova(struct ibv_pd *pd, void *addr,
					 size_t length, uint64_t iova,
					 int access)
{
	return ibv_reg_mr_iova2(pd, addr, length, iova, (unsigned int)access);
}

RB_EXPORT int ibv_dereg_mr(struct ibv_mr *ibmr)
{
	struct rbc_mr *mr = (struct rbc_mr *)ibmr;
	struct rbc_context *c = to_rbc_context(ibmr->context);
	Rdmabroker__MrDeregReq body = RDMABROKER__MR_DEREG_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	int ret;

	body.handle = ibmr->handle;
	req.body_case = RDMABROKER__REQUEST__BODY_MR_DEREG;
	req.mr_dereg = &body;
	ret = rbc_call_destroy(c, &req);
	if (ret)
		return ret;
	if (mr->memfd) {
		pthread_mutex_lock(&rbc_arena_lock);
		rbc_runs_put(mr->start, mr->end);
		pthread_mutex_unlock(&rbc_arena_lock);
	}
	free(mr);
	return 0;
}

/*
 * ibv_rereg_mr: the daemon changes the region in place (keys stay).  On a
 * refused request the region is as it was: IBV_REREG_MR_ERR_INPUT for
 * arguments, IBV_REREG_MR_ERR_CMD when the daemon refused, errno says why.
 */
RB_EXPORT int ibv_rereg_mr(struct ibv_mr *ibmr, int flags, struct ibv_pd *pd,
			   void *addr, size_t length, int access)
{
	struct rbc_mr *mr = (struct rbc_mr *)ibmr;
	struct rbc_context *c = to_rbc_context(ibmr->context);
	Rdmabroker__MrReregReq body = RDMABROKER__MR_REREG_REQ__INIT;
	Rdmabroker__Request req = RDMABROKER__REQUEST__INIT;
	Rdmabroker__MrExtent *ext = NULL, **extp = NULL;
	Rdmabroker__Reply *reply;
	const int known = IBV_REREG_MR_CHANGE_TRANSLATION | IBV_REREG_MR_CHANGE_PD |
			  IBV_REREG_MR_CHANGE_ACCESS;
	bool move = flags & IBV_REREG_MR_CHANGE_TRANSLATION, memfd = false;
	unsigned int acc = (unsigned int)access;
	uintptr_t start = 0, end = 0;
	size_t next = 0;
	int ret, cma_fd = -1;

	if (!flags || (flags & ~known) ||
	    ((flags & IBV_REREG_MR_CHANGE_PD) && (!pd || pd->context != ibmr->context))) {
		errno = EINVAL;
		return IBV_REREG_MR_ERR_INPUT;
	}
	if (flags & IBV_REREG_MR_CHANGE_ACCESS) {
		ret = rbc_check_access(&acc);
		if (ret) {
			errno = ret;
			return IBV_REREG_MR_ERR_INPUT;
		}
	}
	body.handle = ibmr->handle;
	body.flags = (uint32_t)flags;
	if (flags & IBV_REREG_MR_CHANGE_PD) {
		body.has_pd = 1;
		body.pd = pd->handle;
	}
	if (flags & IBV_REREG_MR_CHANGE_ACCESS) {
		body.has_access = 1;
		body.access = acc;
	}
	pthread_mutex_lock(&rbc_arena_lock);
	if (move) {
		ret = rbc_place(addr, length, &start, &end, &memfd, &ext, &next);
		if (ret) {
			pthread_mutex_unlock(&rbc_arena_lock);
			errno = ret;
			return IBV_REREG_MR_ERR_INPUT;
		}
		body.has_addr = body.has_length = body.has_mode = 1;
		body.addr = (uintptr_t)addr;
		body.length = length;
		body.mode = memfd ? RDMABROKER__MR_MODE__MR_MEMFD :
				    RDMABROKER__MR_MODE__MR_CMA;
		if (memfd) {
			extp = rbc_extent_ptrs(ext, next);
			if (!extp) {
				ret = ENOMEM;
				goto fail;
			}
			body.n_extents = next;
			body.extents = extp;
		}
	}
	req.body_case = RDMABROKER__REQUEST__BODY_MR_REREG;
	req.mr_rereg = &body;
	if (move && !memfd) {
		cma_fd = rbc_cma_fd();
		if (cma_fd < 0) {
			ret = errno;
			goto fail;
		}
	}
	ret = rbc_call_send_fds(c, &req, &reply, memfd ? &rbc_arena_fd : &cma_fd,
				memfd || cma_fd >= 0 ? 1 : 0);
	if (cma_fd >= 0)
		close(cma_fd);
	if (ret)
		goto fail;
	/* The old pages are no longer this region's; the new ones are. */
	if (move) {
		if (mr->memfd)
			rbc_runs_put(mr->start, mr->end);
		mr->start = start;
		mr->end = end;
		mr->memfd = memfd;
		ibmr->addr = addr;
		ibmr->length = length;
	}
	pthread_mutex_unlock(&rbc_arena_lock);
	if (flags & IBV_REREG_MR_CHANGE_PD)
		ibmr->pd = pd;
	ibmr->lkey = reply->mr_rereg->lkey;
	ibmr->rkey = reply->mr_rereg->rkey;
	rb_rpc_reply_free(reply);
	free(extp);
	free(ext);
	return 0;

fail:
	if (memfd)
		rbc_runs_put(start, end);
	pthread_mutex_unlock(&rbc_arena_lock);
	free(extp);
	free(ext);
	errno = ret;
	return IBV_REREG_MR_ERR_CMD;
}
