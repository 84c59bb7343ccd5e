//! Go's `filepath.Match` (what Docker uses for COPY wildcards and, per
//! path segment, for `.dockerignore`): `*` any run of non-`/` chars, `?`
//! one non-`/` char, `[...]` a class (`^` negates, `a-z` ranges, `\`
//! escapes), `\c` the char `c`. A malformed pattern is an error even
//! where the name would not reach it, as Go reports it.

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("bad pattern {0:?}")]
pub struct BadPattern(pub String);

/// Whether the pattern has any of the chars that make it a wildcard.
pub fn has_meta(s: &str) -> bool {
    s.contains(['*', '?', '[', '\\'])
}

/// `filepath.Match(pattern, name)`.
pub fn matches(pattern: &str, name: &str) -> Result<bool, BadPattern> {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    validate(&p).map_err(|_| BadPattern(pattern.to_string()))?;
    Ok(match_at(&p, &n))
}

fn validate(p: &[char]) -> Result<(), ()> {
    let mut i = 0;
    while i < p.len() {
        match p[i] {
            '\\' => {
                if i + 1 >= p.len() {
                    return Err(());
                }
                i += 2;
            }
            '[' => i = class_end(p, i).ok_or(())?,
            _ => i += 1,
        }
    }
    Ok(())
}

/// One char of a class (`\c` or `c`, not `-` or `]` unescaped) at `i`:
/// the char and the index after it.
fn class_char(p: &[char], i: usize) -> Option<(char, usize)> {
    match p.get(i)? {
        '\\' => p.get(i + 1).map(|&c| (c, i + 2)),
        '-' | ']' => None,
        &c => Some((c, i + 1)),
    }
}

/// The index just after the class that starts at `p[start] == '['`, or
/// None when it is malformed.
fn class_end(p: &[char], start: usize) -> Option<usize> {
    let mut i = start + 1;
    if p.get(i) == Some(&'^') {
        i += 1;
    }
    let mut first = true;
    loop {
        if p.get(i) == Some(&']') && !first {
            return Some(i + 1);
        }
        let (_, next) = class_char(p, i)?;
        i = next;
        if p.get(i) == Some(&'-') {
            let (_, next) = class_char(p, i + 1)?;
            i = next;
        }
        first = false;
    }
}

/// Whether `c` is in the (valid) class at `p[start]`; the index after it.
fn class_has(p: &[char], start: usize, c: char) -> (bool, usize) {
    let mut i = start + 1;
    let negated = p.get(i) == Some(&'^');
    if negated {
        i += 1;
    }
    let mut hit = false;
    let mut first = true;
    while !(p[i] == ']' && !first) {
        let (lo, next) = class_char(p, i).expect("validated");
        i = next;
        let mut hi = lo;
        if p[i] == '-' {
            let (h, next) = class_char(p, i + 1).expect("validated");
            hi = h;
            i = next;
        }
        if lo <= c && c <= hi {
            hit = true;
        }
        first = false;
    }
    (hit != negated, i + 1)
}

fn match_at(p: &[char], n: &[char]) -> bool {
    let Some(&first) = p.first() else { return n.is_empty() };
    match first {
        '*' => {
            // a run of stars is one star
            let rest = &p[p.iter().take_while(|&&c| c == '*').count()..];
            for i in 0..=n.len() {
                if match_at(rest, &n[i..]) {
                    return true;
                }
                if i < n.len() && n[i] == '/' {
                    break;
                }
            }
            false
        }
        '?' => !n.is_empty() && n[0] != '/' && match_at(&p[1..], &n[1..]),
        '[' => {
            let Some(&c) = n.first() else { return false };
            let (hit, next) = class_has(p, 0, c);
            hit && match_at(&p[next..], &n[1..])
        }
        '\\' => n.first() == p.get(1) && match_at(&p[2..], &n[1..]),
        c => n.first() == Some(&c) && match_at(&p[1..], &n[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Go's own table (path/filepath match_test.go), the separator cases
    // and the error cases included.
    #[test]
    fn go_match_table() {
        let ok = |p: &str, n: &str, want: bool| assert_eq!(matches(p, n), Ok(want), "{p} vs {n}");
        ok("abc", "abc", true);
        ok("*", "abc", true);
        ok("*c", "abc", true);
        ok("a*", "a", true);
        ok("a*", "abc", true);
        ok("a*", "ab/c", false);
        ok("a*/b", "abc/b", true);
        ok("a*/b", "a/c/b", false);
        ok("a*b*c*d*e*/f", "axbxcxdxe/f", true);
        ok("a*b*c*d*e*/f", "axbxcxdxexxx/f", true);
        ok("a*b*c*d*e*/f", "axbxcxdxe/xxx/f", false);
        ok("a*b*c*d*e*/f", "axbxcxdxexxx/fff", false);
        ok("a*b?c*x", "abxbbxdbxebxczzx", true);
        ok("a*b?c*x", "abxbbxdbxebxczzy", false);
        ok("ab[c]", "abc", true);
        ok("ab[b-d]", "abc", true);
        ok("ab[e-g]", "abc", false);
        ok("ab[^c]", "abc", false);
        ok("ab[^b-d]", "abc", false);
        ok("ab[^e-g]", "abc", true);
        ok("a\\*b", "a*b", true);
        ok("a\\*b", "ab", false);
        ok("a?b", "a☺b", true);
        ok("a[^a]b", "a☺b", true);
        ok("a???b", "a☺b", false);
        ok("a[^a][^a][^a]b", "a☺b", false);
        ok("[a-ζ]*", "α", true);
        ok("*[a-ζ]", "A", false);
        ok("a?b", "a/b", false);
        ok("a*b", "a/b", false);
        ok("[\\]a]", "]", true);
        ok("[\\-]", "-", true);
        ok("[x\\-]", "x", true);
        ok("[x\\-]", "-", true);
        ok("[x\\-]", "z", false);
        ok("[\\-x]", "x", true);
        ok("[\\-x]", "-", true);
        ok("[\\-x]", "a", false);
        ok("*x", "xxx", true);
        for bad in ["[]a]", "[-]", "[x-]", "[-x]", "\\", "[a-b-c]", "[", "[^", "[^bc", "a[", "*[", "[a-", "*x\\"] {
            assert!(matches(bad, "x").is_err(), "{bad} is a bad pattern");
        }
    }

    #[test]
    fn meta_chars() {
        assert!(has_meta("*.txt") && has_meta("a?") && has_meta("[ab]") && has_meta("a\\b"));
        assert!(!has_meta("src/app.sh"));
    }
}
