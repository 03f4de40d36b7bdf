/* SPDX-License-Identifier: MIT */
/*
 * The listening socket: our own, or the one systemd passes (socket
 * activation).  A socket systemd passed is systemd's: the daemon never
 * changes or removes its file.  Accepting pauses when the process is out
 * of fds and resumes shortly after.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/fsuid.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

#include "daemon/daemon.h"
#include "daemon/log.h"

#define LISTENER_RETRY_MS 100

static dev_t listener_dev;
static ino_t listener_ino;
/*
 * The socket's file, held (O_PATH) since bind: a reload changes its mode
 * and group through this, never by its path, which a user who can write
 * the socket's directory could have pointed at another file meanwhile.
 */
static int listener_node = -1;


static void listener_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct rb_daemon *d = arg;

	for (int i = 0; i < 64; i++) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			struct timeval tv = { 0, LISTENER_RETRY_MS * 1000 };

			if (errno == EAGAIN || errno == EINTR ||
			    errno == ECONNABORTED)
				return;
			if (errno == EMFILE || errno == ENFILE ||
			    errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered accept would spin: pause. */
				log_warn("accept: %s; pausing for %d ms",
					 strerror(errno), LISTENER_RETRY_MS);
				event_del(d->ev_accept);
				event_add(d->ev_accept_retry, &tv);
				return;
			}
			log_err("accept: %s", strerror(errno));
			return;
		}
		session_accept(d, fd);
	}
}

static void listener_retry_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rb_daemon *d = arg;

	event_add(d->ev_accept, NULL);
}

/* mkdir -p for the socket's parent directory. */
static int listener_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int listener_from_systemd(struct rb_daemon *d, int n)
{
	int fd = SD_LISTEN_FDS_START;
	int r;

	if (n > 1) {
		log_err("systemd passed %d sockets; rdmabrokerd takes exactly one", n);
		return -EINVAL;
	}
	r = sd_is_socket_unix(fd, SOCK_SEQPACKET, 1, NULL, 0);
	if (r < 0) {
		log_err("socket from systemd (fd %d): %s", fd, strerror(-r));
		return r;
	}
	if (r == 0) {
		log_err("socket from systemd (fd %d) is not a listening AF_UNIX SOCK_SEQPACKET socket (use ListenSequentialPacket=)",
			fd);
		return -EINVAL;
	}
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0) {
		int err = errno;

		log_err("socket from systemd: %s", strerror(err));
		return -err;
	}
	d->listen_fd = fd;
	d->socket_from_systemd = true;
	log_info("listening on the socket passed by systemd");
	return 0;
}

/* Refuse to replace anything but a stale socket of a dead daemon. */
static int listener_check_path(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd, ret, err;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode)) {
		log_err("%s exists and is not a socket; refusing to replace it",
			path);
		return -EEXIST;
	}
	strcpy(sa.sun_path, path);
	/* Non-blocking: a live daemon with a full backlog answers EAGAIN. */
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	ret = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	err = errno;
	close(fd);
	if (ret == 0 || err == EAGAIN) {
		log_err("another rdmabrokerd is already listening on %s", path);
		return -EADDRINUSE;
	}
	/* Only a refused connection proves nobody listens (EACCES does not). */
	if (err != ECONNREFUSED) {
		log_err("%s: cannot tell whether a daemon listens there (%s); refusing to replace it",
			path, strerror(err));
		return -EEXIST;
	}
	log_notice("removing stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return -errno;
	return 0;
}

static gid_t listener_group(const struct rb_daemon *d);

