//! Lists of passwords nobody may choose: the bundled one (the 100 000 most
//! common passwords of SecLists' 10-million list, compiled into the binary
//! by build.rs from shared/data/common-passwords.txt) and an operator's
//! (`rekeyctl password blocklist build`, loaded from a file at start).
//!
//! Both are binary fuse filters over the first 8 bytes of a SHA-1
//! (`format`), so a list of passwords and a list of SHA-1s (a Pwned
//! Passwords download) become the same structure. A lookup is a SHA-1 of
//! the candidate and three memory reads: no allocation, no parsing, and the
//! bundled filter is read in place from the binary's read-only data.

pub mod format;

use std::path::Path;

use xorf::{BinaryFuse16, BinaryFuse16Ref, Filter, FilterRef};

pub use format::{FormatError, fold};

/// The bundled list's file, aligned so that its fingerprints can be read
/// as `u16` in place.
#[repr(C, align(8))]
struct Aligned<B: ?Sized>(B);

static BUNDLED_TOP: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/common-passwords-100k.rkbl"
)));
static BUNDLED_HEAD: &Aligned<[u8]> = &Aligned(*include_bytes!(concat!(
    env!("OUT_DIR"),
    "/common-passwords-10k.rkbl"
)));

/// How many entries the bundled list has, and its first tier's (the
/// estimate prices a word from the first tier lower).
pub const BUNDLED_ENTRIES: usize = 100_000;
pub const BUNDLED_HEAD_ENTRIES: usize = 10_000;

/// An operator's list that could not be loaded; each names the file.
#[derive(Debug, thiserror::Error)]
pub enum BlocklistError {
    #[error("{path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Format {
        path: String,
        #[source]
        source: FormatError,
    },
}

enum Fingerprints {
    /// In the binary, read in place.
    Static(BinaryFuse16Ref<'static>),
    /// Read from a file at start.
    Owned(BinaryFuse16),
}

/// One immutable list.
pub struct Blocklist {
    filter: Fingerprints,
    entries: u32,
}

impl std::fmt::Debug for Blocklist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Blocklist({} entries)", self.entries)
    }
}

