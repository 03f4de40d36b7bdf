#!/usr/bin/env python3
# The RoCEv2 ICRC computed apart from drivers/soft/roce-wire.c, for the
# tests: from the IP and UDP headers as they are in a captured frame (not
# as the daemon assumes them), masked as IBTA Annex A17 says, and Python's
# zlib.crc32.  Usage:
#   roce-icrc.py PCAP     one line per UDP/4791 frame: "<computed> <carried>"
#                         (hex, the ICRC read little-endian off the wire)
#   roce-icrc.py vector   the ICRCs of tests/unit/roce-wire.c's fixed packet
import struct
import sys
import zlib


def icrc(ip, udp, roce):
    """ip, udp: the headers as sent; roce: BTH .. pad (no ICRC)."""
    ip = bytearray(ip)
    if ip[0] >> 4 == 4:
        ip[1] = 0xff                    # TOS
        ip[8] = 0xff                    # TTL
        ip[10:12] = b'\xff\xff'         # header checksum
    else:
        ip[0] |= 0x0f                   # traffic class (low half) ...
        ip[1:4] = b'\xff\xff\xff'       # ... and flow label
        ip[7] = 0xff                    # hop limit
    udp = bytearray(udp)
    udp[6:8] = b'\xff\xff'              # UDP checksum
    bth = bytearray(roce[:12])
    bth[4] = 0xff                       # resv8a
    data = b'\xff' * 8 + bytes(ip) + bytes(udp) + bytes(bth) + bytes(roce[12:])
    return zlib.crc32(data) & 0xffffffff


def frames(path):
    with open(path, 'rb') as f:
        buf = f.read()
    magic = struct.unpack('<I', buf[:4])[0]
    if magic != 0xa1b2c3d4:
        sys.exit('roce-icrc.py: not a little-endian microsecond pcap: %s' % path)
    off = 24
    while off + 16 <= len(buf):
        incl = struct.unpack('<IIII', buf[off:off + 16])[2]
        off += 16
        yield buf[off:off + incl]
        off += incl


def main():
    if sys.argv[1:] == ['vector']:
        # The UD SEND_ONLY of roce-wire.c test_vector(), "ping" as payload.
        roce = bytes([0x64, 0, 0xff, 0xff, 0, 0, 0, 0x11, 0, 0, 0, 0x2a,
                      0x11, 0x11, 0x11, 0x11, 0, 0, 0, 0x42]) + b'ping'
        ulen = 8 + len(roce) + 4
        ip4 = struct.pack('>BBHHHBBH4s4s', 0x45, 0, 20 + ulen, 0, 0x4000, 64,
                          17, 0, bytes([10, 77, 0, 1]), bytes([10, 77, 0, 2]))
        udp4 = struct.pack('>HHHH', 49152, 4791, ulen, 0)
        ip6 = struct.pack('>IHBB16s16s', 0x60000000, ulen, 17, 64,
                          bytes([0xfd, 0, 0, 0, 0, 0, 0, 0x77] + [0] * 7 + [1]),
                          bytes([0xfd, 0, 0, 0, 0, 0, 0, 0x77] + [0] * 7 + [2]))
        udp6 = struct.pack('>HHHH', 4791, 4791, ulen, 0)
        print('ipv4 0x%08x' % icrc(ip4, udp4, roce))
        print('ipv6 0x%08x' % icrc(ip6, udp6, roce))
        return
    for fr in frames(sys.argv[1]):
        et = struct.unpack('>H', fr[12:14])[0]
        if et == 0x0800:
            ihl = (fr[14] & 0x0f) * 4
            ip, rest = fr[14:14 + ihl], fr[14 + ihl:]
        elif et == 0x86dd:
            ip, rest = fr[14:54], fr[54:]
        else:
            continue
        udp = rest[:8]
        if struct.unpack('>H', udp[2:4])[0] != 4791:
            continue
        ulen = struct.unpack('>H', udp[4:6])[0]
        roce = rest[8:ulen]
        carried = struct.unpack('<I', roce[-4:])[0]
        print('0x%08x 0x%08x' % (icrc(ip, udp, roce[:-4]), carried))


main()
