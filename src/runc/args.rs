//! Flags as runc (urfave/cli on Go's flag package) takes them: `-name`
//! and `--name` alike, `--name value` or `--name=value`, boolean flags
//! with an optional `=true|false`, repeatable flags, flags before the
//! positional arguments (the first non-flag, or `--`, ends them).
use anyhow::{bail, Result};
use std::collections::HashMap;

/// One flag a command accepts: its names (long first) and whether it
/// takes a value.
pub struct Flag {
    pub names: &'static [&'static str],
    pub value: bool,
}

pub const fn flag(names: &'static [&'static str]) -> Flag {
    Flag { names, value: false }
}

pub const fn opt(names: &'static [&'static str]) -> Flag {
    Flag { names, value: true }
}

/// What a command line held, keyed by each flag's first name.
#[derive(Debug, Default)]
pub struct Parsed {
    values: HashMap<&'static str, Vec<String>>,
    pub positional: Vec<String>,
}

impl Parsed {
    /// The last value given for `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.values.get(name).and_then(|v| v.last()).map(String::as_str)
    }
    pub fn values(&self, name: &str) -> &[String] {
        self.values.get(name).map(Vec::as_slice).unwrap_or(&[])
    }
    pub fn has(&self, name: &str) -> bool {
        self.value(name).is_some_and(|v| v != "false")
    }
    /// A numeric value, with the flag named in the error.
    pub fn number<T: std::str::FromStr>(&self, name: &str) -> Result<Option<T>> {
        match self.value(name) {
            None => Ok(None),
            Some(v) => match v.parse() {
                Ok(n) => Ok(Some(n)),
                Err(_) => bail!("invalid value {v:?} for flag -{name}: parse error"),
            },
        }
    }
}

/// Parses `args` against `flags`. With `stop_at_positional`, the first
/// non-flag ends flag parsing (everything after it is positional, as
/// Go's flag package does); the global flags use this to find the command.
pub fn parse(args: &[String], flags: &[Flag]) -> Result<Parsed> {
    let mut out = Parsed::default();
    let mut i = 0;
    while i < args.len() {
        let a = &args[i];
        if a == "--" {
            out.positional.extend(args[i + 1..].iter().cloned());
            break;
        }
        let Some(body) = a.strip_prefix("--").or_else(|| a.strip_prefix('-')).filter(|b| !b.is_empty() && a != "-") else {
            out.positional.extend(args[i..].iter().cloned());
            break;
        };
        let (name, inline) = match body.split_once('=') {
            Some((n, v)) => (n, Some(v.to_string())),
            None => (body, None),
        };
        let Some(f) = flags.iter().find(|f| f.names.contains(&name)) else {
            bail!("flag provided but not defined: -{name}");
        };
        let value = if f.value {
            match inline {
                Some(v) => v,
                None => {
                    i += 1;
                    match args.get(i) {
                        Some(v) => v.clone(),
                        None => bail!("flag needs an argument: -{name}"),
                    }
                }
            }
        } else {
            match inline.as_deref() {
                None | Some("true") | Some("1") => "true".into(),
                Some("false") | Some("0") => "false".into(),
                Some(v) => bail!("invalid boolean value {v:?} for -{name}"),
            }
        };
        out.values.entry(f.names[0]).or_default().push(value);
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FLAGS: &[Flag] = &[opt(&["bundle", "b"]), flag(&["detach", "d"]), opt(&["env", "e"])];

    fn p(args: &[&str]) -> Result<Parsed> {
        parse(&args.iter().map(|s| s.to_string()).collect::<Vec<_>>(), FLAGS)
    }

    #[test]
    fn go_flag_forms() {
        let r = p(&["-b", "x", "--detach", "--env=A=1", "-e", "B=2", "id", "-d"]).expect("parse");
        assert_eq!(r.value("bundle"), Some("x"));
        assert!(r.has("detach"));
        assert_eq!(r.values("env"), ["A=1", "B=2"]);
        assert_eq!(r.positional, ["id", "-d"], "flags end at the first positional");
        let r = p(&["--bundle=/b", "--detach=false", "--", "-x"]).expect("parse");
        assert_eq!(r.value("bundle"), Some("/b"));
        assert!(!r.has("detach"));
        assert_eq!(r.positional, ["-x"]);
    }

    #[test]
    fn errors_name_the_flag() {
        assert_eq!(p(&["--nope"]).expect_err("unknown").to_string(), "flag provided but not defined: -nope");
        assert!(p(&["--bundle"]).expect_err("no value").to_string().contains("-bundle"));
        assert!(p(&["-d=maybe"]).is_err());
    }
}
