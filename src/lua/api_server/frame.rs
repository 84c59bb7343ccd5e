//! The Docker API's multiplexed stream (logs, attach and exec without a
//! terminal): each chunk behind an 8-byte header, `[STREAM, 0, 0, 0,
//! SIZE as u32 big-endian]`, STREAM 0 stdin, 1 stdout, 2 stderr.

/// The stream a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStream {
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
}

impl FrameStream {
    pub fn from_code(code: u8) -> Option<FrameStream> {
        match code {
            0 => Some(FrameStream::Stdin),
            1 => Some(FrameStream::Stdout),
            2 => Some(FrameStream::Stderr),
            _ => None,
        }
    }
}

/// `data` as one or more frames (a frame holds at most u32::MAX bytes).
pub fn frame(stream: FrameStream, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    for chunk in data.chunks(u32::MAX as usize) {
        out.push(stream as u8);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        out.extend_from_slice(chunk);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_carry_stream_and_big_endian_size() {
        assert_eq!(frame(FrameStream::Stderr, b"hi"), vec![2, 0, 0, 0, 0, 0, 0, 2, b'h', b'i']);
        assert_eq!(frame(FrameStream::Stdout, &[7u8; 300])[..8], [1, 0, 0, 0, 0, 0, 1, 44]);
        assert!(frame(FrameStream::Stdout, b"").is_empty());
        assert_eq!(FrameStream::from_code(2), Some(FrameStream::Stderr));
        assert_eq!(FrameStream::from_code(3), None);
    }
}
