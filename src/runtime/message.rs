//! The messages that cross the pipes between bocker's processes, as one
//! type: the monitor's go to the container's init, the init's failure to
//! the monitor (EOF means it exec'd), and a detached monitor's report to
//! the CLI, a foreground monitor's exit to the CLI. One JSON object per
//! message.
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

#[derive(Serialize, Deserialize, Debug, Clone, PartialEq)]
#[serde(tag = "msg", rename_all = "snake_case", deny_unknown_fields)]
pub enum Message {
    /// parent → init: cgroup joined, network ready: build the root
    Go,
    /// init → parent: the mounts are in place: run the prestart and
    /// createRuntime hooks, then resume
    Hooks,
    /// parent → init: go on; the container's state for its own hooks
    Resume { state: Option<crate::runtime::oci_state::OciState> },
    /// init → parent: set up; waiting for `start` (or exec'ing now)
    Ready,
    /// detached monitor → CLI: the container's program is running
    Started,
    /// foreground monitor → CLI: the container exited with `code` and its
    /// records are settled (state saved; with --rm, out of the store and
    /// its name free); the monitor only deletes files after this
    Exited { code: i32 },
    /// init → monitor, monitor → CLI: the container did not start; `code`
    /// is Docker's (125 bocker failed, 126 not executable, 127 not found)
    Failed { code: i32, message: String },
}

impl Message {
    pub fn failed(code: i32, message: impl Into<String>) -> Message {
        Message::Failed { code, message: message.into() }
    }

    /// Writes the message (one write: pipes keep it whole).
    pub fn send(&self, mut to: impl Write) -> std::io::Result<()> {
        let mut line = serde_json::to_vec(self).map_err(std::io::Error::other)?;
        line.push(b'\n');
        to.write_all(&line)?;
        to.flush()
    }

    /// Reads one message (a line): None when the writer closed without
    /// one; a garbled message reads as bocker's own failure. Reads byte by
    /// byte, so nothing after the message is consumed (and a reader whose
    /// process still holds a copy of the write end never waits for EOF).
    pub fn receive(mut from: impl Read) -> Option<Message> {
        let mut buf = Vec::new();
        let mut b = [0u8; 1];
        loop {
            match from.read(&mut b) {
                Ok(1) if b[0] == b'\n' => break,
                Ok(1) => buf.push(b[0]),
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                _ => break,
            }
            if buf.len() > 1 << 20 {
                break;
            }
        }
        if buf.iter().all(|b| b.is_ascii_whitespace()) {
            return None;
        }
        Some(serde_json::from_slice(&buf).unwrap_or_else(|e| {
            Message::failed(125, format!("unreadable message from a bocker process: {e}"))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::Message;
    #[test]
    fn round_trip_and_eof() {
        for m in [Message::Go, Message::Hooks, Message::Ready, Message::Resume { state: None }, Message::Started, Message::Exited { code: 3 }, Message::failed(127, "exec: \"x\": not found\nsecond line")] {
            let mut buf = Vec::new();
            m.send(&mut buf).unwrap();
            assert_eq!(Message::receive(&buf[..]), Some(m));
        }
        assert_eq!(Message::receive(&b""[..]), None);
        assert!(matches!(Message::receive(&b"ok"[..]), Some(Message::Failed { code: 125, .. })));
    }
}
