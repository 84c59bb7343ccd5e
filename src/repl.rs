//! The interactive Lua REPL (rustyline), in the manner of lua.c: a line is
//! first tried as an expression, incomplete input continues on the next
//! line, tables pretty-print, history persists, Ctrl-C clears the line,
//! Ctrl-D exits, Tab completes globals and table keys (`bocker.` + Tab).
use mlua::{Lua, MultiValue, Table, Value};
use rustyline::completion::Completer;
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::validate::Validator;
use rustyline::{Context, Editor, Helper};
use std::path::PathBuf;

struct LuaHelper {
    lua: Lua,
}

/// Keys of the table at `path` (e.g. "bocker.image") starting with `partial`.
fn table_keys(lua: &Lua, path: &[&str], partial: &str) -> Vec<String> {
    let mut t: Table = lua.globals();
    for p in path {
        match t.get::<Value>(*p) {
            Ok(Value::Table(next)) => t = next,
            _ => return Vec::new(),
        }
    }
    let mut out: Vec<String> = t
        .pairs::<Value, Value>()
        .filter_map(|kv| kv.ok())
        .filter_map(|(k, _)| match k {
            Value::String(s) => Some(s.to_string_lossy()),
            _ => None,
        })
        .filter(|k| k.starts_with(partial))
        .collect();
    out.sort();
    out
}

impl Completer for LuaHelper {
    type Candidate = String;
    fn complete(&self, line: &str, pos: usize, _ctx: &Context<'_>) -> rustyline::Result<(usize, Vec<String>)> {
        let before = &line[..pos];
        let start = before
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.' || c == ':'))
            .map(|i| i + 1)
            .unwrap_or(0);
        let word = &before[start..];
        let (path, partial, offset) = match word.rfind(['.', ':']) {
            Some(i) => (word[..i].split(['.', ':']).collect::<Vec<_>>(), &word[i + 1..], start + i + 1),
            None => (Vec::new(), word, start),
        };
        Ok((offset, table_keys(&self.lua, &path, partial)))
    }
}
impl Hinter for LuaHelper {
    type Hint = String;
}
impl Highlighter for LuaHelper {}
impl Validator for LuaHelper {}
impl Helper for LuaHelper {}

fn history_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))?;
    Some(base.join("bocker").join("history"))
}

/// Renders a value as the REPL prints it; tables nest to a few levels.
pub fn render(v: &Value, depth: usize) -> String {
    match v {
        Value::Nil => "nil".into(),
        Value::Boolean(b) => b.to_string(),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{:?}", s.to_string_lossy()),
        Value::Table(t) => {
            if depth > 3 {
                return "{...}".into();
            }
            let mut items: Vec<(String, String)> = Vec::new();
            let len = t.raw_len();
            for i in 1..=len {
                let v: Value = t.raw_get(i).unwrap_or(Value::Nil);
                items.push((String::new(), render(&v, depth + 1)));
            }
            let mut keyed: Vec<(String, String)> = t
                .pairs::<Value, Value>()
                .filter_map(|kv| kv.ok())
                .filter(|(k, _)| !matches!(k, Value::Integer(i) if *i >= 1 && (*i as usize) <= len))
                .map(|(k, v)| {
                    let key = match &k {
                        Value::String(s) => {
                            let s = s.to_string_lossy();
                            if s.chars().all(|c| c.is_alphanumeric() || c == '_') && !s.starts_with(|c: char| c.is_ascii_digit()) {
                                s
                            } else {
                                format!("[{s:?}]")
                            }
                        }
                        other => format!("[{}]", render(other, depth + 1)),
                    };
                    (key, render(&v, depth + 1))
                })
                .collect();
            keyed.sort();
            items.extend(keyed);
            if items.is_empty() {
                return "{}".into();
            }
            let pad = "  ".repeat(depth + 1);
            let body: Vec<String> = items
                .into_iter()
                .map(|(k, v)| if k.is_empty() { format!("{pad}{v}") } else { format!("{pad}{k} = {v}") })
                .collect();
            format!("{{\n{},\n{}}}", body.join(",\n"), "  ".repeat(depth))
        }
        Value::Function(_) => "function".into(),
        Value::Error(e) => format!("error: {e}"),
        other => other.type_name().to_string(),
    }
}

enum Eval {
    Done(Result<MultiValue, mlua::Error>),
    Incomplete,
}

fn is_incomplete(e: &mlua::Error) -> bool {
    matches!(e, mlua::Error::SyntaxError { incomplete_input: true, .. })
}

/// Like lua.c: try `return LINE` first, then LINE as a statement.
fn eval(lua: &Lua, src: &str) -> Eval {
    if let Ok(f) = lua.load(format!("return {src}")).set_name("=stdin").into_function() {
        return Eval::Done(f.call::<MultiValue>(()));
    }
    match lua.load(src).set_name("=stdin").into_function() {
        Ok(f) => Eval::Done(f.call::<MultiValue>(())),
        Err(e) if is_incomplete(&e) => Eval::Incomplete,
        Err(e) => Eval::Done(Err(e)),
    }
}

pub fn run() -> u8 {
    let lua = match crate::lua::new() {
        Ok(l) => l,
        Err(e) => {
            eprintln!("bocker: {e}");
            return 125;
        }
    };
    let mut rl: Editor<LuaHelper, rustyline::history::DefaultHistory> = match Editor::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("bocker: cannot start the REPL: {e}");
            return 125;
        }
    };
    rl.set_helper(Some(LuaHelper { lua: lua.clone() }));
    let hist = history_path();
    if let Some(h) = &hist {
        let _ = rl.load_history(h);
    }
    println!("bocker {} (Lua 5.4): the `bocker` table holds the core. Ctrl-D exits.", env!("CARGO_PKG_VERSION"));
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { "> " } else { ">> " };
        match rl.readline(prompt) {
            Ok(line) => {
                if buffer.is_empty() && line.trim().is_empty() {
                    continue;
                }
                if !buffer.is_empty() {
                    buffer.push('\n');
                }
                buffer.push_str(&line);
                match eval(&lua, &buffer) {
                    Eval::Incomplete => continue,
                    Eval::Done(r) => {
                        let _ = rl.add_history_entry(buffer.as_str());
                        if let Some(h) = &hist {
                            if let Some(d) = h.parent() {
                                let _ = std::fs::create_dir_all(d);
                            }
                            let _ = rl.save_history(h);
                        }
                        match r {
                            Ok(vals) if !vals.is_empty() => {
                                let parts: Vec<String> = vals.iter().map(|v| render(v, 0)).collect();
                                println!("{}", parts.join("\t"));
                            }
                            Ok(_) => {}
                            Err(e) => eprintln!("{e}"),
                        }
                        buffer.clear();
                    }
                }
            }
            Err(ReadlineError::Interrupted) => {
                buffer.clear();
                continue;
            }
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("bocker: {e}");
                return 1;
            }
        }
    }
    0
}
