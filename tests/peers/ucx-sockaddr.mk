# Issue 13: UCX's client-server connection by socket address (the rdmacm
# CM) through the broker's librdmacm; skips without libucx-dev.
if HAVE_UCX
check_PROGRAMS += tests/peers/ucx-sockaddr
tests_peers_ucx_sockaddr_SOURCES = tests/peers/ucx-sockaddr.c
tests_peers_ucx_sockaddr_CFLAGS = $(AM_CFLAGS) $(UCX_CFLAGS) -Wno-missing-field-initializers
tests_peers_ucx_sockaddr_LDADD = $(UCX_LIBS)
endif
TESTS += tests/peers/ucx-sockaddr.sh
EXTRA_DIST += tests/peers/ucx-sockaddr.sh tests/peers/ucx-sockaddr.c
