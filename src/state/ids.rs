//! Identifiers in the seed's look (`img_…`, `ps_…`), random so they never
//! collide; uniqueness is then guaranteed by creating them with mkdir/O_EXCL.

/// `n` random bytes as lowercase hex.
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    let ok = crate::sys::random::fill(&mut buf).is_ok();
    if !ok {
        // Fall back to time and pid mixing; still unique enough with O_EXCL.
        let t = super::now().to_bits() ^ ((std::process::id() as u64) << 32);
        for (i, b) in buf.iter_mut().enumerate() {
            *b = (t >> ((i % 8) * 8)) as u8 ^ (i as u8).wrapping_mul(151);
        }
    }
    hex::encode(buf)
}

/// A new id with the given prefix: `ps_` + 10 hex digits.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}{}", random_hex(5))
}

/// Names users may give (`--name`): Docker's rule `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
pub fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphanumeric() => {}
        _ => return false,
    }
    name.len() <= 128 && chars.all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn ids_have_prefix_and_differ() {
        let a = new_id("ps_");
        let b = new_id("ps_");
        assert!(a.starts_with("ps_") && a.len() == 13);
        assert_ne!(a, b);
    }
    #[test]
    fn names() {
        assert!(valid_name("web-1.a_b"));
        assert!(!valid_name("-web"));
        assert!(!valid_name(""));
        assert!(!valid_name("a/b"));
        assert!(!valid_name("a b"));
    }
}
