# The proxier's image, for machines with a container builder (docker build,
# buildah, kaniko). Without one, image/build-oci.sh builds the same contents
# as an OCI archive from Debian packages.
#
#   docker build -t kube-ipvs-proxier:0.1.0 .

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p kube-ipvs-proxier --bin kube-ipvs-proxier \
    && strip --strip-debug target/release/kube-ipvs-proxier

FROM debian:bookworm-slim
# iptables-restore/-save (nft backend), ipset and ipvsadm for the proxier
# and for debugging, kmod for modprobe.
RUN apt-get update \
    && apt-get install -y --no-install-recommends iptables ipset ipvsadm kmod \
    && update-alternatives --set iptables /usr/sbin/iptables-nft \
    && update-alternatives --set ip6tables /usr/sbin/ip6tables-nft \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /src/target/release/kube-ipvs-proxier /usr/local/bin/kube-ipvs-proxier
# kubeadm's DaemonSet runs /usr/local/bin/kube-proxy.
RUN ln -s kube-ipvs-proxier /usr/local/bin/kube-proxy
LABEL org.opencontainers.image.title="kube-ipvs-proxier" \
      org.opencontainers.image.description="Drop-in replacement for kube-proxy --proxy-mode=ipvs, on raw netlink" \
      org.opencontainers.image.licenses="Apache-2.0"
ENTRYPOINT ["/usr/local/bin/kube-ipvs-proxier"]
