//! The compressions `joblib.dump(..., compress=...)` writes, recognised by their magic bytes and
//! undone with a hard cap on the output, so a small file cannot expand into gigabytes.

use std::fmt;
use std::io::{self, Read, Write};

use serde::Serialize;

/// How a file's pickle stream is wrapped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    None,
    Zlib,
    Gzip,
    Bz2,
    Xz,
    Lzma,
}

impl fmt::Display for Compression {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Compression::None => "uncompressed",
            Compression::Zlib => "zlib",
            Compression::Gzip => "gzip",
            Compression::Bz2 => "bz2",
            Compression::Xz => "xz",
            Compression::Lzma => "lzma",
        })
    }
}

/// Recognises the compression from the file's first bytes (joblib's own prefixes).
pub fn detect(bytes: &[u8]) -> Result<Compression, String> {
    let starts = |prefix: &[u8]| bytes.starts_with(prefix);
    Ok(if starts(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if starts(b"BZh") {
        Compression::Bz2
    } else if starts(&[0xfd, b'7', b'z', b'X', b'Z', 0x00]) {
        Compression::Xz
    } else if starts(&[0x5d, 0x00, 0x00]) {
        Compression::Lzma
    } else if bytes.len() >= 2
        && bytes[0] == 0x78
        && u16::from_be_bytes([bytes[0], bytes[1]]).is_multiple_of(31)
    {
        Compression::Zlib
    } else if starts(&[0x04, 0x22, 0x4d, 0x18]) {
        return Err("the file is lz4-compressed, which is not supported; re-dump it with \
                    joblib.dump(model, path, compress=3) (zlib) or uncompressed"
            .into());
    } else if starts(b"ZF") {
        return Err(
            "the file is in the joblib format used before version 0.10, which keeps arrays \
                    in separate files; re-dump it with a current joblib"
                .into(),
        );
    } else if starts(b"PK\x03\x04") {
        return Err("the file is a zip archive (PyTorch's or skops' layout?), not a pickle; \
                    convert reads one pickle or joblib file, and `onnxify scan` lists what an \
                    archive's pickles reference"
            .into());
    } else {
        Compression::None
    })
}

/// What undoing a file's compression gave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unpacked {
    /// The decompressed members, one after another, as joblib's reader returns them: it reads
    /// on through any member that follows the first.
    pub stream: Vec<u8>,
    /// Compressed members read.
    pub members: usize,
    /// Offset in the file of bytes after the last member that are not another member.
    pub trailing: Option<usize>,
    /// Whether decoding stopped at the size cap (or a dictionary beyond it), a limit of ours.
    pub capped: bool,
    /// Why decoding stopped early (corruption, the size cap); `stream` then holds what was
    /// decoded before.
    pub error: Option<String>,
}

/// Undoes `compression` member by member, stopping once the output would pass `limit` bytes.
/// Memory stays bounded by the output and `limit`: xz and lzma decoders refuse a dictionary
/// larger than `limit`, since no stream within the limit needs one.
pub fn unpack(compression: Compression, bytes: &[u8], limit: usize) -> Unpacked {
    let mut unpacked =
        Unpacked { stream: Vec::new(), members: 0, trailing: None, capped: false, error: None };
    if compression == Compression::None {
        unpacked.stream = bytes.to_vec();
        return unpacked;
    }
    let mut out = Capped { bytes: Vec::new(), limit, full: false };
    let mut at = 0;
    loop {
        let before = out.bytes.len();
        let problem = match member(compression, &bytes[at..], &mut out, limit) {
            Ok(0) => io::Error::new(io::ErrorKind::UnexpectedEof, "it holds no data"),
            Ok(taken) => {
                unpacked.members += 1;
                at += taken;
                if at == bytes.len() {
                    break;
                }
                if detect(&bytes[at..]) == Ok(compression) {
                    continue;
                }
                unpacked.trailing = Some(at);
                break;
            }
            Err(e) => e,
        };
        if out.full {
            unpacked.capped = true;
            unpacked.error = Some(format!(
                "the {compression} stream expands beyond {} MiB, the limit for a model \
                 (a decompression bomb?)",
                limit >> 20
            ));
        } else if problem.kind() == io::ErrorKind::OutOfMemory {
            unpacked.capped = true;
            unpacked.error = Some(format!(
                "the {compression} stream needs a dictionary of more than {} MiB to decode, more \
                 than a model within the limit needs (a decompression bomb?)",
                limit >> 20
            ));
        } else if unpacked.members == 0 {
            unpacked.error = Some(format!("the {compression} stream is corrupt: {problem}"));
        } else {
            // Something after a good member that does not decode is trailing data.
            out.bytes.truncate(before);
            unpacked.trailing = Some(at);
        }
        break;
    }
    unpacked.stream = out.bytes;
    unpacked
}

