# systemd/: see its files.
