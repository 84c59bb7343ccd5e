//! Reading a container's log: all of it, the last N lines, and following
//! it until the container exits.
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::Path;

/// Byte offset where the last `n` lines of `data` start.
pub fn tail_offset(data: &[u8], n: usize) -> usize {
    if n == 0 {
        return data.len();
    }
    let mut end = data.len();
    if end > 0 && data[end - 1] == b'\n' {
        end -= 1;
    }
    let mut seen = 0;
    for i in (0..end).rev() {
        if data[i] == b'\n' {
            seen += 1;
            if seen == n {
                return i + 1;
            }
        }
    }
    0
}

/// Writes the log to `out`; with `follow`, keeps going while `running()`.
pub fn copy(path: &Path, tail: Option<usize>, follow: bool, running: &dyn Fn() -> bool, out: &mut dyn Write) -> std::io::Result<()> {
    let mut f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !follow => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut data = Vec::new();
    f.read_to_end(&mut data)?;
    let start = tail.map(|n| tail_offset(&data, n)).unwrap_or(0);
    out.write_all(&data[start..])?;
    out.flush()?;
    if !follow {
        return Ok(());
    }
    let mut pos = data.len() as u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let alive = running();
        f.seek(SeekFrom::Start(pos))?;
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                break;
            }
            out.write_all(&buf[..n])?;
            pos += n as u64;
        }
        out.flush()?;
        if !alive {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    #[test]
    fn tail_lines() {
        let d = b"a\nb\nc\n";
        assert_eq!(&d[tail_offset(d, 1)..], b"c\n");
        assert_eq!(&d[tail_offset(d, 2)..], b"b\nc\n");
        assert_eq!(&d[tail_offset(d, 5)..], b"a\nb\nc\n");
        assert_eq!(&d[tail_offset(d, 0)..], b"");
        let e = b"a\nb";
        assert_eq!(&e[tail_offset(e, 1)..], b"b");
    }
}
