#!/usr/bin/env python3
"""Count the netlink messages in an strace log (strace -f -xx -s 4096 -e
trace=sendto,sendmsg) that change IPVS or ipset state. Run in the node's
network namespace (the IPVS generic-netlink family id is looked up there).
Prints "IPVS-ALL IPVS-WRITES IPSET-ALL IPSET-WRITES".

IPVS writes: generic-netlink commands NEW/SET/DEL_SERVICE, NEW/SET/DEL_DEST,
NEW/DEL_DAEMON, SET_CONFIG, SET_INFO, ZERO, FLUSH (GET_* are reads).
ipset writes: CREATE, DESTROY, FLUSH, RENAME, SWAP, ADD, DEL."""
import re
import socket
import struct
import sys

IPVS_WRITES = {1, 2, 3, 5, 6, 7, 9, 10, 12, 14, 16, 17}
IPSET_WRITES = {2, 3, 4, 5, 6, 9, 10}
IPSET_NAMES = {"CREATE": 2, "DESTROY": 3, "FLUSH": 4, "RENAME": 5, "SWAP": 6, "ADD": 9, "DEL": 10}


def ipvs_family_id():
    s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 16)  # NETLINK_GENERIC
    name = b"IPVS\0"
    attr = struct.pack("HH", 4 + len(name), 2) + name + b"\0" * (-len(name) % 4)
    body = struct.pack("BBH", 3, 1, 0) + attr  # CTRL_CMD_GETFAMILY
    s.send(struct.pack("IHHII", 16 + len(body), 0x10, 1, 1, 0) + body)
    data = s.recv(65536)
    i = 16 + 4
    while i + 4 <= len(data):
        alen, atype = struct.unpack_from("HH", data, i)
        if atype == 1:  # CTRL_ATTR_FAMILY_ID
            return struct.unpack_from("H", data, i + 4)[0]
        i += (alen + 3) & ~3
    raise SystemExit("nlcount: no IPVS family")


fid = ipvs_family_id()
text = open(sys.argv[1], errors="replace").read()
counts = [0, 0, 0, 0]
msg = re.compile(r'nlmsg_type=([^,]+), nlmsg_flags=[^}]*\}, (?:"((?:\\x[0-9a-f]{2})*)|\{)')
for m in msg.finditer(text):
    typ, payload = m[1].strip(), m[2] or ""
    ipset = re.search(r"NFNL_SUBSYS_IPSET<<8\|(\w+)", typ)
    num = None
    if typ.startswith("0x") or typ.isdigit():
        num = int(typ.split()[0], 0)
    if ipset or (num is not None and num >> 8 == 6):  # NFNL_SUBSYS_IPSET << 8 | cmd
        counts[2] += 1
        cmd = ipset[1] if ipset else str(num & 0xff)
        cmd = IPSET_NAMES.get(cmd.replace("IPSET_CMD_", ""), int(cmd, 0) if cmd[0].isdigit() else 0)
        counts[3] += cmd in IPSET_WRITES
    elif num == fid or typ == "IPVS":  # strace names the family when it can
        counts[0] += 1
        cmd = int(payload[2:4], 16) if payload else 0
        counts[1] += cmd in IPVS_WRITES
print(*counts)
types = sorted({m[1].strip() for m in msg.finditer(text)})
print("types seen:", ", ".join(types[:12]), file=sys.stderr)
