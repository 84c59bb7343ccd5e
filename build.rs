//! Embeds every Lua file under lua/verbs, lua/lib and lua/api into the
//! binary, so the built-in verbs need no install step: as bytecode,
//! compiled here by the same Lua the binary runs (mlua of the same
//! version, a build dependency), so that no start of bocker parses them
//! (`bocker run` compiled ~0.5 ms of Lua each time). A syntax error in
//! one of them fails the build.
use std::{env, fs, path::Path};

fn collect(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|s| s.to_str()) == Some("lua") {
                let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                out.push((name, p.canonicalize().unwrap().to_string_lossy().into_owned()));
            }
        }
    }
    out.sort();
    out
}

/// The `summary = "..."` line of a built-in verb's returned table (two
/// spaces in, a plain string without escapes), so `bocker help` lists the
/// verbs without compiling each one. None when the verb says it otherwise:
/// help then loads that verb.
fn static_summary(path: &str) -> Option<String> {
    let src = fs::read_to_string(path).ok()?;
    src.lines().find_map(|l| {
        let rest = l.strip_prefix("  summary = \"")?;
        let body = rest.strip_suffix("\",")?;
        (!body.contains('\\') && !body.contains('"')).then(|| body.to_string())
    })
}

/// Every file under `dir` (sorted), for the build id.
fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_under(&p, out);
            } else {
                out.push(p);
            }
        }
    }
}

/// A hash of the sources (src, lua, Cargo.toml, Cargo.lock): bocker and
/// bocker-monitor built from the same sources carry the same id, and the
/// monitor refuses to run for a bocker of another build (a stale binary
/// left beside a new one).
fn build_id(manifest: &Path) -> String {
    use std::hash::{Hash, Hasher};
    let mut files = Vec::new();
    for d in ["src", "lua"] {
        files_under(&manifest.join(d), &mut files);
    }
    files.push(manifest.join("Cargo.toml"));
    files.push(manifest.join("Cargo.lock"));
    files.sort();
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for f in files {
        f.strip_prefix(manifest).unwrap_or(&f).hash(&mut h);
        fs::read(&f).unwrap_or_default().hash(&mut h);
    }
    format!("{}-{:016x}", env::var("CARGO_PKG_VERSION").unwrap_or_default(), h.finish())
}

/// `path` compiled under `chunk_name` (what error messages and
/// tracebacks name), with its debug information (line numbers).
fn bytecode(lua: &mlua::Lua, chunk_name: &str, path: &str) -> Vec<u8> {
    let src = fs::read(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    match lua.load(src).set_name(chunk_name).into_function() {
        Ok(f) => f.dump(false),
        Err(e) => panic!("{path}: {e}"),
    }
}

fn main() {
    let manifest_dir = env::var("CARGO_MANIFEST_DIR").unwrap();
    println!("cargo:rerun-if-changed=src");
    println!("cargo:rerun-if-changed=Cargo.lock");
    println!("cargo:rustc-env=BOCKER_BUILD_ID={}", build_id(Path::new(&manifest_dir)));
    // read at run time: env!() would bake in the checkout the build script
    // was first compiled in, and a shared target dir would embed its Lua
    let manifest = env::var("CARGO_MANIFEST_DIR").unwrap();
    let root = Path::new(&manifest).join("lua");
    println!("cargo:rerun-if-changed=lua");
    println!("cargo:rerun-if-changed=lua/verbs");
    println!("cargo:rerun-if-changed=lua/lib");
    println!("cargo:rerun-if-changed=lua/api");
    let out_dir = Path::new(&env::var("OUT_DIR").unwrap()).join("luac");
    fs::create_dir_all(&out_dir).unwrap();
    let lua = mlua::Lua::new();
    let mut src = String::new();
    for (kind, sub) in [("VERBS", "verbs"), ("LIBS", "lib"), ("API", "api")] {
        src.push_str(&format!("pub static {kind}: &[(&str, &[u8])] = &[\n"));
        for (name, path) in collect(&root.join(sub)) {
            println!("cargo:rerun-if-changed={path}");
            let compiled = out_dir.join(format!("{sub}-{name}.luac"));
            fs::write(&compiled, bytecode(&lua, &format!("@lua/{sub}/{name}.lua"), &path)).unwrap();
            src.push_str(&format!("    ({name:?}, include_bytes!({:?})),\n", compiled.to_string_lossy()));
        }
        src.push_str("];\n");
    }
    src.push_str("pub static VERB_SUMMARIES: &[(&str, &str)] = &[\n");
    for (name, path) in collect(&root.join("verbs")) {
        if let Some(summary) = static_summary(&path) {
            src.push_str(&format!("    ({name:?}, {summary:?}),\n"));
        }
    }
    src.push_str("];\n");
    let out = Path::new(&env::var("OUT_DIR").unwrap()).join("embedded_lua.rs");
    fs::write(out, src).unwrap();
}
