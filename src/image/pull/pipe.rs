//! A bounded pipe of byte chunks from one thread to another. The writer
//! refills the buffers the reader is done with, so a stream of any length
//! costs a fixed number of allocations and at most `depth` + 2 chunks of
//! memory. Dropping either end ends the stream for the other: the reader
//! sees the end of the data, the writer sees `Sent::ReaderGone`.

use std::io::{self, Read};
use std::sync::mpsc::{channel, sync_channel, Receiver, Sender, SyncSender};

pub fn pipe(depth: usize, chunk: usize) -> (ChunkWriter, ChunkReader) {
    let (full_tx, full_rx) = sync_channel(depth);
    let (empty_tx, empty_rx) = channel();
    (
        ChunkWriter {
            full: full_tx,
            empty: empty_rx,
            chunk,
        },
        ChunkReader {
            full: full_rx,
            empty: empty_tx,
            cur: Vec::new(),
            pos: 0,
        },
    )
}

/// What one `ChunkWriter::send_from` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sent {
    /// A chunk went into the pipe.
    Chunk,
    /// The source is at its end: nothing was sent.
    End,
    /// The reader is gone: what was read is dropped.
    ReaderGone,
}

pub struct ChunkWriter {
    full: SyncSender<Vec<u8>>,
    empty: Receiver<Vec<u8>>,
    chunk: usize,
}

impl ChunkWriter {
    /// Fill one chunk from `from` (until it is full or `from` ends) and
    /// send it; blocks while the pipe is full.
    pub fn send_from<R: Read + ?Sized>(&mut self, from: &mut R) -> io::Result<Sent> {
        let mut buf = self.empty.try_recv().unwrap_or_default();
        // recycled buffers keep their bytes: only a new tail is zeroed
        buf.resize(self.chunk, 0);
        let mut filled = 0;
        while filled < buf.len() {
            match from.read(&mut buf[filled..]) {
                Ok(0) => break,
                Ok(k) => filled += k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if filled == 0 {
            return Ok(Sent::End);
        }
        buf.truncate(filled);
        Ok(match self.full.send(buf) {
            Ok(()) => Sent::Chunk,
            Err(_) => Sent::ReaderGone,
        })
    }
}

pub struct ChunkReader {
    full: Receiver<Vec<u8>>,
    empty: Sender<Vec<u8>>,
    cur: Vec<u8>,
    pos: usize,
}

impl Read for ChunkReader {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        while self.pos == self.cur.len() {
            let Ok(next) = self.full.recv() else {
                return Ok(0); // the writer is gone: end of the data
            };
            let done = std::mem::replace(&mut self.cur, next);
            self.pos = 0;
            if done.capacity() > 0 {
                let _ = self.empty.send(done);
            }
        }
        let n = out.len().min(self.cur.len() - self.pos);
        out[..n].copy_from_slice(&self.cur[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn carries_a_stream_and_recycles_buffers() {
        let data: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
        let (mut w, mut r) = pipe(2, 4096);
        let src = data.clone();
        let t = std::thread::spawn(move || {
            let mut from = &src[..];
            let mut chunks = 0;
            while w.send_from(&mut from).unwrap() == Sent::Chunk {
                chunks += 1;
            }
            chunks
        });
        let mut got = Vec::new();
        r.read_to_end(&mut got).unwrap();
        assert_eq!(got, data);
        assert_eq!(t.join().unwrap(), 25);
    }

    #[test]
    fn writer_learns_the_reader_is_gone() {
        let (mut w, r) = pipe(1, 16);
        drop(r);
        assert_eq!(w.send_from(&mut &[1u8; 64][..]).unwrap(), Sent::ReaderGone);
        assert_eq!(w.send_from(&mut &[][..]).unwrap(), Sent::End);
    }
}
