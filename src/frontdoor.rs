//! The three Lua front doors: a verb, a script file, a script on stdin.
//! Each builds one Lua state with the `bocker` core and runs the chunk;
//! errors are printed here with their context, and mapped to exit codes.
use crate::lua as core;
use mlua::{Function, Lua, MultiValue, Table, Value};
use std::io::Read;

/// Exit status when bocker itself fails (Docker's convention).
pub const EXIT_BOCKER: u8 = 125;

fn new_lua() -> Option<Lua> {
    match core::new() {
        Ok(l) => Some(l),
        Err(e) => {
            eprintln!("bocker: cannot start Lua core: {e}");
            None
        }
    }
}

/// Converts a Lua return value into a process exit status.
fn status_of(v: &Value) -> u8 {
    match v {
        Value::Integer(i) => (*i).clamp(0, 255) as u8,
        Value::Number(n) => (*n as i64).clamp(0, 255) as u8,
        Value::Boolean(false) => 1,
        _ => 0,
    }
}

/// `bocker VERB ARGS...`
pub fn run_verb(verb: &str, args: &[String]) -> u8 {
    let Some(lua) = new_lua() else { return EXIT_BOCKER };
    crate::trace::mark("lua ready");
    let module = match core::verbs::load(&lua, verb) {
        Ok(Some(m)) => m,
        Ok(None) => {
            eprintln!("bocker: unknown verb '{verb}'\nSee 'bocker help'.");
            return EXIT_BOCKER;
        }
        Err(e) => {
            eprintln!("bocker: verb '{verb}' failed to load: {e}");
            return EXIT_BOCKER;
        }
    };
    let run: Function = match module.get("run") {
        Ok(f) => f,
        Err(_) => {
            eprintln!("bocker: verb '{verb}' has no run function");
            return EXIT_BOCKER;
        }
    };
    let argv = match lua.create_sequence_from(args.iter().cloned()) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("bocker: {e}");
            return EXIT_BOCKER;
        }
    };
    crate::trace::mark("verb loaded");
    let status = match run.call::<Value>(argv) {
        Ok(v) => status_of(&v),
        Err(e) => {
            report_verb_error(verb, &e);
            EXIT_BOCKER
        }
    };
    drop((run, module));
    core::finish(lua);
    status
}

/// A verb's uncaught error: one line for the user, the traceback on request.
fn report_verb_error(verb: &str, e: &mlua::Error) {
    let msg = core::error_message(e);
    let first = msg.lines().next().unwrap_or("error");
    eprintln!("bocker {verb}: {first}");
    if std::env::var_os("BOCKER_DEBUG").is_some() {
        eprintln!("{e}");
    }
}

/// Runs `src` as a chunk named `name` with `arg` set as lua.c does.
fn run_chunk(lua: &Lua, name: &str, src: &[u8], script: &str, args: &[String]) -> u8 {
    let setup = || -> mlua::Result<(Function, MultiValue)> {
        let arg: Table = lua.create_table()?;
        arg.set(-1, "bocker")?;
        arg.set(0, script)?;
        for (i, a) in args.iter().enumerate() {
            arg.set(i as i64 + 1, a.as_str())?;
        }
        lua.globals().set("arg", arg)?;
        let chunk = lua.load(src).set_name(name).into_function()?;
        let xpcall: Function = lua.globals().get("xpcall")?;
        let traceback: Function = lua.globals().get::<Table>("debug")?.get("traceback")?;
        let mut call = vec![Value::Function(chunk), Value::Function(traceback)];
        for a in args {
            call.push(Value::String(lua.create_string(a)?));
        }
        Ok((xpcall, MultiValue::from_iter(call)))
    };
    let (xpcall, call) = match setup() {
        Ok(x) => x,
        Err(e) => {
            eprintln!("bocker: {}", core::error_message(&e));
            return 1;
        }
    };
    match xpcall.call::<MultiValue>(call) {
        Ok(ret) => {
            let mut it = ret.into_iter();
            match it.next() {
                Some(Value::Boolean(true)) => it.next().map(|v| status_of(&v)).unwrap_or(0),
                _ => match it.next() {
                    // a build error (lua/lib/build.lua): its message and status
                    Some(Value::Table(t)) if matches!(t.get::<Value>("status"), Ok(Value::Integer(_))) => {
                        let msg: String = t.get("message").unwrap_or_default();
                        if !msg.is_empty() {
                            eprintln!("bocker: {msg}");
                        }
                        t.get::<i64>("status").map(|s| s.clamp(1, 255) as u8).unwrap_or(1)
                    }
                    v => {
                        let err = v.map(|v| lua_value_text(&v)).unwrap_or_default();
                        eprintln!("bocker: {err}");
                        1
                    }
                },
            }
        }
        Err(e) => {
            eprintln!("bocker: {e}");
            1
        }
    }
}

fn lua_value_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string_lossy(),
        Value::Error(e) => e.to_string(),
        other => format!("{other:?}"),
    }
}

/// `bocker script FILE.lua ARGS...`
pub fn run_script(file: &str, args: &[String]) -> u8 {
    let src = match std::fs::read(file) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("bocker: cannot read script {file}: {e}");
            return 1;
        }
    };
    let Some(lua) = new_lua() else { return EXIT_BOCKER };
    // lua.c skips a leading '#!' line.
    let body: &[u8] = if src.starts_with(b"#") {
        let end = src.iter().position(|&b| b == b'\n').unwrap_or(src.len());
        // keep the newline so line numbers stay right
        &src[end..]
    } else {
        &src
    };
    let status = run_chunk(&lua, &format!("@{file}"), body, file, args);
    core::finish(lua);
    status
}

/// `bocker < script.lua`
pub fn run_stdin() -> u8 {
    let mut src = Vec::new();
    if let Err(e) = std::io::stdin().read_to_end(&mut src) {
        eprintln!("bocker: cannot read stdin: {e}");
        return 1;
    }
    let Some(lua) = new_lua() else { return EXIT_BOCKER };
    let status = run_chunk(&lua, "=stdin", &src, "-", &[]);
    core::finish(lua);
    status
}
