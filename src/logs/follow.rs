//! Handing a log's entries to a consumer: what was written, then with
//! `follow` what comes, until the container no longer runs (or `until`
//! passed, or the consumer has had enough).
use super::{now_nanos, Entry, LogReader};

/// How often a follower looks for more.
pub const POLL: std::time::Duration = std::time::Duration::from_millis(50);

/// Where [`drive`] hands the entries.
pub trait EntrySink {
    /// false: stop (the reader went away)
    fn entry(&mut self, e: Entry) -> std::io::Result<bool>;
    /// all there is now was handed out (flush); false: stop
    fn idle(&mut self) -> std::io::Result<bool>;
}

/// Reads `reader` into `sink`; with `follow`, on while `running()`.
pub fn drive(reader: &mut LogReader, follow: bool, until: Option<i64>, running: &dyn Fn() -> bool, sink: &mut dyn EntrySink) -> std::io::Result<()> {
    loop {
        // asked before reading: what the container wrote before it ended
        // is in the file by the time it is seen ended
        let alive = follow && running();
        loop {
            while let Some(e) = reader.next_entry(!alive)? {
                if !sink.entry(e)? {
                    return Ok(());
                }
            }
            if reader.finished() || !follow || !reader.follow_rotation()? {
                break;
            }
        }
        if !alive || reader.finished() || until.is_some_and(|u| now_nanos() > u) {
            sink.idle()?;
            return Ok(());
        }
        if !sink.idle()? {
            return Ok(());
        }
        std::thread::sleep(POLL);
    }
}
