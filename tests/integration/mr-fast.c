/* SPDX-License-Identifier: MIT */
/*
 * The fast registration path of librdmabroker (libclient/mr.c), against a
 * real daemon (tests/integration/mr-fast.sh; RB_DAEMON_PID).  One mode per run:
 *
 *   query  memory is told apart by PROCMAP_QUERY on one /proc/self/maps
 *          fd the library keeps (on a kernel without it: as in text);
 *   text   a seccomp filter fails that ioctl with ENOTTY, as an older
 *          kernel does: the library reads /proc/self/maps as text and
 *          keeps no maps fd.
 *
 * In both: every kind of memory is re-backed (plain private anonymous
 * read-write memory) or registered by CMA (anything else) as before, or
 * refused (a hole); addresses and contents survive registration and
 * deregistration; repeated and overlapping registrations in random order
 * leave each page re-backed exactly while a region covers it; a child
 * forked after deregistration gets a private copy, one forked while a
 * region was registered cannot write into a later region of its parent,
 * and a child's own registrations see its own address space; a maps fd
 * the program closed (its number reused) is let go of, not closed; the daemon
 * maps the registered pages and lets go of every one.  Exit 0 pass, 1 fail.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/filter.h>
#include <linux/seccomp.h>

#include <infiniband/verbs.h>

#include "tests/lib/clienttest.h"
#include "tests/lib/rng.h"

#ifndef PROCMAP_QUERY
struct procmap_query {
	uint64_t size, query_flags, query_addr, vma_start, vma_end, vma_flags;
	uint64_t vma_page_size, vma_offset, inode;
	uint32_t dev_major, dev_minor, vma_name_size, build_id_size;
	uint64_t vma_name_addr, build_id_addr;
};
#define PROCMAP_QUERY _IOWR('f', 17, struct procmap_query)
#endif
#ifndef PR_SET_VMA
#define PR_SET_VMA		0x53564d41
#define PR_SET_VMA_ANON_NAME	0
#endif

#define CHECK(cond, ...) do { if (!(cond)) { \
	fprintf(stderr, "mr-fast: FAIL (line %d): ", __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } } while (0)

#define ACC (IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE | IBV_ACCESS_REMOTE_READ)

enum kind { MEMFD, CMA, REFUSED };

static struct ibv_device **list;
static struct ibv_context *ctx;
static struct ibv_pd *pd;
static size_t page;
static bool text_mode;

static void fill(unsigned char *p, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)(seed + i * 7 + (i >> 12));
}

static void check(const unsigned char *p, size_t n, unsigned int seed, const char *what)
{
	for (size_t i = 0; i < n; i++)
		CHECK(p[i] == (unsigned char)(seed + i * 7 + (i >> 12)),
		      "%s: byte %zu is %u, want %u", what, i, p[i],
		      (unsigned char)(seed + i * 7 + (i >> 12)));
}

/* Is the page at p re-backed: in a mapping of the library's arena memfd? */
static bool rebacked(const void *p)
{
	uintptr_t a = (uintptr_t)p, lo, hi;
	char line[512];
	bool yes = false;
	FILE *f = fopen("/proc/self/maps", "re");

	CHECK(f, "open /proc/self/maps");
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "%lx-%lx", &lo, &hi) == 2 && a >= lo && a < hi) {
			yes = strstr(line, "/memfd:rdmabroker-mr") != NULL;
			break;
		}
	fclose(f);
	return yes;
}

