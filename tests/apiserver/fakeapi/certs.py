"""A self-signed CA and a server certificate for 127.0.0.1 and localhost,
made with the ``openssl`` command (EC P-256: fast even in an emulated VM).
Existing files in the state directory are kept, so a restarted double
keeps its CA. ``rotate`` replaces the server certificate and key with new
ones signed by the same CA, as a control plane renewing its serving
certificate does."""

import hashlib
import os
import ssl
import subprocess


class CertError(RuntimeError):
    """openssl failed."""


def _run(args, cwd):
    try:
        proc = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    except FileNotFoundError:
        raise CertError("the openssl command is not installed") from None
    if proc.returncode != 0:
        raise CertError(f"openssl {' '.join(args[:2])} failed: {proc.stderr.strip()}")


def ensure(state_dir):
    """Paths (ca.crt, server.crt, server.key), generated if missing."""
    ca, crt, key = (os.path.join(state_dir, n) for n in ("ca.crt", "server.crt", "server.key"))
    if all(os.path.exists(p) for p in (ca, crt, key)):
        return ca, crt, key
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _run(["req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "3650",
          "-subj", "/CN=fake-kube-apiserver-ca",
          "-addext", "basicConstraints=critical,CA:TRUE",
          "-addext", "keyUsage=critical,keyCertSign,cRLSign"], state_dir)
    _server_cert(state_dir, "server.key", "server.crt")
    return ca, crt, key


def _server_cert(state_dir, key_name, crt_name):
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    _run(["req", *ec, "-keyout", key_name, "-out", "server.csr", "-subj", "/CN=kube-apiserver"], state_dir)
    with open(os.path.join(state_dir, "server.ext"), "w") as f:
        f.write("subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc\n"
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n")
    _run(["x509", "-req", "-in", "server.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
          "-out", crt_name, "-days", "3650", "-extfile", "server.ext"], state_dir)


def rotate(state_dir):
    """A new server key and certificate from the same CA (needs ca.key),
    swapped in with renames; returns (server.crt, server.key)."""
    if not os.path.exists(os.path.join(state_dir, "ca.key")):
        raise CertError("no ca.key in the state directory: cannot sign a new server certificate")
    _server_cert(state_dir, "server.key.new", "server.crt.new")
    crt, key = (os.path.join(state_dir, n) for n in ("server.crt", "server.key"))
    os.replace(key + ".new", key)
    os.replace(crt + ".new", crt)
    return crt, key


def fingerprint(crt):
    """The SHA-256 fingerprint of a PEM certificate (hex, no colons)."""
    with open(crt) as f:
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()
