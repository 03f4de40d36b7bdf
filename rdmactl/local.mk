# rdmactl/: the command line tool (see rdmactl(8)).  One file per object,
# one print layer (print.c) for text and JSON.
bin_PROGRAMS += rdmactl/rdmactl
rdmactl_rdmactl_SOURCES = rdmactl/rdmactl.c rdmactl/rdmactl.h \
	rdmactl/print.c rdmactl/names.c \
	rdmactl/dev.c rdmactl/client.c rdmactl/res.c rdmactl/limits.c rdmactl/status.c \
	rdmactl/stat.c
rdmactl_rdmactl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(PROTOBUF_C_CFLAGS)
rdmactl_rdmactl_LDADD = proto/libproto.la $(JSONC_LIBS) $(PROTOBUF_C_LIBS)
