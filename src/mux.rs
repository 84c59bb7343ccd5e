//! Docker's multiplexed stream (logs, attach and exec without a
//! terminal; also what a monitor sends its attached clients): each chunk
//! behind an 8-byte header, `[STREAM, 0, 0, 0, SIZE as u32 big-endian]`,
//! STREAM 0 stdin, 1 stdout, 2 stderr. Writing ([`frame`]) and reading
//! ([`Decoder`], bounded: a peer cannot make it hold more than one frame
//! of at most [`MAX_FRAME`] bytes).

/// The stream a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameStream {
    Stdin = 0,
    Stdout = 1,
    Stderr = 2,
    /// Docker's `systemerr` (API 1.42+); on a monitor's attach socket, the
    /// container's exit status (decimal), its last frame
    System = 3,
}

impl FrameStream {
    pub fn from_code(code: u8) -> Option<FrameStream> {
        match code {
            0 => Some(FrameStream::Stdin),
            1 => Some(FrameStream::Stdout),
            2 => Some(FrameStream::Stderr),
            3 => Some(FrameStream::System),
            _ => None,
        }
    }
}

/// The largest frame a [`Decoder`] accepts (bocker's writers send at most
/// 64 KiB at once).
pub const MAX_FRAME: usize = 1 << 20;

/// `data` as one or more frames (a frame holds at most u32::MAX bytes).
pub fn frame(stream: FrameStream, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 8);
    frame_into(stream, data, &mut out);
    out
}

/// [`frame`], appended to `out`.
pub fn frame_into(stream: FrameStream, data: &[u8], out: &mut Vec<u8>) {
    for chunk in data.chunks(u32::MAX as usize) {
        out.push(stream as u8);
        out.extend_from_slice(&[0, 0, 0]);
        out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
        out.extend_from_slice(chunk);
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum DecodeError {
    #[error("multiplexed stream: bad frame header {0:?}")]
    BadHeader([u8; 8]),
    #[error("multiplexed stream: a frame of {0} bytes (at most {MAX_FRAME})")]
    TooLarge(usize),
}

/// Splits a byte stream back into frames as bytes come in.
#[derive(Default)]
pub struct Decoder {
    buf: Vec<u8>,
}

impl Decoder {
    pub fn push(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// The next whole frame, if one is in.
    pub fn next_frame(&mut self) -> Result<Option<(FrameStream, Vec<u8>)>, DecodeError> {
        if self.buf.len() < 8 {
            return Ok(None);
        }
        let mut head = [0u8; 8];
        head.copy_from_slice(&self.buf[..8]);
        let stream = FrameStream::from_code(head[0]).filter(|_| head[1..4] == [0, 0, 0]).ok_or(DecodeError::BadHeader(head))?;
        let size = u32::from_be_bytes([head[4], head[5], head[6], head[7]]) as usize;
        if size > MAX_FRAME {
            return Err(DecodeError::TooLarge(size));
        }
        if self.buf.len() < 8 + size {
            return Ok(None);
        }
        let data = self.buf[8..8 + size].to_vec();
        self.buf.drain(..8 + size);
        Ok(Some((stream, data)))
    }
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
        assert_eq!(FrameStream::from_code(3), Some(FrameStream::System));
        assert_eq!(FrameStream::from_code(4), None);
    }

    #[test]
    fn decoder_waits_for_whole_frames_and_refuses_garbage() {
        let mut d = Decoder::default();
        let mut bytes = frame(FrameStream::Stdout, b"hello");
        bytes.extend(frame(FrameStream::Stderr, b"e"));
        d.push(&bytes[..6]);
        assert_eq!(d.next_frame(), Ok(None));
        d.push(&bytes[6..]);
        assert_eq!(d.next_frame(), Ok(Some((FrameStream::Stdout, b"hello".to_vec()))));
        assert_eq!(d.next_frame(), Ok(Some((FrameStream::Stderr, b"e".to_vec()))));
        assert_eq!(d.next_frame(), Ok(None));
        d.push(&[4, 0, 0, 0, 0, 0, 0, 1]);
        assert!(matches!(d.next_frame(), Err(DecodeError::BadHeader(_))));
        let mut d = Decoder::default();
        d.push(&[1, 0, 0, 0, 0xff, 0, 0, 0]);
        assert!(matches!(d.next_frame(), Err(DecodeError::TooLarge(_))));
    }
}
