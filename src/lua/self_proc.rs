//! `bocker.spawn_self(args)`: bocker itself run as a child (same binary,
//! same environment and state root), its stdout and stderr merged into one
//! pipe read line by line. The API's `POST /build` streams a build's output
//! this way: a build prints to the process's stdout (and its RUN steps'
//! output goes there), which a handler thread of the service cannot
//! capture in-process. Args are an argv (no shell); stdin is /dev/null.
use mlua::{Lua, Table, UserData, UserDataMethods};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};

/// A line longer than this comes back in pieces (bounded memory).
const MAX_LINE: u64 = 64 << 10;

pub struct SelfProc {
    child: Child,
    out: BufReader<std::io::PipeReader>,
    _close: super::MustClose,
}

impl SelfProc {
    fn spawn(args: &[String]) -> std::io::Result<SelfProc> {
        let exe = std::env::current_exe()?;
        let (reader, writer) = std::io::pipe()?;
        let child = Command::new(exe).args(args).stdin(Stdio::null()).stdout(writer.try_clone()?).stderr(writer).spawn()?;
        // the Command (and its copies of the write end) are gone: EOF comes when the child ends
        Ok(SelfProc { child, out: BufReader::new(reader), _close: super::MustClose::new() })
    }

    /// The next line (with its newline), at most MAX_LINE bytes; None at the end.
    fn read_line(&mut self) -> std::io::Result<Option<Vec<u8>>> {
        let mut line = Vec::new();
        (&mut self.out).take(MAX_LINE).read_until(b'\n', &mut line)?;
        Ok(if line.is_empty() { None } else { Some(line) })
    }
}

impl Drop for SelfProc {
    fn drop(&mut self) {
        // a handler that stops reading (the client went away) ends the child
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

impl UserData for SelfProc {
    fn add_methods<M: UserDataMethods<Self>>(m: &mut M) {
        m.add_method_mut("read_line", |lua, this, ()| match this.read_line().map_err(crate::lua::ext)? {
            Some(l) => Ok(mlua::Value::String(lua.create_string(&l)?)),
            None => Ok(mlua::Value::Nil),
        });
        // the exit status (128+N for a signal)
        m.add_method_mut("wait", |_, this, ()| {
            let st = this.child.wait().map_err(crate::lua::ext)?;
            use std::os::unix::process::ExitStatusExt;
            Ok(st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0)))
        });
        m.add_method_mut("kill", |_, this, ()| {
            let _ = this.child.kill();
            Ok(())
        });
    }
}

pub fn register(lua: &Lua, bocker: &Table) -> mlua::Result<()> {
    bocker.set(
        "spawn_self",
        lua.create_function(|lua, args: Vec<String>| match SelfProc::spawn(&args) {
            Ok(p) => Ok(mlua::MultiValue::from_iter([mlua::Value::UserData(lua.create_userdata(p)?)])),
            Err(e) => super::convert::result::<bool, _>(lua, Err(format!("starting bocker: {e}"))),
        })?,
    )?;
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn long_lines_come_in_pieces() {
        let (r, mut w) = std::io::pipe().unwrap();
        let child = std::process::Command::new("true").spawn().unwrap();
        let mut p = super::SelfProc { child, out: std::io::BufReader::new(r), _close: crate::lua::MustClose::new() };
        let big = vec![b'x'; (super::MAX_LINE as usize) + 10];
        let t = std::thread::spawn(move || {
            use std::io::Write;
            w.write_all(&big).unwrap();
            w.write_all(b"\nend\n").unwrap();
        });
        assert_eq!(p.read_line().unwrap().unwrap().len() as u64, super::MAX_LINE);
        assert_eq!(p.read_line().unwrap().unwrap(), b"xxxxxxxxxx\n");
        assert_eq!(p.read_line().unwrap().unwrap(), b"end\n");
        t.join().unwrap();
        assert_eq!(p.read_line().unwrap(), None);
    }
}
