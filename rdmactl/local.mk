# rdmactl/: see its files.
