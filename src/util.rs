//! Small helpers with no home of their own, used from every layer: the size of a regular file
//! (looked up before opening), lowercase hex and SHA-256 digests, the excerpt of a long text for a message, the seeded generator behind the split
//! and the probes, and the longest class label any reader accepts.

use std::cell::Cell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;
use std::sync::Once;

use sha2::{Digest, Sha256};

/// The longest class label, in bytes, that the CSV reader, the ONNX check and the pickle reader
/// accept: one limit, so a label that trains can also be written and read back.
pub const MAX_LABEL_BYTES: usize = 4096;

/// The size of the regular file at `path`. Its type is looked up before the file is opened,
/// because opening a FIFO blocks until something writes to it.
pub fn regular_file_size(path: &Path) -> std::io::Result<u64> {
    let metadata = std::fs::metadata(path)?;
    if metadata.is_file() {
        Ok(metadata.len())
    } else {
        Err(std::io::Error::other("not a regular file"))
    }
}

/// `bytes` as lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of `bytes`, as lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

thread_local! {
    /// Set while this thread runs code under [`catch_panic`], whose panics are not printed.
    static CATCHING: Cell<bool> = const { Cell::new(false) };
}

/// Runs `f`, returning its value, or the message of a panic inside it (not printed): for
/// third-party code that may panic on hostile input (tract, the Parquet decoder), so that the
/// panic becomes an error naming the file.
pub fn catch_panic<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    static QUIET_HOOK: Once = Once::new();
    QUIET_HOOK.call_once(|| {
        // The default hook prints every panic; a caught one is reported as an error instead.
        let default = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if !CATCHING.with(Cell::get) {
                default(info);
            }
        }));
    });
    let was = CATCHING.with(|flag| flag.replace(true));
    let outcome = catch_unwind(AssertUnwindSafe(f));
    CATCHING.with(|flag| flag.set(was));
    outcome.map_err(|payload| {
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        excerpt(&message)
    })
}

/// The text of a cell or a name for an error message, shortened so that a 16 MiB cell cannot
/// flood the terminal.
pub fn excerpt(text: &str) -> String {
    const MAX_CHARS: usize = 60;
    match text.char_indices().nth(MAX_CHARS) {
        None => text.to_owned(),
        Some((cut, _)) => format!("{}... ({} bytes)", &text[..cut], text.len()),
    }
}

/// SplitMix64 (Steele, Lea and Flood 2014): tiny, fast and fully specified by its arithmetic,
/// written out here rather than taken from a crate whose stream may change between versions,
/// so one seed gives the same numbers on every machine and in every release.
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> SplitMix64 {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, bound), without modulo bias (Lemire 2019).
    pub fn below(&mut self, bound: u64) -> u64 {
        let threshold = bound.wrapping_neg() % bound;
        loop {
            let product = u128::from(self.next_u64()) * u128::from(bound);
            if (product as u64) >= threshold {
                return (product >> 64) as u64;
            }
        }
    }

    /// Fisher-Yates shuffle.
    pub fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = self.below(i as u64 + 1) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_and_sha256_are_lowercase_and_padded() {
        assert_eq!(hex(&[0x00, 0x0f, 0xab]), "000fab");
        // SHA-256 of the empty string, as published in FIPS 180-2's examples.
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn an_excerpt_keeps_sixty_characters_and_names_the_length() {
        assert_eq!(excerpt("short"), "short");
        let long = "é".repeat(100);
        assert_eq!(excerpt(&long), format!("{}... (200 bytes)", "é".repeat(60)));
    }

    #[test]
    fn splitmix64_matches_the_published_reference_stream() {
        // First outputs of the reference C implementation (xoshiro.di.unimi.it/splitmix64.c).
        let mut rng = SplitMix64::new(1477776061723855037);
        let got: Vec<u64> = (0..3).map(|_| rng.next_u64()).collect();
        assert_eq!(got, [1985237415132408290, 2979275885539914483, 13511426838097143398]);
    }
}
