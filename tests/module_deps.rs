//! The top-level modules under src/ must not form an import cycle: each
//! module's `crate::X` references (outside comments, strings and
//! `#[cfg(test)]` modules) are read with a plain text scan, and the graph
//! of top-level modules they make must be acyclic. The layering it keeps
//! is written down in docs/ARCHITECTURE.md ("Module layering").
//!
//! A back-edge can be allowed by the one file that makes it, with the
//! reason (`ALLOWED`, empty now); any other file making such an edge, or
//! any new edge that closes a cycle, fails with the cycle printed. An
//! exception whose file no longer makes its edge fails too, so the list
//! only shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// (file under src/, the top-level module it may use against the layering,
/// why). Empty: add one only with its reason, when breaking a cycle does
/// not fit the change at hand.
const ALLOWED: &[(&str, &str, &str)] = &[];

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// The text with comments removed and string and char literals blanked
/// (their quotes kept), so braces and `crate::` inside them do not count.
fn code_only(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == b'r' && (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#')) && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) {
            // a raw string r"…", r#"…"#; `r#ident` is not one
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            j += 1;
            let close: Vec<u8> = std::iter::once(b'"').chain(std::iter::repeat(b'#').take(hashes)).collect();
            while j < b.len() && !b[j..].starts_with(&close) {
                j += 1;
            }
            i = (j + close.len()).min(b.len());
            out.push_str("\"\"");
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                i += if b[i] == b'\\' { 2 } else { 1 };
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' {
            // a char literal ('x', '\n', '\''), or a lifetime ('a)
            if b.get(i + 1) == Some(&b'\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != b'\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if b.get(i + 2) == Some(&b'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                // multi-byte char literal or lifetime: find a closing quote
                // within one UTF-8 char, else it is a lifetime
                let end = text[i + 1..].chars().next().map(|ch| i + 1 + ch.len_utf8());
                if let Some(e) = end.filter(|&e| b.get(e) == Some(&b'\'')) {
                    i = e + 1;
                    out.push_str("' '");
                } else {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            let ch = text[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// `#[cfg(test)] mod NAME { … }` blocks removed; the names of
/// `#[cfg(test)] mod NAME;` (test-only files) returned.
fn without_test_modules(code: &str) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut files = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = rest[at + "#[cfg(test)]".len()..].trim_start();
        let after = after.strip_prefix("pub(crate) ").or_else(|| after.strip_prefix("pub ")).unwrap_or(after);
        let Some(m) = after.strip_prefix("mod ") else {
            out.push_str("#[cfg(test)]");
            rest = &rest[at + "#[cfg(test)]".len()..];
            continue;
        };
        let name: String = m.trim_start().chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
        let m = m.trim_start()[name.len()..].trim_start();
        if let Some(tail) = m.strip_prefix(';') {
            files.push(name);
            rest = tail;
        } else if m.starts_with('{') {
            let mut depth = 0;
            let mut end = m.len();
            for (k, ch) in m.char_indices() {
                match ch {
                    '{' => depth += 1,
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            end = k + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            rest = &m[end..];
        } else {
            rest = m;
        }
    }
    out.push_str(rest);
    (out, files)
}

/// The `.rs` files of a top-level module, each with its module path below
/// the crate (`["runtime", "seccomp", "oci"]`), test-only files left out.
fn module_files(top: &str) -> Vec<(PathBuf, Vec<String>)> {
    let src = src_dir();
    let mut out = Vec::new();
    let file = src.join(format!("{top}.rs"));
    let mut todo = vec![if file.is_file() { (file, vec![top.to_string()]) } else { (src.join(top).join("mod.rs"), vec![top.to_string()]) }];
    while let Some((path, modpath)) = todo.pop() {
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let (_, test_only) = without_test_modules(&code_only(&text));
        // child modules live in DIR/ (mod.rs) or in FILE-stem/ (a.rs)
        let dir = if path.file_name().is_some_and(|n| n == "mod.rs") { path.parent().map(Path::to_path_buf) } else { path.parent().map(|p| p.join(path.file_stem().unwrap_or_default())) };
        out.push((path.clone(), modpath.clone()));
        let Some(dir) = dir else { continue };
        let Ok(entries) = fs::read_dir(&dir) else { continue };
        let mut children: Vec<(PathBuf, String)> = Vec::new();
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir() && p.join("mod.rs").is_file() {
                children.push((p.join("mod.rs"), name));
            } else if let Some(stem) = name.strip_suffix(".rs").filter(|s| *s != "mod") {
                children.push((p, stem.to_string()));
            }
        }
        for (p, name) in children {
            if test_only.contains(&name) {
                continue;
            }
            let mut mp = modpath.clone();
            mp.push(name);
            todo.push((p, mp));
        }
    }
    out
}

/// The top-level modules a file names: `crate::X`, `crate::{X, Y::…}`,
/// and `super::…` chains that climb to the crate root.
fn references(code: &str, modpath: &[String], tops: &BTreeSet<String>) -> BTreeSet<String> {
    let ident = |s: &str| -> String { s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect() };
    let mut found = BTreeSet::new();
    let is_word_start = |s: &str, at: usize| at == 0 || !s[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
    for (at, _) in code.match_indices("crate::") {
        if !is_word_start(code, at) && !code[..at].ends_with('$') {
            continue;
        }
        let rest = code[at + "crate::".len()..].trim_start();
        if let Some(group) = rest.strip_prefix('{') {
            let mut depth = 0;
            let mut item = String::new();
            for ch in group.chars() {
                match ch {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        found.insert(ident(item.trim()));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                if depth == 0 {
                    item.push(ch);
                }
            }
            found.insert(ident(item.trim()));
        } else {
            found.insert(ident(rest));
        }
    }
    for (at, _) in code.match_indices("super::") {
        if !is_word_start(code, at) || code[..at].ends_with("super::") {
            continue;
        }
        let mut rest = &code[at..];
        let mut ups = 0;
        while let Some(r) = rest.strip_prefix("super::") {
            ups += 1;
            rest = r;
        }
        // a file's own module path (inline `mod` blocks are not followed)
        if ups == modpath.len() {
            found.insert(ident(rest));
        }
    }
    found.retain(|m| tops.contains(m));
    found
}

fn top_level_modules() -> BTreeSet<String> {
    let mut tops = BTreeSet::new();
    for e in fs::read_dir(src_dir()).expect("src/").flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".rs") {
            if stem != "lib" && stem != "main" {
                tops.insert(stem.to_string());
            }
        } else if p.join("mod.rs").is_file() {
            tops.insert(name);
        }
    }
    tops
}

/// Edges between top-level modules, each with the files that make it
/// (paths relative to src/).
fn graph() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let tops = top_level_modules();
    let src = src_dir();
    let mut g: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for top in &tops {
        let edges = g.entry(top.clone()).or_default();
        for (path, modpath) in module_files(top) {
            let text = fs::read_to_string(&path).unwrap_or_default();
            let (code, _) = without_test_modules(&code_only(&text));
            let rel = path.strip_prefix(&src).unwrap_or(&path).display().to_string();
            for to in references(&code, &modpath, &tops) {
                if &to != top {
                    edges.entry(to).or_default().insert(rel.clone());
                }
            }
        }
    }
    g
}

/// Every elementary cycle's nodes, found by a DFS from each node (the
/// graph is small).
fn cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    fn dfs(n: &str, start: &str, edges: &BTreeMap<String, BTreeSet<String>>, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        for next in edges.get(n).into_iter().flatten() {
            if next == start {
                let mut c = path.clone();
                c.push(start.to_string());
                out.push(c);
            } else if next.as_str() > start && !path.contains(next) {
                path.push(next.clone());
                dfs(next, start, edges, path, out);
                path.pop();
            }
        }
    }
    let mut out = Vec::new();
    for start in edges.keys() {
        dfs(start, start, edges, &mut vec![start.clone()], &mut out);
    }
    out
}

#[test]
fn top_level_modules_form_no_cycle() {
    let g = graph();
    assert!(g.len() > 10 && g.values().map(|e| e.len()).sum::<usize>() > 20, "the scan found too few modules or references: {g:?}");
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut stale = Vec::new();
    for (file, to, _) in ALLOWED.iter() {
        let from = file.split('/').next().unwrap_or_default();
        if !g.get(from).and_then(|e| e.get(*to)).is_some_and(|files| files.contains(*file)) {
            stale.push(format!("{file} -> {to}"));
        }
    }
    assert!(stale.is_empty(), "allowed exceptions that no longer happen (remove them from ALLOWED): {stale:?}");
    for (from, tos) in &g {
        let e = edges.entry(from.clone()).or_default();
        for (to, files) in tos {
            let rest: Vec<&String> = files.iter().filter(|f| !ALLOWED.iter().any(|(af, at, _)| af == f && at == to)).collect();
            if !rest.is_empty() {
                e.insert(to.clone());
            }
        }
    }
    let found = cycles(&edges);
    if !found.is_empty() {
        let mut msg = format!("{} import cycle(s) between top-level modules under src/ (the first 20):\n", found.len());
        for c in found.iter().take(20) {
            msg.push_str(&format!("  {}\n", c.join(" -> ")));
            for w in c.windows(2) {
                let files: Vec<&String> = g[&w[0]][&w[1]].iter().filter(|f| !ALLOWED.iter().any(|(af, at, _)| af == f && *at == w[1])).collect();
                msg.push_str(&format!("    {} -> {}: {}\n", w[0], w[1], files.iter().map(|f| f.as_str()).collect::<Vec<_>>().join(", ")));
            }
        }
        msg.push_str("move the shared piece down into a lower module (see docs/ARCHITECTURE.md, Module layering)");
        panic!("{msg}");
    }
}

/// `cargo test --test module_deps -- --ignored --nocapture` prints the
/// graph, for updating the layering in docs/ARCHITECTURE.md.
#[test]
#[ignore]
fn print_graph() {
    for (from, tos) in graph() {
        println!("{from} -> {}", tos.keys().cloned().collect::<Vec<_>>().join(", "));
    }
}

#[test]
fn the_scanner_reads_what_it_should() {
    let tops: BTreeSet<String> = ["a", "b", "c", "d", "e"].iter().map(|s| s.to_string()).collect();
    let text = r##"
        use crate::a::x; // crate::e in a comment
        /* crate::e in a block */
        fn f() { let s = "crate::e { in a string"; let r = r#"crate::e"#; let c = '"'; let l: &'static str = s; crate::b::g(); }
        use crate::{c::y, d};
        #[cfg(test)]
        mod tests { use crate::e; fn g() { if true { } } }
        fn h() { super::super::e::z(); }
    "##;
    let (code, _) = without_test_modules(&code_only(text));
    let got = references(&code, &["x".into(), "y".into()], &tops);
    assert_eq!(got.into_iter().collect::<Vec<_>>(), vec!["a", "b", "c", "d", "e"]);
    let got = references(&code, &["x".into()], &tops);
    assert!(!got.contains("e"), "super::super:: from a depth-1 module does not reach the crate root's e by that path");
    let (_, files) = without_test_modules(&code_only("#[cfg(test)]\nmod tests;\n"));
    assert_eq!(files, vec!["tests".to_string()]);
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    edges.entry("a".into()).or_default().insert("b".into());
    edges.entry("b".into()).or_default().insert("c".into());
    assert!(cycles(&edges).is_empty());
    edges.entry("c".into()).or_default().insert("a".into());
    assert_eq!(cycles(&edges), vec![vec!["a".to_string(), "b".into(), "c".into(), "a".into()]]);
}

/// The sibling modules (second level, `T::A`) a file of `T` names:
/// `crate::T::A`, `crate::T::{A, …}` and `super::A` chains that climb to `T`.
fn sibling_references(code: &str, modpath: &[String], siblings: &BTreeSet<String>) -> BTreeSet<String> {
    let top = &modpath[0];
    // the same scan as for top-level modules, with `crate::T::` as the root
    let rooted = code.replace(&format!("crate::{top}::"), "crate::");
    let mut found = references(&rooted, &modpath[1..], siblings);
    found.retain(|m| siblings.contains(m));
    found
}

/// Edges between the second-level modules of each top-level module
/// (`image::auth` → `image::registry`), with the files that make them.
fn sibling_graphs() -> BTreeMap<String, BTreeMap<String, BTreeMap<String, BTreeSet<String>>>> {
    let src = src_dir();
    let mut out = BTreeMap::new();
    for top in top_level_modules() {
        let files = module_files(&top);
        let siblings: BTreeSet<String> = files.iter().filter(|(_, mp)| mp.len() >= 2).map(|(_, mp)| mp[1].clone()).collect();
        let mut g: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
        for (path, modpath) in &files {
            if modpath.len() < 2 {
                continue;
            }
            let text = fs::read_to_string(path).unwrap_or_default();
            let (code, _) = without_test_modules(&code_only(&text));
            let rel = path.strip_prefix(&src).unwrap_or(path).display().to_string();
            let from = modpath[1].clone();
            let edges = g.entry(from.clone()).or_default();
            for to in sibling_references(&code, modpath, &siblings) {
                if to != from {
                    edges.entry(to).or_default().insert(rel.clone());
                }
            }
        }
        out.insert(top, g);
    }
    out
}

#[test]
fn sibling_modules_form_no_cycle() {
    let mut report = Vec::new();
    for (top, g) in sibling_graphs() {
        let edges: BTreeMap<String, BTreeSet<String>> = g.iter().map(|(k, v)| (k.clone(), v.keys().cloned().collect())).collect();
        for c in cycles(&edges) {
            let mut line = format!("{top}: {}", c.join(" -> "));
            for w in c.windows(2) {
                let files = g.get(&w[0]).and_then(|e| e.get(&w[1])).map(|f| f.iter().cloned().collect::<Vec<_>>().join(", ")).unwrap_or_default();
                line.push_str(&format!("\n    {} -> {}: {files}", w[0], w[1]));
            }
            report.push(line);
        }
    }
    assert!(report.is_empty(), "modules of one folder form cycles:\n{}", report.join("\n"));
}
