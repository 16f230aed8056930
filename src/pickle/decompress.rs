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
        return Err("the file is a zip archive (a skops or torch file?), not a pickle".into());
    } else {
        Compression::None
    })
}

/// The decompressed stream, at most `limit` bytes; a longer one is refused as a possible
/// decompression bomb.
pub fn decompress(compression: Compression, bytes: &[u8], limit: usize) -> Result<Vec<u8>, String> {
    let mut out = Capped { bytes: Vec::new(), limit };
    let result = match compression {
        Compression::None => return Ok(bytes.to_vec()),
        Compression::Zlib => copy(flate2::read::ZlibDecoder::new(bytes), &mut out),
        Compression::Gzip => copy(flate2::read::MultiGzDecoder::new(bytes), &mut out),
        Compression::Bz2 => copy(bzip2::read::MultiBzDecoder::new(bytes), &mut out),
        Compression::Xz => {
            lzma_rs::xz_decompress(&mut io::BufReader::new(bytes), &mut out).map_err(lzma_error)
        }
        Compression::Lzma => {
            let options =
                lzma_rs::decompress::Options { memlimit: Some(limit), ..Default::default() };
            lzma_rs::lzma_decompress_with_options(
                &mut io::BufReader::new(bytes),
                &mut out,
                &options,
            )
            .map_err(lzma_error)
        }
    };
    match result {
        Ok(()) => Ok(out.bytes),
        Err(_) if out.bytes.len() >= limit => Err(format!(
            "the {compression} stream expands beyond {} MiB, the limit for a model (a decompression bomb?)",
            limit >> 20
        )),
        Err(e) => Err(format!("the {compression} stream is corrupt: {e}")),
    }
}

fn copy(mut reader: impl Read, out: &mut Capped) -> io::Result<()> {
    io::copy(&mut reader, out).map(|_| ())
}

fn lzma_error(e: lzma_rs::error::Error) -> io::Error {
    match e {
        lzma_rs::error::Error::IoError(e) => e,
        other => io::Error::new(io::ErrorKind::InvalidData, other.to_string()),
    }
}

/// A buffer that refuses to grow past `limit` bytes.
struct Capped {
    bytes: Vec<u8>,
    limit: usize,
}

impl Write for Capped {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() + buf.len() > self.limit {
            let room = self.limit - self.bytes.len();
            self.bytes.extend_from_slice(&buf[..room]);
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

    #[test]
    fn lz4_and_zip_files_are_named() {
        assert!(detect(&[0x04, 0x22, 0x4d, 0x18, 0]).unwrap_err().contains("lz4"));
        assert!(detect(b"PK\x03\x04").unwrap_err().contains("zip"));
    }
}
