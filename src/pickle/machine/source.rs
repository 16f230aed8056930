//! The bytes of a stream as a loader takes them. Protocol 4 cuts a stream into FRAMEs, and the
//! two unpicklers read them differently: the pure-Python one, which joblib uses, reads a frame's
//! bytes from the file at once and then reads opcodes only from inside it (an opcode that runs
//! past its frame's end, or a FRAME before the current one is used up, is an error), while the C
//! one (`pickle.load`) takes a FRAME only as a promise that its bytes are there. joblib reads an
//! array's bytes, and an object array's nested stream, from the file itself: past the frame it
//! is in, whatever the frame still holds.
//!
//! Every position here is an offset in the data, whichever way it was reached.

use super::{Stop, stop};

/// The largest FRAME running past the end of the data that a loader is sure to allocate (and
/// then fill with what the data holds): 64 MiB, which any machine has room for (the test
/// suite's loaders run in a 2 GiB address space).
const MAX_SHORT_FRAME: u64 = 64 << 20;
/// Which unpickler's framing the reading follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// CPython's `pickle._Unpickler` (joblib's reader): frames are strict.
    Python,
    /// CPython's `_pickle.Unpickler` (`pickle.load`): frames are only read ahead.
    C,
}

/// A frame being read: its next byte and its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    next: usize,
    end: usize,
}

/// The data and where a loader reads it next.
pub struct Source<'a> {
    data: &'a [u8],
    framing: Framing,
    /// Where the file is read next: past the current frame, under Python's framing.
    file: usize,
    /// Python's framing: the frame opcodes are read from, until it is used up.
    frame: Option<Frame>,
    /// A FRAME declared more bytes than the data holds.
    short_frame: bool,
}

impl<'a> Source<'a> {
    pub fn new(data: &'a [u8], framing: Framing) -> Self {
        Source { data, framing, file: 0, frame: None, short_frame: false }
    }

    /// Where the next byte read comes from.
    pub fn position(&self) -> usize {
        match self.frame {
            Some(frame) if frame.next < frame.end => frame.next,
            _ => self.file,
        }
    }

    /// Whether every byte of the data has been read (the current frame included).
    pub fn at_end(&self) -> bool {
        self.position() >= self.data.len()
    }

    /// Bytes not read yet: what the current frame still holds and what the file holds past it.
    pub fn unread(&self) -> usize {
        self.frame_remainder() + self.data.len() - self.file
    }

    /// Bytes left unread in the current frame.
    pub fn frame_remainder(&self) -> usize {
        self.frame.map_or(0, |frame| frame.end - frame.next)
    }

