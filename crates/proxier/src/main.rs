//! `kube-ipvs-proxier`: not usable yet (the engine is being written).

fn main() {
    eprintln!("kube-ipvs-proxier: not usable yet");
    std::process::exit(2);
}