/* Our fds open on a /proc/PID/maps file; *own: how many are this process's. */
static int maps_fds(int *own)
{
	char path[300], link[256], want[64];
	struct dirent *e;
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	CHECK(d, "opendir /proc/self/fd");
	snprintf(want, sizeof(want), "/proc/%d/maps", (int)getpid());
	*own = 0;
	while ((e = readdir(d))) {
		ssize_t k;

		snprintf(path, sizeof(path), "/proc/self/fd/%s", e->d_name);
		k = readlink(path, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		link[k] = '\0';
		if (strncmp(link, "/proc/", 6) || !strstr(link, "/maps"))
			continue;
		n++;
		*own += strcmp(link, want) == 0;
	}
	closedir(d);
	return n;
}

/* The number of our first fd open on our /proc/PID/maps, or -1. */
static int maps_fd_number(void)
{
	char path[64], link[256], want[64];
	int found = -1;

	snprintf(want, sizeof(want), "/proc/%d/maps", (int)getpid());
	for (int fd = 0; fd < 1024 && found < 0; fd++) {
		ssize_t k;

		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		k = readlink(path, link, sizeof(link) - 1);
		if (k <= 0)
			continue;
		link[k] = '\0';
		if (strcmp(link, want) == 0)
			found = fd;
	}
	return found;
}

static int daemon_maps(void)
{
	const char *pid = getenv("RB_DAEMON_PID");

	return pid ? ct_memfd_maps(pid, "rdmabroker-mr") : 0;
}

/* Does this kernel answer PROCMAP_QUERY (and not our filter)? */
static bool kernel_has_query(void)
{
	struct procmap_query q = { .size = sizeof(q), .query_addr = (uintptr_t)&q };
	int fd = open("/proc/self/maps", O_RDONLY | O_CLOEXEC);
	bool yes;

	CHECK(fd >= 0, "open /proc/self/maps");
	yes = ioctl(fd, PROCMAP_QUERY, &q) == 0;
	close(fd);
	return yes;
}

/* text mode: ioctl(PROCMAP_QUERY) fails with ENOTTY, like an older kernel. */
static void filter_query(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_ioctl, 0, 3),
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
#else
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1]) + 4),
#endif
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)PROCMAP_QUERY, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOTTY),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = { .len = sizeof(f) / sizeof(f[0]), .filter = f };

	CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "no_new_privs: %s", strerror(errno));
	CHECK(prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0, "seccomp: %s",
	      strerror(errno));
	CHECK(!kernel_has_query(), "the filter does not stop PROCMAP_QUERY");
}

static void *map(size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, flags | MAP_ANONYMOUS, -1, 0);

	CHECK(p != MAP_FAILED, "mmap: %s", strerror(errno));
	return p;
}

/*
 * Register [p, p + len) (its bytes filled beforehand if it is writable
 * and mapped), expect it to be of kind want, write it while registered if
 * it is writable, deregister, and check the bytes and the pages.
 */
static void one(const char *what, unsigned char *p, size_t len, bool writable,
		enum kind want)
{
	int d0 = daemon_maps();
	struct ibv_mr *mr;

	if (writable && want != REFUSED)
		fill(p, len, 3);
	errno = 0;
	mr = ibv_reg_mr(pd, p, len, writable ? ACC : 0);
	if (want == REFUSED) {
		CHECK(!mr && errno == EFAULT, "%s: registered, or errno %d not EFAULT",
		      what, errno);
		return;
	}
	CHECK(mr, "%s: ibv_reg_mr: %s", what, strerror(errno));
	CHECK(mr->addr == p && mr->length == len, "%s: address or length changed", what);
	CHECK(rebacked(p) == (want == MEMFD) && rebacked(p + len - 1) == (want == MEMFD),
	      "%s: %s, want %s", what, rebacked(p) ? "re-backed" : "not re-backed",
	      want == MEMFD ? "re-backed" : "CMA");
	if (want == MEMFD)
		CHECK(daemon_maps() > d0, "%s: the daemon does not map the pages", what);
	if (writable) {
		check(p, len, 3, what);
		fill(p, len, 4);
	}
	CHECK(ibv_dereg_mr(mr) == 0, "%s: ibv_dereg_mr", what);
	CHECK(!rebacked(p) && !rebacked(p + len - 1), "%s: still re-backed", what);
	CHECK(daemon_maps() == d0, "%s: daemon arena mappings %d -> %d", what, d0,
	      daemon_maps());
	if (writable) {
		check(p, len, 4, what);
		fill(p, len, 5);	/* and writable as before */
		check(p, len, 5, what);
	}
}

/*
 * A program that closes the library's maps fd, and the number then names
 * another file: the library must neither close that file nor stop
 * querying, and registers as before.
 */
