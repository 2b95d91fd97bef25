//! The blocklist's on-disk form and the keys in it. Shared, through a
//! `#[path]` module, by the crate and by `build.rs` (which compiles the
//! bundled list into the binary), so the two cannot drift apart: this file
//! uses nothing of the crate.
//!
//! A list entry is one password or one SHA-1 (40 hex digits, optionally
//! `:count` as in a Pwned Passwords download). A password's key is the
//! first 8 bytes of SHA-1 over its folded form (`fold`); a SHA-1 line's key
//! is the first 8 bytes of that hash. The keys go into a binary fuse filter
//! with 16-bit fingerprints (xorf): about 2.25 bytes an entry, a false
//! positive rate of 2^-16, and no false negatives.
//!
//! File layout, little-endian: `RKBLOCK1`, the number of distinct keys
//! (u32), the filter's descriptor (xorf's 20-byte DMA form), then the
//! fingerprints (u16 each).

use sha1::{Digest, Sha1};
use unicode_normalization::UnicodeNormalization;
use xorf::{BinaryFuse16, Descriptor, DmaSerializable};

pub const MAGIC: &[u8; 8] = b"RKBLOCK1";
/// Where the fingerprints start.
pub const HEADER_LEN: usize = 8 + 4 + Descriptor::DMA_LEN;

/// Why a list could not be built or a file read as one. Nothing here
/// quotes the list: its entries are passwords.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("the list has no entries")]
    Empty,
    #[error("the list has more than 2^32 distinct entries")]
    TooMany,
    /// xorf's construction failed (it retries seeds itself; not seen in
    /// practice with distinct keys).
    #[error("the filter was not built: {0}")]
    Filter(&'static str),
    #[error("not a rekey blocklist (build one with `rekeyctl password blocklist build`)")]
    NotABlocklist,
    #[error("the blocklist file is truncated or damaged")]
    Damaged,
}

/// NFKC, Unicode full case folding, NFKC again (folding can undo a
/// normalisation): "ＰａｓｓＷＯＲＤ" and "password" are one entry.
pub fn fold(text: &str) -> String {
    let nfkc: String = text.nfkc().collect();
    caseless::default_case_fold_str(&nfkc).nfkc().collect()
}

/// The filter key of bytes that are already in the list's form.
pub fn key_of(bytes: &[u8]) -> u64 {
    let digest = Sha1::digest(bytes);
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_be_bytes(first)
}

/// The key of one line of a list: a SHA-1 as it is, a password folded.
/// None for a blank line.
pub fn line_key(line: &str) -> Option<u64> {
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return None;
    }
    let hash = line.split_once(':').map_or(line, |(h, count)| {
        if count.bytes().all(|b| b.is_ascii_digit()) {
            h
        } else {
            line
        }
    });
    if hash.len() == 40 && hash.bytes().all(|b| b.is_ascii_hexdigit()) {
        let mut first = [0u8; 8];
        for (i, byte) in first.iter_mut().enumerate() {
            // Checked as hex above: `to_digit` never falls back to 0.
            let digit = |at: usize| (hash.as_bytes()[at] as char).to_digit(16).unwrap_or(0) as u8;
            *byte = digit(2 * i) << 4 | digit(2 * i + 1);
        }
        return Some(u64::from_be_bytes(first));
    }
    Some(key_of(fold(line).as_bytes()))
}

/// The file for a set of keys (duplicates are dropped first: the filter's
/// construction fails on them).
pub fn build(mut keys: Vec<u64>) -> Result<Vec<u8>, FormatError> {
    keys.sort_unstable();
    keys.dedup();
    if keys.is_empty() {
        return Err(FormatError::Empty);
    }
    let count = u32::try_from(keys.len()).map_err(|_| FormatError::TooMany)?;
    let filter = BinaryFuse16::try_from(&keys).map_err(FormatError::Filter)?;
    let mut out = Vec::with_capacity(HEADER_LEN + filter.fingerprints.len() * 2);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&count.to_le_bytes());
    let mut descriptor = [0u8; Descriptor::DMA_LEN];
    filter.dma_copy_descriptor_to(&mut descriptor);
    out.extend_from_slice(&descriptor);
    for f in filter.fingerprints.iter() {
        out.extend_from_slice(&f.to_le_bytes());
    }
    Ok(out)
}

/// The header of a file, checked so that no lookup can index outside the
/// fingerprints: (number of keys, descriptor, number of fingerprints).
pub fn parse_header(bytes: &[u8]) -> Result<(u32, Descriptor, usize), FormatError> {
    if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
        return Err(FormatError::NotABlocklist);
    }
    let word =
        |at: usize| u32::from_le_bytes([bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]]);
    let mut seed = [0u8; 8];
    seed.copy_from_slice(&bytes[12..20]);
    let count = word(8);
    let descriptor = Descriptor {
        seed: u64::from_le_bytes(seed),
        segment_length: word(20),
        segment_length_mask: word(24),
        segment_count_length: word(28),
    };
    let body = bytes.len() - HEADER_LEN;
    let fingerprints = body / 2;
    let segment = descriptor.segment_length as usize;
    let needed = (descriptor.segment_count_length as usize).checked_add(2 * segment);
    if !body.is_multiple_of(2)
        || !segment.is_power_of_two()
        || descriptor.segment_length_mask as usize != segment - 1
        || !(descriptor.segment_count_length as usize).is_multiple_of(segment)
        || needed.is_none_or(|n| n > fingerprints)
    {
        return Err(FormatError::Damaged);
    }
    Ok((count, descriptor, fingerprints))
}
