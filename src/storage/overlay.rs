//! The overlay mount that makes a container's root: the image's layers
//! (read-only lowers) under the container's own upper and work dirs.

/// Mount options for overlayfs, with lower dirs given relative to the
/// layers folder (the mounting process chdirs there first) so many layers
/// fit in one page of options. `layers` is bottom first, as images store it.
pub fn mount_options(layers: &[String], upper: &str, work: &str) -> Result<String, String> {
    if layers.is_empty() {
        return Err("an image needs at least one layer".into());
    }
    for l in layers {
        if l.is_empty() || l.contains([',', ':', '/']) || l.starts_with('.') {
            return Err(format!("invalid layer id '{l}'"));
        }
    }
    // overlay wants the top-most lower first
    let lower: Vec<String> = layers.iter().rev().map(|l| format!("{l}/diff")).collect();
    let opts = format!("lowerdir={},upperdir={upper},workdir={work}", lower.join(":"));
    if opts.len() >= 4096 {
        return Err(format!("too many layers for one overlay mount ({})", layers.len()));
    }
    Ok(opts)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn lowers_are_reversed_and_relative() {
        let o = mount_options(&["a".into(), "b".into()], "/u", "/w").unwrap();
        assert_eq!(o, "lowerdir=b/diff:a/diff,upperdir=/u,workdir=/w");
    }
    #[test]
    fn rejects_bad_ids() {
        assert!(mount_options(&["a:b".into()], "/u", "/w").is_err());
        assert!(mount_options(&[], "/u", "/w").is_err());
        assert!(mount_options(&["../x".into()], "/u", "/w").is_err());
    }
}