/// The decompressed stream, at most `limit` bytes, or why it could not be decoded whole; bytes
/// after the last compressed member are appended as they are. What the unit tests check of
/// [`unpack`].
#[cfg(test)]
pub fn decompress(compression: Compression, bytes: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let unpacked = unpack(compression, bytes, limit);
    if let Some(error) = unpacked.error {
        return Err(error);
    }
    let mut stream = unpacked.stream;
    if let Some(at) = unpacked.trailing {
        stream.extend_from_slice(&bytes[at..]);
    }
    Ok(stream)
}

/// Decodes the one member at the start of `input` into `out`; returns the bytes it took.
fn member(
    compression: Compression,
    input: &[u8],
    out: &mut Capped,
    limit: usize,
) -> io::Result<usize> {
    // The `bufread` decoders take from `rest` exactly the bytes of one member.
    let mut rest = input;
    match compression {
        Compression::None => unreachable!("nothing to decode"),
        Compression::Zlib => copy(flate2::bufread::ZlibDecoder::new(&mut rest), out)?,
        Compression::Gzip => copy(flate2::bufread::GzDecoder::new(&mut rest), out)?,
        Compression::Bz2 => copy(bzip2::bufread::BzDecoder::new(&mut rest), out)?,
        Compression::Xz | Compression::Lzma => {
            // A dictionary larger than the output limit is never needed; liblzma counts its own
            // state (tens of KiB) against the limit too.
            let memlimit = limit as u64 + (1 << 20);
            let stream = if compression == Compression::Xz {
                xz2::stream::Stream::new_stream_decoder(memlimit, 0)
            } else {
                xz2::stream::Stream::new_lzma_decoder(memlimit)
            };
            return lzma_member(stream.map_err(lzma_error)?, input, out);
        }
    }
    Ok(input.len() - rest.len())
}

fn copy(mut reader: impl Read, out: &mut Capped) -> io::Result<()> {
    io::copy(&mut reader, out).map(|_| ())
}

/// Runs liblzma over `input` to the end of one stream, a chunk of output at a time.
fn lzma_member(
    mut stream: xz2::stream::Stream,
    input: &[u8],
    out: &mut Capped,
) -> io::Result<usize> {
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        let (taken, made) = (stream.total_in(), stream.total_out());
        let status = stream
            .process(&input[taken as usize..], &mut chunk, xz2::stream::Action::Run)
            .map_err(lzma_error)?;
        let produced = (stream.total_out() - made) as usize;
        out.write_all(&chunk[..produced])?;
        if status == xz2::stream::Status::StreamEnd {
            return Ok(stream.total_in() as usize);
        }
        if produced == 0 && stream.total_in() == taken {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "the stream is truncated"));
        }
    }
}

fn lzma_error(e: xz2::stream::Error) -> io::Error {
    match e {
        xz2::stream::Error::MemLimit => io::Error::new(io::ErrorKind::OutOfMemory, e),
        other => io::Error::new(io::ErrorKind::InvalidData, other),
    }
}

