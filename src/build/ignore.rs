//! `.dockerignore`: which context paths COPY/ADD (and the build cache's
//! content hash) leave out. Docker's rules: one pattern a line, `#`
//! comments, blank lines skipped, each pattern cleaned like Go's
//! `filepath.Clean` with a leading `/` dropped; a segment is matched with
//! Go's `filepath.Match`, a `**` segment matches any number of segments
//! (none too); `!PATTERN` re-includes. The last pattern that matches a
//! path, or one of its parent dirs, decides.
use super::pattern::{matches, BadPattern};
use std::path::Path;

/// The most of a `.dockerignore` read (the context's owner wrote it, but
/// a runaway file should not eat the build's memory).
const MAX_IGNORE_FILE: u64 = 4 << 20;

#[derive(Debug, Clone)]
struct Rule {
    segments: Vec<String>,
    exception: bool,
}

#[derive(Debug, Clone, Default)]
pub struct DockerIgnore {
    rules: Vec<Rule>,
}

/// Go's `filepath.Clean` of a relative slash path: no empty or `.`
/// segments, `..` folded (kept at the front); "" for the root.
pub fn clean_rel(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." if out.last().is_some_and(|l| *l != "..") => {
                out.pop();
            }
            ".." if p.starts_with('/') => {}
            s => out.push(s),
        }
    }
    out.join("/")
}

impl DockerIgnore {
    /// The rules of the `.dockerignore` in `context` (none if it has none).
    pub fn load(context: &Path) -> Result<DockerIgnore, String> {
        let p = context.join(".dockerignore");
        let m = match std::fs::symlink_metadata(&p) {
            Ok(m) => m,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(DockerIgnore::default()),
            Err(e) => return Err(format!(".dockerignore: {e}")),
        };
        if !m.is_file() {
            return Err(".dockerignore: not a regular file".into());
        }
        if m.len() > MAX_IGNORE_FILE {
            return Err(format!(".dockerignore: larger than {MAX_IGNORE_FILE} bytes"));
        }
        let text = std::fs::read(&p).map_err(|e| format!(".dockerignore: {e}"))?;
        DockerIgnore::parse(&String::from_utf8_lossy(&text)).map_err(|e| format!(".dockerignore: {e}"))
    }

    pub fn parse(text: &str) -> Result<DockerIgnore, BadPattern> {
        let mut rules = Vec::new();
        for line in text.lines() {
            let mut pat = line.trim();
            if pat.is_empty() || pat.starts_with('#') {
                continue;
            }
            let exception = pat.starts_with('!');
            if exception {
                pat = pat[1..].trim();
            }
            let cleaned = clean_rel(pat);
            if cleaned.is_empty() {
                continue;
            }
            let segments: Vec<String> = cleaned.split('/').map(str::to_string).collect();
            for s in &segments {
                if s != "**" {
                    matches(s, "")?;
                }
            }
            rules.push(Rule { segments, exception });
        }
        Ok(DockerIgnore { rules })
    }

    /// Whether any rule is an exception (then an excluded dir may still
    /// hold included paths and is walked).
    pub fn has_exceptions(&self) -> bool {
        self.rules.iter().any(|r| r.exception)
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether `rel` (a path relative to the context, `/`-separated) is
    /// left out.
    pub fn excluded(&self, rel: &str) -> bool {
        let rel = clean_rel(rel);
        if rel.is_empty() {
            return false;
        }
        let segs: Vec<&str> = rel.split('/').collect();
        let mut out = false;
        for r in &self.rules {
            // the path itself or one of its parent dirs
            let hit = (1..=segs.len()).any(|n| seg_match(&r.segments, &segs[..n]));
            if hit {
                out = !r.exception;
            }
        }
        out
    }
}

fn seg_match(pat: &[String], segs: &[&str]) -> bool {
    match pat.first() {
        None => segs.is_empty(),
        Some(p) if p == "**" => (0..=segs.len()).any(|i| seg_match(&pat[1..], &segs[i..])),
        Some(p) => !segs.is_empty() && matches(p, segs[0]).unwrap_or(false) && seg_match(&pat[1..], &segs[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ig(text: &str) -> DockerIgnore {
        DockerIgnore::parse(text).unwrap()
    }

    // the examples of Docker's .dockerignore documentation
    #[test]
    fn docker_doc_examples() {
        let d = ig("# comment\n*/temp*\n*/*/temp*\ntemp?\n");
        assert!(d.excluded("somedir/temporary.txt"));
        assert!(d.excluded("somedir/temp"));
        assert!(d.excluded("somedir/subdir/temporary.txt"));
        assert!(d.excluded("tempa"));
        assert!(d.excluded("tempb"));
        assert!(!d.excluded("temp"), "temp? needs one more char");
        assert!(!d.excluded("a/b/c/temp.txt"));
        assert!(!d.excluded("# comment"));
    }

    #[test]
    fn double_star_matches_any_depth() {
        let d = ig("**/*.go\n");
        assert!(d.excluded("main.go"));
        assert!(d.excluded("a/b/c/x.go"));
        assert!(!d.excluded("a/b/x.rs"));
        let d = ig("a/**/z\n");
        assert!(d.excluded("a/z") && d.excluded("a/b/c/z") && !d.excluded("b/z"));
    }

    #[test]
    fn exceptions_and_order() {
        let d = ig("*.md\n!README.md\n");
        assert!(d.excluded("CHANGES.md"));
        assert!(!d.excluded("README.md"));
        assert!(!d.excluded("docs/x.md"), "*.md is top-level only");
        let d = ig("*.md\n!README*.md\nREADME-secret.md\n");
        assert!(d.excluded("README-secret.md"));
        assert!(!d.excluded("README-public.md"));
        let d = ig("*.md\nREADME-secret.md\n!README*.md\n");
        assert!(!d.excluded("README-secret.md"));
        assert!(ig("!x\n").has_exceptions() && !ig("x\n").has_exceptions());
    }

    #[test]
    fn a_dir_excludes_its_contents_unless_an_exception_follows() {
        let d = ig("build\n!build/keep.txt\n");
        assert!(d.excluded("build"));
        assert!(d.excluded("build/out.o"));
        assert!(!d.excluded("build/keep.txt"));
    }

    #[test]
    fn cleaning() {
        let d = ig("/secret\n./tmp/\n  spaced  \n\n# c\nx/../y\n");
        assert!(d.excluded("secret") && d.excluded("tmp/a") && d.excluded("spaced") && d.excluded("y"));
        assert!(!d.excluded("x"));
        assert_eq!(clean_rel("./a//b/./c/.."), "a/b");
        assert_eq!(clean_rel("/../a"), "a");
        assert_eq!(clean_rel("../a"), "../a");
        assert!(DockerIgnore::parse("[\n").is_err());
    }

    #[test]
    fn dockerfile_and_dockerignore_can_be_excluded() {
        let d = ig("Dockerfile\n.dockerignore\n");
        assert!(d.excluded("Dockerfile") && d.excluded(".dockerignore"));
    }
}
