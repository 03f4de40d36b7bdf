#!/bin/sh
# Two independent paths agree: what `rdmactl -j dev` reports (the daemon's
# device_show) equals what unmodified ibv_devinfo -v prints through
# librdmabroker's verbs, field by field.
. "$top_srcdir/tests/lib/lib.sh"

command -v ibv_devinfo >/dev/null 2>&1 || rb_skip "ibv_devinfo not installed (Debian ibverbs-utils)"
printf '[soft]\ngid_address = 198.51.100.20\n' > "$RB_CONF"
rb_daemon_start

"$RB_RDMACTL" -j dev > "$RB_TMP/dev.json" || rb_fail "rdmactl -j dev"
"$RB_RUN" ibv_devinfo -v > "$RB_TMP/devinfo.txt" || rb_fail "ibv_devinfo -v"

python3 - "$RB_TMP/dev.json" "$RB_TMP/devinfo.txt" <<'PY' || rb_fail "rdmactl and ibv_devinfo disagree"
import json, re, sys

devs = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
assert len(devs) == 1, devs
d = devs[0]
info, port, gids = {}, {}, []
in_port = False
for line in text.splitlines():
    m = re.match(r'\s*(GID\[\s*(\d+)\]):\s+(\S+), (.*)$', line)
    if m:
        gids.append((int(m.group(2)), m.group(3), m.group(4)))
        continue
    m = re.match(r'\s*([a-z_]+):\s+(.*)$', line)
    if not m:
        continue
    k, v = m.group(1), m.group(2).strip()
    if k == 'port':
        in_port = True
        port['port'] = v
        continue
    (port if in_port else info)[k] = v

bad = []
checked = []
def same(what, ours, theirs):
    checked.append(what)
    if str(ours) != str(theirs):
        bad.append('%s: rdmactl %r, ibv_devinfo %r' % (what, ours, theirs))

same('hca_id', d['name'], info['hca_id'])
same('fw_ver', d['fw_ver'], info['fw_ver'])
same('node_guid', d['node_guid'], info['node_guid'])
same('sys_image_guid', d['sys_image_guid'], info['sys_image_guid'])
same('phys_port_cnt', d['phys_port_cnt'], info['phys_port_cnt'])
a = d['attr']
for k in ('max_qp', 'max_qp_wr', 'max_sge', 'max_sge_rd', 'max_cq', 'max_cqe',
          'max_mr', 'max_pd', 'max_qp_rd_atom', 'max_res_rd_atom',
          'max_qp_init_rd_atom', 'max_ah', 'max_srq', 'max_srq_wr',
          'max_srq_sge', 'max_pkeys', 'local_ca_ack_delay', 'vendor_part_id'):
    same(k, a[k], info[k])
same('max_mr_size', hex(a['max_mr_size']), info['max_mr_size'])
same('page_size_cap', hex(a['page_size_cap']), info['page_size_cap'])
same('device_cap_flags', '0x%08x' % a['device_cap_flags'], info['device_cap_flags'])
same('atomic_cap', a['atomic_cap'], info['atomic_cap'].split()[0])
p = d['ports'][0]
same('port', p['port'], port['port'])
same('state', p['state'], port['state'].split()[0])
same('max_mtu', p['max_mtu'], port['max_mtu'].split()[0])
same('active_mtu', p['active_mtu'], port['active_mtu'].split()[0])
same('link_layer', p['link_layer'], port['link_layer'])
same('gid_tbl_len', p['gid_tbl_len'], port['gid_tbl_len'])
same('pkey_tbl_len', p['pkey_tbl_len'], port['pkey_tbl_len'])
same('phys_state', p['phys_state'], port['phys_state'].split()[0])
same('max_msg_sz', hex(p['max_msg_sz']), port['max_msg_sz'])
same('gids', [(g['index'], g['gid'], g['type']) for g in p['gids']], gids)
same('gid value', p['gids'][0]['gid'], '::ffff:198.51.100.20')
if bad:
    print('\n'.join(bad))
    sys.exit(1)
print('%d fields agree' % len(checked))
PY
rb_daemon_stop
rb_pass