/// A buffer that refuses to grow past `limit` bytes.
struct Capped {
    bytes: Vec<u8>,
    limit: usize,
    /// Set once a write would have passed the limit.
    full: bool,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > self.limit {
            let room = self.limit - self.bytes.len();
            self.bytes.extend_from_slice(&buf[..room]);
            self.full = true;
            return Err(io::Error::other("output limit reached"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zlib(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn a_pickle_is_not_mistaken_for_a_compressed_stream() {
        assert_eq!(detect(b"\x80\x04\x95").unwrap(), Compression::None);
        assert_eq!(detect(b"").unwrap(), Compression::None);
    }

    #[test]
    fn zlib_round_trips_within_the_limit() {
        let data = b"\x80\x04N.".repeat(100);
        let packed = zlib(&data);
        assert_eq!(detect(&packed).unwrap(), Compression::Zlib);
        assert_eq!(decompress(Compression::Zlib, &packed, 1 << 20).unwrap(), data);
    }

    #[test]
    fn a_stream_expanding_past_the_limit_is_refused() {
        let packed = zlib(&vec![0u8; 10 << 20]);
        let error = decompress(Compression::Zlib, &packed, 1 << 20).unwrap_err();
        assert!(error.contains("decompression bomb"), "{error}");
    }

    #[test]
    fn a_corrupt_stream_says_so() {
        let mut packed = zlib(b"\x80\x04N.");
        packed.truncate(4);
        let error = decompress(Compression::Zlib, &packed, 1 << 20).unwrap_err();
        assert!(error.contains("zlib stream is corrupt"), "{error}");
    }

    fn xz(data: &[u8], lzma_alone: bool, dict_size: u32) -> Vec<u8> {
        use xz2::stream::{Check, Filters, LzmaOptions, Stream};
        let mut options = LzmaOptions::new_preset(1).unwrap();
        options.dict_size(dict_size);
        let stream = if lzma_alone {
            Stream::new_lzma_encoder(&options).unwrap()
        } else {
            Stream::new_stream_encoder(Filters::new().lzma2(&options), Check::Crc64).unwrap()
        };
        let mut encoder = xz2::write::XzEncoder::new_stream(Vec::new(), stream);
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    fn bz2(data: &[u8]) -> Vec<u8> {
        let mut encoder = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::fast());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn xz_and_lzma_bombs_stop_at_the_limit() {
        for lzma_alone in [false, true] {
            let packed = xz(&vec![0u8; 16 << 20], lzma_alone, 1 << 20);
            let compression = detect(&packed).unwrap();
            let error = decompress(compression, &packed, 1 << 20).unwrap_err();
            assert!(error.contains("decompression bomb"), "{compression}: {error}");
        }
    }

    #[test]
    fn an_xz_dictionary_larger_than_the_limit_is_refused_before_it_is_allocated() {
        for lzma_alone in [false, true] {
            let packed = xz(b"\x80\x04N.", lzma_alone, 64 << 20);
            let compression = detect(&packed).unwrap();
            let error = decompress(compression, &packed, 1 << 20).unwrap_err();
            assert!(error.contains("needs a dictionary"), "{compression}: {error}");
            assert_eq!(decompress(compression, &packed, 128 << 20).unwrap(), b"\x80\x04N.");
        }
    }

    #[test]
    fn every_member_is_read_and_what_follows_them_is_trailing_data() {
        let (first, second) = (b"\x80\x04N.".as_slice(), b"cos\nsystem\n.".as_slice());
        type Pack = fn(&[u8]) -> Vec<u8>;
        let packers: [(&str, Pack); 5] = [
            ("zlib", zlib),
            ("gzip", gzip),
            ("bz2", bz2),
            ("xz", |d| xz(d, false, 1 << 20)),
            ("lzma", |d| xz(d, true, 1 << 20)),
        ];
        for (name, pack) in packers {
            let two = [pack(first), pack(second)].concat();
            let compression = detect(&two).unwrap();
            let unpacked = unpack(compression, &two, 1 << 20);
            assert_eq!(unpacked.stream, [first, second].concat(), "{name}");
            assert_eq!((unpacked.members, unpacked.trailing), (2, None), "{name}");

            let packed = pack(first);
            let raw = [packed.as_slice(), second].concat();
            let unpacked = unpack(compression, &raw, 1 << 20);
            assert_eq!(unpacked.stream, first, "{name}");
            assert_eq!((unpacked.members, unpacked.trailing), (1, Some(packed.len())), "{name}");
            let stream = decompress(compression, &raw, 1 << 20).unwrap();
            assert_eq!(stream, [first, second].concat(), "{name}: the trailing bytes are kept");
        }
    }

    #[test]
    fn a_broken_member_after_a_good_one_is_trailing_data() {
        let good = zlib(b"\x80\x04N.");
        let mut broken = zlib(b"cos\nsystem\n.");
        broken.truncate(broken.len() - 3);
        let unpacked = unpack(Compression::Zlib, &[good.as_slice(), &broken].concat(), 1 << 20);
        assert_eq!(unpacked.stream, b"\x80\x04N.");
        assert_eq!(unpacked.trailing, Some(good.len()));
        assert_eq!(unpacked.error, None);
    }

    #[test]
    fn lz4_and_zip_files_are_named() {
        assert!(detect(&[0x04, 0x22, 0x4d, 0x18, 0]).unwrap_err().contains("lz4"));
        assert!(detect(b"PK\x03\x04").unwrap_err().contains("zip"));
    }
}