    /// The next `n` bytes, or why the loader fails to read them: a short read at the end of
    /// the data (every loader then fails on its next read, so nothing runs in between) or, under
    /// Python's framing, a read that would cross its frame's end.
    pub fn read(&mut self, n: usize, what: &str) -> Result<&'a [u8], Stop> {
        if let Some(frame) = &mut self.frame {
            let left = frame.end - frame.next;
            if left > 0 || n == 0 {
                if n > left {
                    return stop(
                        frame.next,
                        format!(
                            "{what} needs {n} bytes, but its FRAME holds only {left} more (the loader \
                             stops: the pickle is exhausted before the end of the frame)"
                        ),
                    );
                }
                let start = frame.next;
                frame.next += n;
                return Ok(&self.data[start..start + n]);
            }
            self.frame = None;
        }
        self.read_file(n, what)
    }

    /// The next line with its newline, or what is left of the data if no newline comes; under
    /// Python's framing a line must end inside its frame.
    pub fn readline(&mut self, what: &str) -> Result<&'a [u8], Stop> {
        if let Some(frame) = &mut self.frame {
            if frame.next < frame.end {
                let start = frame.next;
                let window = &self.data[start..frame.end];
                let Some(newline) = memchr::memchr(b'\n', window) else {
                    return stop(
                        start,
                        format!(
                            "{what} does not end within its FRAME (the loader stops: the pickle is \
                             exhausted before the end of the frame)"
                        ),
                    );
                };
                frame.next = start + newline + 1;
                return Ok(&self.data[start..frame.next]);
            }
            self.frame = None;
        }
        let start = self.file;
        let end =
            memchr::memchr(b'\n', &self.data[start..]).map_or(self.data.len(), |i| start + i + 1);
        self.file = end;
        Ok(&self.data[start..end])
    }

    /// Where the file is read next, past any frame.
    pub fn file_position(&self) -> usize {
        self.file
    }

    /// `n` bytes from the file, past any frame, as joblib reads an array's bytes.
    pub fn read_file(&mut self, n: usize, what: &str) -> Result<&'a [u8], Stop> {
        let start = self.file;
        let remaining = self.data.len() - start;
        if n > remaining {
            return stop(
                start,
                format!(
                    "{what} needs {n} bytes, but only {remaining} remain (the file is truncated)"
                ),
            );
        }
        self.file += n;
        Ok(&self.data[start..start + n])
    }

    /// Whether a FRAME declared more bytes than the data holds: the pure-Python unpickler reads
    /// what there is, the C one stops.
    pub fn short_frame(&self) -> bool {
        self.short_frame
    }

    /// A FRAME of `n` bytes begins.
    pub fn load_frame(&mut self, at: usize, n: u64) -> Result<(), Stop> {
        let remaining = (self.data.len() - self.file) as u64;
        self.short_frame |= n > remaining;
        // Both unpicklers ask the file for the whole frame at once, and reading a file makes a
        // buffer of the size asked for before it learns how much there is: a frame far larger
        // than the data fails with MemoryError or not, depending on the machine's memory.
        if n > remaining && n > MAX_SHORT_FRAME {
            return stop(
                at,
                format!(
                    "a FRAME declares {n} bytes where {remaining} remain: a loader allocates the \
                     frame before reading it, and may run out of memory (the loader stops there)"
                ),
            );
        }
        match self.framing {
            Framing::Python => {
                if self.frame_remainder() > 0 {
                    return stop(
                        at,
                        format!(
                            "a FRAME begins while the current one still holds {} bytes (the loader \
                             stops there)",
                            self.frame_remainder()
                        ),
                    );
                }
                // The frame holds what the file still has, if it is shorter than declared.
                let n = n.min(remaining) as usize;
                self.frame = Some(Frame { next: self.file, end: self.file + n });
                self.file += n;
            }
            Framing::C => {
                if n > remaining {
                    return stop(
                        at,
                        format!(
                            "a FRAME of {n} bytes runs past the end of the data ({remaining} remain)"
                        ),
                    );
                }
            }
        }
        Ok(())
    }

    /// A nested stream starts at the file position, with no frame of its own yet (joblib reads
    /// an object array's stream with a new unpickler on the same file). Returns the outer frame.
    pub fn enter_nested(&mut self) -> Option<Frame> {
        self.frame.take()
    }

    /// The nested stream ended: whatever its frame still held was read from the file and is
    /// dropped with its unpickler. Returns how many bytes were dropped.
    pub fn leave_nested(&mut self, outer: Option<Frame>) -> usize {
        let dropped = self.frame_remainder();
        self.frame = outer;
        dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_framing_refuses_a_read_across_the_end_of_a_frame() {
        let data = b"abcdef";
        let mut source = Source::new(data, Framing::Python);
        source.load_frame(0, 3).unwrap();
        assert_eq!(source.read(2, "x").unwrap(), b"ab");
        assert!(source.read(2, "x").unwrap_err().message.contains("exhausted"));
        let mut c = Source::new(data, Framing::C);
        c.load_frame(0, 3).unwrap();
        assert_eq!(c.read(2, "x").unwrap(), b"ab");
        assert_eq!(c.read(2, "x").unwrap(), b"cd");
    }

    #[test]
    fn a_used_up_frame_gives_way_to_the_file() {
        let mut source = Source::new(b"abcd", Framing::Python);
        source.load_frame(0, 2).unwrap();
        assert_eq!(source.read(2, "x").unwrap(), b"ab");
        assert_eq!(source.read(2, "x").unwrap(), b"cd");
        assert!(source.at_end());
    }

    #[test]
    fn the_file_is_read_past_the_frame_while_the_frame_is_not_used_up() {
        // As joblib reads an array's bytes: the frame's last byte is still read afterwards.
        let mut source = Source::new(b"abcXY", Framing::Python);
        source.load_frame(0, 3).unwrap();
        assert_eq!(source.read(2, "x").unwrap(), b"ab");
        assert_eq!(source.read_file(2, "array").unwrap(), b"XY");
        assert_eq!(source.position(), 2);
        assert_eq!(source.read(1, "x").unwrap(), b"c");
        assert!(source.at_end());
        assert!(source.read(1, "x").is_err());
    }

    #[test]
    fn a_line_must_end_inside_its_frame_and_at_the_end_of_data_is_what_is_left() {
        let mut source = Source::new(b"ab\ncd", Framing::Python);
        source.load_frame(0, 2).unwrap();
        assert!(source.readline("x").is_err());
        let mut file = Source::new(b"ab\ncd", Framing::Python);
        assert_eq!(file.readline("x").unwrap(), b"ab\n");
        assert_eq!(file.readline("x").unwrap(), b"cd");
        assert_eq!(file.readline("x").unwrap(), b"");
    }

    #[test]
    fn a_frame_before_the_current_one_is_used_up_stops_python_but_not_c() {
        let mut python = Source::new(b"abcd", Framing::Python);
        python.load_frame(0, 2).unwrap();
        assert!(python.load_frame(0, 2).is_err());
        let mut c = Source::new(b"abcd", Framing::C);
        c.load_frame(0, 2).unwrap();
        assert!(c.load_frame(0, 2).is_ok());
        assert!(c.load_frame(0, 5).is_err());
    }
}
