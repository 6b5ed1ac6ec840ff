#!/usr/bin/env python3
"""Writes the fuzz corpora of the two netlink libraries from the replies
that real tools got from a real kernel (their test captures):

  crates/ipvs-netlink/fuzz/corpus/parse_reply/    every datagram ipvsadm
      received (crates/ipvs-netlink/tests/captures/*.hex), prefixed with
      the capture's IPVS family id (the target's first two bytes);
  crates/ipset/fuzz/corpus/parse_reply/   every datagram ipset
      received (crates/ipset/tests/captures/*.strace, decoded by
      crates/ipvs-netlink/tests/strace2hex.py);
  crates/proxier/fuzz/corpus/parse_config/kubeadm-config.conf
      the kubeadm example configuration (examples/kubeadm/config.conf).

Files are named by a hash of their content. Usage: tests/fuzz/seeds.py
"""

import glob
import hashlib
import os
import re
import shutil
import struct
import subprocess
import sys

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
GENL_ID_CTRL = 0x10


def write(directory, data):
    os.makedirs(directory, exist_ok=True)
    name = hashlib.sha256(data).hexdigest()[:16]
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def datagrams(lines):
    """(direction, bytes) for each `> HEX` / `< HEX` line."""
    for line in lines:
        if line[:2] in ("> ", "< "):
            yield line[0], bytes.fromhex(line[2:].strip())


def ipvs():
    out = os.path.join(ROOT, "crates/ipvs-netlink/fuzz/corpus/parse_reply")
    count, ctrl_seen = 0, False
    for path in sorted(glob.glob(os.path.join(ROOT, "crates/ipvs-netlink/tests/captures/*.hex"))):
        with open(path) as f:
            grams = list(datagrams(f))
        sent_types = [struct.unpack_from("<H", d, 4)[0] for way, d in grams if way == ">" and len(d) >= 6]
        family = next((t for t in sent_types if t != GENL_ID_CTRL), 0x20)
        for way, data in grams:
            if way != "<" or len(data) < 6:
                continue
            # The nlctrl family look-up is the same in every capture: once.
            kind = struct.unpack_from("<H", data, 4)[0]
            if kind == GENL_ID_CTRL:
                if ctrl_seen:
                    continue
                ctrl_seen = True
            write(out, struct.pack("<H", family) + data)
            count += 1
    return count


def ipset():
    out = os.path.join(ROOT, "crates/ipset/fuzz/corpus/parse_reply")
    decode = os.path.join(ROOT, "crates/ipvs-netlink/tests/strace2hex.py")
    count = 0
    for path in sorted(glob.glob(os.path.join(ROOT, "crates/ipset/tests/captures/*.strace"))):
        # strace -f prefixes each line with the pid, unbracketed here.
        with open(path) as f:
            lines = "".join(re.sub(r"^\d+ +", "", line) for line in f)
        hexed = subprocess.run([sys.executable, decode], input=lines, check=True,
                               capture_output=True, text=True).stdout
        for way, data in datagrams(hexed.splitlines()):
            if way == "<":
                write(out, data)
                count += 1
    return count


def config():
    out = os.path.join(ROOT, "crates/proxier/fuzz/corpus/parse_config")
    os.makedirs(out, exist_ok=True)
    shutil.copy(os.path.join(ROOT, "examples/kubeadm/config.conf"),
                os.path.join(out, "kubeadm-config.conf"))


if __name__ == "__main__":
    print(f"ipvs: {ipvs()} replies, ipset: {ipset()} replies")
    config()