static int listener_create(struct rb_daemon *d)
{
	const char *path = d->socket_override[0] ? d->socket_override :
			   d->cfg.socket;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[PATH_MAX];
	struct stat st;
	mode_t old;
	gid_t gid;
	int fd, ret, old_gid;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		log_err("socket path %s is too long (at most %zu bytes)", path,
			sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	snprintf(dir, sizeof(dir), "%s", path);
	ret = listener_mkdirs(dirname(dir));
	if (ret < 0) {
		log_err("cannot create the directory of %s: %s", path,
			strerror(-ret));
		return ret;
	}
	ret = listener_check_path(path);
	if (ret < 0) {
		if (ret != -EEXIST && ret != -EADDRINUSE)
			log_err("%s: %s", path, strerror(-ret));
		return ret;
	}

	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		log_err("socket: %s", strerror(errno));
		return ret;
	}
	/*
	 * Mode and group are the file's from its creation, set through the
	 * socket itself: bind() gives the file the socket inode's mode less
	 * the umask, and the caller's fsgid.  Nothing by path afterwards.
	 */
	gid = listener_group(d);
	if (fchmod(fd, d->cfg.socket_mode) < 0)
		log_warn("socket_mode: %s", strerror(errno));
	old = umask(0);
	old_gid = gid != (gid_t)-1 ? setfsgid(gid) : -1;
	ret = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (gid != (gid_t)-1)
		setfsgid((gid_t)old_gid);
	umask(old);
	if (ret < 0) {
		ret = -errno;
		log_err("bind %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	/* The file bind made; a symlink or anything else put there is not it. */
	errno = 0;
	listener_node = open(path, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (listen(fd, SOMAXCONN) < 0 || listener_node < 0 ||
	    fstat(listener_node, &st) < 0 || !S_ISSOCK(st.st_mode)) {
		ret = errno ? -errno : -EEXIST;
		log_err("listen %s: %s", path, strerror(-ret));
		if (listener_node >= 0)
			close(listener_node);
		listener_node = -1;
		close(fd);
		return ret;
	}
	listener_dev = st.st_dev;
	listener_ino = st.st_ino;
	d->listen_fd = fd;
	d->socket_created = true;
	strcpy(d->socket_path, path);
	log_info("listening on %s", path);
	return 0;
}

/* The gid socket_group names, or -1 (none, or no such group: logged). */
static gid_t listener_group(const struct rb_daemon *d)
{
	struct group *gr;

	if (!d->cfg.socket_group[0])
		return (gid_t)-1;
	gr = getgrnam(d->cfg.socket_group);
	if (!gr) {
		log_warn("socket_group %s: no such group", d->cfg.socket_group);
		return (gid_t)-1;
	}
	return gr->gr_gid;
}

/*
 * On reload: mode and group through the file we hold since bind, by its
 * /proc/self/fd link, which names that inode and nothing a path could
 * be changed to point at.
 */
void listener_apply_mode(struct rb_daemon *d)
{
	char link[64];
	gid_t gid;

	if (!d->socket_created || listener_node < 0)
		return;
	snprintf(link, sizeof(link), "/proc/self/fd/%d", listener_node);
	if (chmod(link, d->cfg.socket_mode) < 0)
		log_warn("chmod %s: %s", d->socket_path, strerror(errno));
	gid = listener_group(d);
	if (gid != (gid_t)-1 && chown(link, (uid_t)-1, gid) < 0)
		log_warn("chown %s: %s", d->socket_path, strerror(errno));
}

int listener_open(struct rb_daemon *d)
{
	int n = sd_listen_fds(1);
	int ret;

	if (n < 0) {
		log_err("sd_listen_fds: %s", strerror(-n));
		return n;
	}
	ret = n > 0 ? listener_from_systemd(d, n) : listener_create(d);
	if (ret < 0)
		return ret;
	d->ev_accept = event_new(d->base, d->listen_fd, EV_READ | EV_PERSIST,
				 listener_accept_cb, d);
	d->ev_accept_retry = evtimer_new(d->base, listener_retry_cb, d);
	if (!d->ev_accept || !d->ev_accept_retry ||
	    event_add(d->ev_accept, NULL) < 0) {
		log_err("cannot watch the listening socket");
		return -ENOMEM;
	}
	return 0;
}

void listener_close(struct rb_daemon *d)
{
	if (d->ev_accept)
		event_free(d->ev_accept);
	if (d->ev_accept_retry)
		event_free(d->ev_accept_retry);
	d->ev_accept = d->ev_accept_retry = NULL;
	if (d->listen_fd >= 0)
		close(d->listen_fd);
	d->listen_fd = -1;
	if (d->socket_created) {
		const char *path = d->socket_path;
		struct stat st;

		/* Only the file we made: another daemon may own it by now. */
		if (lstat(path, &st) == 0 && st.st_dev == listener_dev &&
		    st.st_ino == listener_ino)
			unlink(path);
		d->socket_created = false;
	}
	if (listener_node >= 0)
		close(listener_node);
	listener_node = -1;
}
