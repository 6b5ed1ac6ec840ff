#!/usr/bin/env python3
"""Turn `strace -xx -e write=all -e read=all` output into netlink datagrams.

Each datagram becomes one line: `> HEX` for what the program sent, `< HEX` for
what it received. MSG_PEEK reads are dropped (the same bytes are read again).
Lines from stdin; the first argument, if any, becomes a `# ` header line.
"""
import re
import sys

SYSCALL = re.compile(r"^(?:\[pid\s+\d+\]\s+)?(sendmsg|sendto|recvmsg|recvfrom)\(")
# " | 00010  03 01 00 00 09 00 02 00  49 50 56 53 00 00 00 00  ........IPVS.... |"
DUMP = re.compile(r"^ \| [0-9a-f]{5}  (.{49})")
BYTE = re.compile(r"\b[0-9a-f]{2}\b")

out = []
if len(sys.argv) > 1:
    out.append("# " + " ".join(sys.argv[1:]))
direction, buf, skip = None, [], False


def flush():
    global buf
    if direction and buf and not skip:
        out.append(direction + " " + "".join(buf))
    buf = []


for line in sys.stdin:
    m = SYSCALL.match(line)
    if m:
        flush()
        direction = ">" if m.group(1).startswith("send") else "<"
        skip = "MSG_PEEK" in line
        continue
    d = DUMP.match(line)
    if d and direction:
        buf.extend(BYTE.findall(d.group(1)))
flush()
print("\n".join(out))
