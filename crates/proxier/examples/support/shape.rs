//! The cluster shape both benchmarks build, that of `bench/proxier-gen.py`:
//! Service `i` has ClusterIP `vip(i)` and `ENDPOINTS` endpoints
//! `endpoint_ip(i, j)`.

/// Endpoints per Service.
pub const ENDPOINTS: usize = 10;

/// The ClusterIP of Service `i`: `10.96.x.y`, from `10.96.0.10` on.
pub fn vip(i: usize) -> String {
    let k = i + 10;
    format!("10.96.{}.{}", k >> 8, k & 255)
}

/// Endpoint `j` of Service `i`: `10.244.0.1` on, one address each.
pub fn endpoint_ip(i: usize, j: usize) -> String {
    let e = i * ENDPOINTS + j + 1;
    format!("10.{}.{}.{}", 244 + (e >> 16), (e >> 8) & 255, e & 255)
}
