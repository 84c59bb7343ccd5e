//! bocker's front doors: `bocker VERB ARGS...`, `bocker` (REPL or stdin
//! script), `bocker script FILE.lua`, plus the hidden re-exec entry points
//! (`__shim`, `__exec`, `__proxy`) that run without Lua or tokio.
use std::io::IsTerminal;
use std::process::ExitCode;

fn main() -> ExitCode {
    bocker::trace::mark("process start");
    let args: Vec<String> = std::env::args().collect();
    // Invoked as `bocker-runc` (a symlink): runc's command line, no Lua, no tokio.
    let name = args.first().map(|a| std::path::Path::new(a).file_name().unwrap_or_default().to_string_lossy().into_owned());
    if name.as_deref() == Some("bocker-runc") {
        return ExitCode::from(bocker::runc::main(&args));
    }
    // Hidden subcommands first: these processes must stay free of Lua.
    if let Some(code) = bocker::monitor::hidden_entry(&args) {
        return ExitCode::from(code);
    }
    let code = match args.get(1).map(String::as_str) {
        None => {
            if std::io::stdin().is_terminal() {
                bocker::repl::run()
            } else {
                bocker::frontdoor::run_stdin()
            }
        }
        Some("script") => match args.get(2) {
            Some(file) => bocker::frontdoor::run_script(file, &args[3..]),
            None => {
                eprintln!("bocker: script needs a file name\nSee 'bocker help'.");
                125
            }
        },
        Some("--version" | "-v") => {
            println!("bocker {}", env!("CARGO_PKG_VERSION"));
            0
        }
        Some("--help" | "-h") => bocker::frontdoor::run_verb("help", &[]),
        Some(verb) if verb.starts_with('-') => {
            eprintln!("bocker: unknown flag: {verb}\nSee 'bocker help'.");
            125
        }
        Some(verb) => bocker::frontdoor::run_verb(verb, &args[2..]),
    };
    bocker::trace::mark("cli exit");
    ExitCode::from(code)
}
