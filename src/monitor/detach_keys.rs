//! Docker's detach keys (`--detach-keys`, the API's `detachKeys`):
//! a comma-separated sequence of `ctrl-X` and single characters (default
//! `ctrl-p,ctrl-q`); typed into an attached stdin, it detaches instead of
//! reaching the container. Bytes that begin the sequence are held until
//! it either completes (detach) or breaks (they go on, in order).

/// The default sequence: ctrl-p, ctrl-q.
pub const DEFAULT: &str = "ctrl-p,ctrl-q";

/// Parses a sequence as Docker does: `ctrl-a`..`ctrl-z`, `ctrl-@`,
/// `ctrl-[`, `ctrl-\`, `ctrl-]`, `ctrl-^`, `ctrl-_`, or one character.
pub fn parse(spec: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for key in spec.split(',') {
        let k = key.trim();
        let b = k.as_bytes();
        if b.len() == 1 {
            out.push(b[0]);
            continue;
        }
        let c = k.strip_prefix("ctrl-").filter(|r| r.len() == 1).map(|r| r.as_bytes()[0].to_ascii_lowercase());
        match c {
            Some(c @ b'a'..=b'z') => out.push(c - b'a' + 1),
            Some(b'@') => out.push(0),
            Some(c @ (b'[' | b'\\' | b']' | b'^' | b'_')) => out.push(c - b'@'),
            _ => return Err(format!("Invalid escape keys ({spec}) provided")),
        }
    }
    if out.is_empty() {
        return Err(format!("Invalid escape keys ({spec}) provided"));
    }
    Ok(out)
}

/// Watches an input stream for the sequence.
pub struct Matcher {
    seq: Vec<u8>,
    held: usize,
}

impl Matcher {
    pub fn new(seq: Vec<u8>) -> Matcher {
        Matcher { seq, held: 0 }
    }

    /// Feeds input; returns what goes on to the container, and whether
    /// the sequence completed (what followed it is dropped, as Docker's).
    pub fn feed(&mut self, data: &[u8]) -> (Vec<u8>, bool) {
        let mut out = Vec::with_capacity(data.len());
        for &b in data {
            if self.seq.is_empty() {
                out.push(b);
                continue;
            }
            if b == self.seq[self.held] {
                self.held += 1;
                if self.held == self.seq.len() {
                    self.held = 0;
                    return (out, true);
                }
                continue;
            }
            // the held prefix was input after all
            out.extend_from_slice(&self.seq[..self.held]);
            self.held = 0;
            if b == self.seq[0] {
                self.held = 1;
                if self.seq.len() == 1 {
                    self.held = 0;
                    return (out, true);
                }
            } else {
                out.push(b);
            }
        }
        (out, false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn docker_key_names() {
        assert_eq!(parse(DEFAULT).unwrap(), vec![16, 17]);
        assert_eq!(parse("ctrl-a,x,ctrl-@,ctrl-[").unwrap(), vec![1, b'x', 0, 27]);
        assert!(parse("ctrl-1").is_err());
        assert!(parse("").is_err());
        assert!(parse("ab").is_err());
    }

    #[test]
    fn held_prefix_goes_on_when_the_sequence_breaks() {
        let mut m = Matcher::new(vec![16, 17]);
        assert_eq!(m.feed(b"ab\x10"), (b"ab".to_vec(), false));
        assert_eq!(m.feed(b"c"), (b"\x10c".to_vec(), false));
        assert_eq!(m.feed(b"x\x10"), (b"x".to_vec(), false));
        assert_eq!(m.feed(b"\x11rest"), (Vec::new(), true));
        let mut m = Matcher::new(vec![16, 17]);
        assert_eq!(m.feed(b"\x10\x10\x11"), (b"\x10".to_vec(), true));
    }
}
