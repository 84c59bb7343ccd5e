//! runc's logging (logrus): `--log FILE` and `--log-format text|json`.
//! conmon and containerd's shim read the last `error` entry of the log
//! file to report why a command failed, so an error goes there as
//! `{"level":"error","msg":"...","time":"..."}` (json) or
//! `time="..." level=error msg="..."` (text), and to stderr as the plain
//! message. Without `--log` the entry itself goes to stderr.
use std::io::Write;
use std::time::SystemTime;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Debug,
    Warning,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Debug => "debug",
            Level::Warning => "warning",
            Level::Error => "error",
        }
    }
}

pub struct Logger {
    pub file: Option<std::fs::File>,
    pub format: Format,
    pub debug: bool,
}

impl Default for Logger {
    fn default() -> Self {
        Logger { file: None, format: Format::Text, debug: false }
    }
}

impl Logger {
    /// One log entry; errors also go to stderr as the plain message when
    /// the entry went to a file.
    pub fn log(&mut self, level: Level, msg: &str) {
        if level == Level::Debug && !self.debug {
            return;
        }
        let line = entry(self.format, level, msg, &rfc3339(SystemTime::now(), false));
        match &mut self.file {
            Some(f) => {
                let _ = f.write_all(line.as_bytes());
                if level == Level::Error {
                    eprintln!("{msg}");
                }
            }
            None => eprint!("{line}"),
        }
    }
    pub fn error(&mut self, msg: &str) {
        self.log(Level::Error, msg)
    }
    pub fn warn(&mut self, msg: &str) {
        self.log(Level::Warning, msg)
    }
    pub fn debug(&mut self, msg: &str) {
        self.log(Level::Debug, msg)
    }
}

/// One line in logrus's text or JSON format.
pub fn entry(format: Format, level: Level, msg: &str, time: &str) -> String {
    match format {
        Format::Json => {
            let v = serde_json::json!({ "level": level.name(), "msg": msg, "time": time });
            format!("{v}\n")
        }
        Format::Text => format!("time={time:?} level={} msg={msg:?}\n", level.name()),
    }
}

/// `t` in RFC 3339 (see `crate::rfc3339::format_time`).
pub fn rfc3339(t: SystemTime, nanos: bool) -> String {
    crate::rfc3339::format_time(t, nanos)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn times_as_go_formats_them() {
        let t = UNIX_EPOCH + Duration::new(1_795_984_516, 123_450_000);
        assert_eq!(rfc3339(t, false), "2026-11-29T20:35:16Z");
        assert_eq!(rfc3339(t, true), "2026-11-29T20:35:16.12345Z");
        assert_eq!(rfc3339(UNIX_EPOCH, true), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(UNIX_EPOCH + Duration::from_secs(951_782_400), false), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn entries_as_logrus_writes_them() {
        let t = "2026-11-29T20:35:16Z";
        assert_eq!(
            entry(Format::Json, Level::Error, "container does not exist", t),
            "{\"level\":\"error\",\"msg\":\"container does not exist\",\"time\":\"2026-11-29T20:35:16Z\"}\n"
        );
        assert_eq!(
            entry(Format::Text, Level::Error, "a \"b\"", t),
            "time=\"2026-11-29T20:35:16Z\" level=error msg=\"a \\\"b\\\"\"\n"
        );
    }
}
