# tests/peers/cm-roce.mk: the connection manager across hosts (issue 13
# over issue 18's RoCEv2): two network namespaces, a daemon in each.
check_PROGRAMS += tests/peers/cm-roce-peer
tests_peers_cm_roce_peer_SOURCES = tests/peers/cm-roce-peer.c
tests_peers_cm_roce_peer_CFLAGS = $(AM_CFLAGS) $(RDMACM_CFLAGS) $(IBVERBS_CFLAGS)
tests_peers_cm_roce_peer_LDADD = libclient/cm/librdmabroker-cm.la \
	libclient/librdmabroker.la
TESTS += tests/peers/cm-roce.sh tests/peers/cm-roce-lossy.sh
EXTRA_DIST += tests/peers/cm-roce.sh tests/peers/cm-roce-lossy.sh