impl Blocklist {
    /// The bundled list: no work at all until the first lookup.
    pub fn bundled() -> &'static Blocklist {
        static LIST: std::sync::OnceLock<Blocklist> = std::sync::OnceLock::new();
        LIST.get_or_init(|| Self::from_static(&BUNDLED_TOP.0))
    }

    /// The first 10 000 entries of the bundled list.
    pub fn bundled_head() -> &'static Blocklist {
        static LIST: std::sync::OnceLock<Blocklist> = std::sync::OnceLock::new();
        LIST.get_or_init(|| Self::from_static(&BUNDLED_HEAD.0))
    }

    #[expect(
        clippy::expect_used,
        reason = "the bundled list is written by build.rs, which checks it"
    )]
    fn from_static(bytes: &'static [u8]) -> Self {
        let (entries, _, _) = format::parse_header(bytes).expect("build.rs writes a valid list");
        if cfg!(target_endian = "little") {
            let filter = BinaryFuse16Ref::from_dma(
                &bytes[12..format::HEADER_LEN],
                &bytes[format::HEADER_LEN..],
            );
            Self {
                filter: Fingerprints::Static(filter),
                entries,
            }
        } else {
            Self::from_bytes(bytes).expect("build.rs writes a valid list")
        }
    }

    /// A list from the bytes of a file `format::build` wrote.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FormatError> {
        let (entries, descriptor, count) = format::parse_header(bytes)?;
        let fingerprints = bytes[format::HEADER_LEN..]
            .chunks_exact(2)
            .take(count)
            .map(|b| u16::from_le_bytes([b[0], b[1]]))
            .collect();
        Ok(Self {
            filter: Fingerprints::Owned(BinaryFuse16 {
                descriptor,
                fingerprints,
            }),
            entries,
        })
    }

    /// Reads a list an operator built; every problem names the file.
    pub fn load(path: &Path) -> Result<Self, BlocklistError> {
        let path_text = || path.display().to_string();
        let bytes = std::fs::read(path).map_err(|source| BlocklistError::Read {
            path: path_text(),
            source,
        })?;
        Self::from_bytes(&bytes).map_err(|source| BlocklistError::Format {
            path: path_text(),
            source,
        })
    }

    /// Distinct entries in the list.
    pub fn entries(&self) -> usize {
        self.entries as usize
    }

    /// Whether `text`, already folded (or, for SHA-1 lists, as typed), is
    /// on the list. A false positive has a chance of 2^-16.
    pub fn contains(&self, text: &str) -> bool {
        self.contains_key(format::key_of(text.as_bytes()))
    }

    /// `contains` for a key already computed (`format::key_of`): one SHA-1
    /// serves every list a password is looked up in.
    pub fn contains_key(&self, key: u64) -> bool {
        match &self.filter {
            Fingerprints::Static(f) => f.contains(&key),
            Fingerprints::Owned(f) => f.contains(&key),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(lines: &[&str]) -> Blocklist {
        let keys = lines.iter().filter_map(|l| format::line_key(l)).collect();
        Blocklist::from_bytes(&format::build(keys).unwrap()).unwrap()
    }

    #[test]
    fn the_bundled_list_holds_the_published_list_and_nothing_else_much() {
        let list = Blocklist::bundled();
        // Folding merges a few entries (`Password` and `password`).
        assert!(
            list.entries() <= BUNDLED_ENTRIES && list.entries() > 95_000,
            "{}",
            list.entries()
        );
        let source = include_str!("../../../data/common-passwords.txt");
        let mut checked = 0;
        for line in source.lines().step_by(97) {
            assert!(list.contains(&fold(line)), "{line:?} missing");
            checked += 1;
        }
        assert!(checked > 1000);
        let head = Blocklist::bundled_head();
        assert!(head.entries() <= BUNDLED_HEAD_ENTRIES && head.entries() > 9_500);
        assert!(head.contains("password") && head.contains("qwerty"));
        // Random strings: false positives at about 2^-16.
        let hits = (0..20_000)
            .filter(|i| list.contains(&format!("Zq{i}-not-a-listed-password-{i}")))
            .count();
        assert!(hits <= 3, "{hits} false positives in 20 000");
    }

    /// build.rs's output is a function of the list alone: the same bytes
    /// again here (the filter's seeds are fixed, the keys sorted), so every
    /// build of a release carries the same filter.
    #[test]
    fn the_bundled_filter_is_rebuilt_byte_for_byte() {
        let source = include_str!("../../../data/common-passwords.txt");
        let keys: Vec<u64> = source.lines().filter_map(format::line_key).collect();
        assert_eq!(format::build(keys.clone()).unwrap(), &BUNDLED_TOP.0);
        assert_eq!(
            format::build(keys[..BUNDLED_HEAD_ENTRIES].to_vec()).unwrap(),
            &BUNDLED_HEAD.0
        );
    }

    #[test]
    fn passwords_and_sha1_lines_are_one_structure() {
        use sha1::Digest as _;
        // SHA-1 of "Hunter2-correct" (as a Pwned Passwords download lists
        // it, upper case, with a count) and a plain line.
        let sha = format!("{:X}:42", sha1::Sha1::digest(b"Hunter2-correct"));
        let l = list(&[&sha, "Tr0ub4dor-Horse", "", "\r"]);
        assert_eq!(l.entries(), 2);
        assert!(l.contains("Hunter2-correct"));
        assert!(l.contains(&fold("TR0UB4DOR-horse")));
        assert!(!l.contains("tr0ub4dor-hors"));
    }

    #[test]
    fn damaged_files_are_refused_not_read_out_of_bounds() {
        let bytes = format::build((0..1000).collect()).unwrap();
        assert!(Blocklist::from_bytes(&bytes).is_ok());
        let refused = |b: &[u8]| Blocklist::from_bytes(b).err();
        assert_eq!(
            refused(&bytes[..bytes.len() - 2]),
            Some(FormatError::Damaged)
        );
        assert_eq!(refused(&bytes[..20]), Some(FormatError::NotABlocklist));
        let mut wrong = bytes.clone();
        wrong[20] ^= 0x40; // segment length no longer a power of two
        assert_eq!(refused(&wrong), Some(FormatError::Damaged));
        assert_eq!(
            refused(b"123456\npassword\n"),
            Some(FormatError::NotABlocklist)
        );
        assert_eq!(format::build(vec![]), Err(FormatError::Empty));
        for n in 1..4 {
            let small = format::build((0..n).collect()).unwrap();
            let l = Blocklist::from_bytes(&small).unwrap();
            let f = match &l.filter {
                Fingerprints::Owned(f) => f,
                Fingerprints::Static(_) => unreachable!(),
            };
            assert!((0..n).all(|k| f.contains(&k)), "{n} keys");
        }
    }

    #[test]
    fn folding_is_nfkc_and_full_case_folding() {
        assert_eq!(fold("ＰａｓｓＷＯＲＤ"), "password");
        assert_eq!(fold("Straße"), "strasse");
        assert_eq!(fold("ΣΊΣΥΦΟΣ"), fold("σίσυφος"));
    }
}
