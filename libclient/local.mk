# libclient/: see its files.