static void stolen_maps_fd(bool query)
{
	unsigned char *p = map(2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	int fd = maps_fd_number(), null, own;
	struct stat st;

	if (!query) {
		CHECK(fd < 0, "a maps fd is open where the query fails");
		munmap(p, 2 * page);
		return;
	}
	CHECK(fd >= 0, "no maps fd open");
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	CHECK(null >= 0 && dup3(null, fd, O_CLOEXEC) == fd, "dup3");
	close(null);
	one("the maps fd's number taken by /dev/null", p, 2 * page, true, MEMFD);
	CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode),
	      "the library closed or replaced a file it did not open");
	one("then again", p, 2 * page, true, MEMFD);
	CHECK(maps_fds(&own) == 1 && own == 1, "no maps fd of our own again");
	close(fd);
	munmap(p, 2 * page);
}

/* Every kind of memory, classified as it always was. */
static void kinds(void)
{
	unsigned char stackbuf[3 * 4096];
	unsigned char *h = malloc(3000), *a, *b;
	char path[] = "/tmp/mr-fast.XXXXXX";
	size_t big = 3u << 20;
	int fd;

	CHECK(h, "malloc");
	one("malloc'd", h + 5, 2900, true, MEMFD);
	free(h);
	a = map(6 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	one("anonymous, mid-page to mid-page", a + page + 10, 3 * page, true, MEMFD);
	one("anonymous, one page", a, page, true, MEMFD);
	munmap(a, 6 * page);
	a = map(big, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	one("anonymous, 3 MiB (more than one arena step)", a, big, true, MEMFD);
	munmap(a, big);

	one("the stack", stackbuf + 100, sizeof(stackbuf) - 200, true, CMA);
	a = map(2 * page, PROT_READ | PROT_WRITE, MAP_SHARED);
	one("shared anonymous", a, 2 * page, true, CMA);
	munmap(a, 2 * page);
	fd = mkstemp(path);
	CHECK(fd >= 0 && ftruncate(fd, (off_t)(2 * page)) == 0, "temporary file");
	unlink(path);
	a = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	CHECK(a != MAP_FAILED, "mmap of a file");
	one("a private file mapping", a, 2 * page, true, CMA);
	munmap(a, 2 * page);
	close(fd);
	a = map(2 * page, PROT_READ, MAP_PRIVATE);
	one("read-only anonymous", a, 2 * page, false, CMA);
	munmap(a, 2 * page);
	a = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE | PROT_EXEC,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (a != MAP_FAILED) {
		one("executable anonymous", a, 2 * page, true, CMA);
		munmap(a, 2 * page);
	}
	a = map(2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	if (prctl(PR_SET_VMA, PR_SET_VMA_ANON_NAME, (unsigned long)a, 2 * page,
		  (unsigned long)"mr-fast") == 0)
		one("named anonymous", a, 2 * page, true, CMA);
	munmap(a, 2 * page);

	/* Two mappings: private then shared (CMA); private then a hole. */
	a = map(3 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	b = mmap(a + 2 * page, page, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	CHECK(b == a + 2 * page, "mmap fixed");
	one("private then shared", a + page, 2 * page, true, CMA);
	one("the private part alone", a, 2 * page, true, MEMFD);
	munmap(b, page);
	one("private then a hole", a + page, 2 * page, true, REFUSED);
	munmap(a, 2 * page);
}

/*
 * Regions over 16 pages registered and deregistered in random order, some
 * over the same pages: each page is re-backed exactly while a region
 * covers it, and every byte stays what was last written.
 */
static void overlaps(void)
{
	enum { NPAGES = 16, NSLOTS = 8, ROUNDS = 400 };
	struct { struct ibv_mr *mr; size_t lo, hi; } slot[NSLOTS] = { { 0 } };
	unsigned char *p = map(NPAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	int d0 = daemon_maps();
	unsigned int seed = 9;

	fill(p, NPAGES * page, seed);
	for (int round = 0; round < ROUNDS; round++) {
		int s = (int)(rng() % NSLOTS);

		if (slot[s].mr) {
			CHECK(ibv_dereg_mr(slot[s].mr) == 0, "dereg");
			slot[s].mr = NULL;
		} else {
			size_t lo = rng() % (NPAGES * page - 1);
			size_t len = 1 + rng() % (NPAGES * page - lo < 5 * page ?
						  NPAGES * page - lo : 5 * page);

			/* Sometimes the same region again, or an earlier one's. */
			if (round % 7 == 3 && slot[(s + 1) % NSLOTS].mr) {
				lo = slot[(s + 1) % NSLOTS].lo;
				len = slot[(s + 1) % NSLOTS].hi - lo;
			}
			slot[s].mr = ibv_reg_mr(pd, p + lo, len, ACC);
			CHECK(slot[s].mr, "reg [%zu, %zu): %s", lo, lo + len, strerror(errno));
			slot[s].lo = lo;
			slot[s].hi = lo + len;
		}
		check(p, NPAGES * page, seed, "overlapping regions");
		for (size_t pg = 0; pg < NPAGES; pg++) {
			bool covered = false;

			for (int i = 0; i < NSLOTS; i++)
				covered |= slot[i].mr && slot[i].lo < (pg + 1) * page &&
					   slot[i].hi > pg * page;
			CHECK(rebacked(p + pg * page) == covered,
			      "round %d: page %zu %s", round, pg,
			      covered ? "not re-backed under a region" :
					"re-backed under no region");
		}
		fill(p, NPAGES * page, ++seed);
	}
	for (int i = 0; i < NSLOTS; i++)
		if (slot[i].mr)
			CHECK(ibv_dereg_mr(slot[i].mr) == 0, "dereg");
	check(p, NPAGES * page, seed, "after the last deregistration");
	CHECK(daemon_maps() == d0, "daemon arena mappings %d -> %d", d0, daemon_maps());
	munmap(p, NPAGES * page);
}

/* The same buffer, many times: bytes kept, nothing left behind. */
static void repeats(void)
{
	unsigned char *p = malloc(10000);
	int fds0, d0, self0;

	CHECK(p, "malloc");
	fill(p, 10000, 1);
	CHECK(ibv_dereg_mr(ibv_reg_mr(pd, p, 10000, ACC)) == 0, "first cycle");
	fds0 = ct_fds("self");
	d0 = daemon_maps();
	self0 = ct_memfd_maps("self", "rdmabroker-mr");
	for (unsigned int i = 0; i < 300; i++) {
		struct ibv_mr *mr = ibv_reg_mr(pd, p + i % 50, 10000 - i % 50, ACC);

		CHECK(mr, "cycle %u: %s", i, strerror(errno));
		check(p, 10000, i + 1, "repeated registration");
		fill(p, 10000, i + 2);
		CHECK(ibv_dereg_mr(mr) == 0, "cycle %u: dereg", i);
	}
	check(p, 10000, 301, "after the cycles");
	CHECK(ct_fds("self") == fds0, "fds %d -> %d", fds0, ct_fds("self"));
	CHECK(daemon_maps() == d0, "daemon arena mappings %d -> %d", d0, daemon_maps());
	CHECK(ct_memfd_maps("self", "rdmabroker-mr") == self0, "own arena mappings");
	free(p);
}

static void wait_child(pid_t child, const char *what)
{
	int status;

	CHECK(waitpid(child, &status, 0) == child, "%s: waitpid", what);
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	      "%s: the child failed (status %#x)", what, status);
}

/* The child's own registrations: its own address space, its own maps fd. */
static void child_registers(void)
{
	struct ibv_device **l;
	struct ibv_context *c;
	struct ibv_pd *cpd;
	unsigned char *q;
	struct ibv_mr *mr;
	int own;

	/* Mapped after the fork: the parent's map does not have it. */
	q = map(2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill(q, 2 * page, 40);
	CHECK(ct_open(&l, &c) == 0, "child: open a device");
	cpd = ibv_alloc_pd(c);
	CHECK(cpd, "child: PD");
	mr = ibv_reg_mr(cpd, q, 2 * page, ACC);
	CHECK(mr, "child: a region mapped after the fork: %s", strerror(errno));
	CHECK(rebacked(q), "child: its region is not re-backed");
	CHECK(maps_fds(&own) == own && own == (text_mode || !kernel_has_query() ? 0 : 1),
	      "child: maps fds %d, %d of its own", maps_fds(&own), own);
	CHECK(ibv_dereg_mr(mr) == 0, "child: dereg");
	check(q, 2 * page, 40, "child: its region");
	CHECK(!rebacked(q), "child: still re-backed");
	ibv_dealloc_pd(cpd);
	ct_close(l, c);
}

static void forks(void)
{
	unsigned char *p = malloc(100), *x, *y, go = 1;
	struct ibv_mr *mr;
	int pipefd[2];
	pid_t child;

	/* Deregistered: private again, the child's writes stay its own. */
	CHECK(p, "malloc");
	fill(p, 100, 11);
	mr = ibv_reg_mr(pd, p, 100, ACC);
	CHECK(mr && ibv_dereg_mr(mr) == 0, "reg/dereg");
	child = fork();
	CHECK(child >= 0, "fork");
	if (child == 0) {
		fill(p, 100, 12);
		_exit(0);
	}
	wait_child(child, "private after dereg");
	check(p, 100, 11, "the parent's copy after the child wrote its own");
	free(p);

	/*
	 * A child forked while x was registered shares x's arena pages (the
	 * documented caveat).  The parent deregisters x and registers y: the
	 * child's writes to its x must not land in y, nor in the parent's x.
	 */
	x = map(4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	y = map(4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill(x, 4 * page, 21);
	mr = ibv_reg_mr(pd, x, 4 * page, ACC);
	CHECK(mr, "reg x");
	CHECK(pipe(pipefd) == 0, "pipe");
	child = fork();
	CHECK(child >= 0, "fork");
	if (child == 0) {
		close(pipefd[1]);
		if (read(pipefd[0], &go, 1) != 1)
			_exit(1);
		memset(x, 0xee, 4 * page);
		_exit(0);
	}
	close(pipefd[0]);
	CHECK(ibv_dereg_mr(mr) == 0, "dereg x");
	fill(y, 4 * page, 22);
	mr = ibv_reg_mr(pd, y, 4 * page, ACC);
	CHECK(mr, "reg y");
	CHECK(write(pipefd[1], &go, 1) == 1, "pipe write");
	close(pipefd[1]);
	wait_child(child, "a child with the parent's old region");
	check(y, 4 * page, 22, "a later region after the child wrote its old one");
	check(x, 4 * page, 21, "the parent's old region after the child wrote its own");
	CHECK(ibv_dereg_mr(mr) == 0, "dereg y");
	check(y, 4 * page, 22, "y after dereg");
	munmap(x, 4 * page);
	munmap(y, 4 * page);

	/* A child registers memory of its own through a context of its own. */
	child = fork();
	CHECK(child >= 0, "fork");
	if (child == 0) {
		child_registers();
		_exit(0);
	}
	wait_child(child, "a child's own registration");
}

int main(int argc, char **argv)
{
	bool query;
	int own, n;

	if (argc != 2 || (strcmp(argv[1], "query") && strcmp(argv[1], "text"))) {
		fprintf(stderr, "usage: mr-fast query|text\n");
		return 2;
	}
	text_mode = strcmp(argv[1], "text") == 0;
	page = (size_t)sysconf(_SC_PAGESIZE);
	rng_state = 0x6d72666173ull;
	if (text_mode)
		filter_query();
	query = !text_mode && kernel_has_query();
	if (!text_mode && !query)
		printf("mr-fast: this kernel has no PROCMAP_QUERY: the text path twice\n");
	CHECK(ct_open(&list, &ctx) == 0, "open a device");
	pd = ibv_alloc_pd(ctx);
	CHECK(pd, "PD");

	kinds();
	/* One maps fd, on our own map, kept; none where the query fails. */
	n = maps_fds(&own);
	CHECK(n == own && own == (query ? 1 : 0), "%d maps fds open (%d of our own), want %d",
	      n, own, query ? 1 : 0);
	stolen_maps_fd(query);
	overlaps();
	repeats();
	forks();
	n = maps_fds(&own);
	CHECK(n == own && own == (query ? 1 : 0), "after the forks: %d maps fds (%d our own)",
	      n, own);

	ibv_dealloc_pd(pd);
	ct_close(list, ctx);
	printf("mr-fast %s: memory kinds, overlaps, repeats and forks fine\n", argv[1]);
	return 0;
}
