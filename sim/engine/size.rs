//! Byte sizes as people write them (`2G`, `512MiB`, `1 KB`, `1073741824`):
//! one reader for `--max-memory` and isotope's `size.ByteSize`, which use the
//! same binary units.

/// A number with an optional unit B, K, M, G, T (powers of 1024; `KiB`,
/// `MB`, … read the same), spaces allowed before the unit. Returns the
/// byte count, 0 included; the error says what is wrong in words.
pub fn parse_bytes(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 2G, 512M)"))?;
    let shift = match unit.trim().to_ascii_uppercase().as_str() {
        "" | "B" => 0,
        "K" | "KB" | "KIB" => 10,
        "M" | "MB" | "MIB" => 20,
        "G" | "GB" | "GIB" => 30,
        "T" | "TB" | "TIB" => 40,
        u => return Err(format!("unknown unit {u:?} in {s:?} (use K, M, G or T)")),
    };
    let bytes = n * (1u64 << shift) as f64;
    if !(0.0..1.8e19).contains(&bytes) {
        return Err(format!("{s:?} is out of range"));
    }
    Ok(bytes as u64)
}
