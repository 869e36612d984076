//! One record's metadata as the B-tree stores it (schema 1).
//!
//! Encoding, little-endian: `tag: u8 | size: u64 | updated_at: u64 | body`, where the body is
//! the value itself (tag 0, small values) or the numbers of its pages as `u32`s (tag 1).
//! Hand-rolled rather than Candid: `list` decodes up to 1000 of these per call.

use ic_stable_structures::storable::{Bound, Storable};
use std::borrow::Cow;

/// Values up to this size stay in the B-tree: a page of 4 KiB for a short note would waste
/// most of it, and the B-tree's node rewrites stay cheap at this size.
pub const INLINE_MAX: usize = 1024;

const TAG_INLINE: u8 = 0;
const TAG_PAGES: u8 = 1;
const HEADER: usize = 1 + 8 + 8;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    /// The value's length in bytes.
    pub size: u64,
    /// When the value was last written (nanoseconds since the epoch).
    pub updated_at: u64,
    pub body: Body,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    Inline(Vec<u8>),
    Pages(Vec<u32>),
}

impl Record {
    /// The pages this record owns (none for an inline value).
    pub fn pages(&self) -> &[u32] {
        match &self.body {
            Body::Inline(_) => &[],
            Body::Pages(p) => p,
        }
    }
}

impl Storable for Record {
    fn to_bytes(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.clone().into_bytes())
    }

    fn into_bytes(self) -> Vec<u8> {
        let (tag, body_len) = match &self.body {
            Body::Inline(v) => (TAG_INLINE, v.len()),
            Body::Pages(p) => (TAG_PAGES, p.len() * 4),
        };
        let mut out = Vec::with_capacity(HEADER + body_len);
        out.push(tag);
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.updated_at.to_le_bytes());
        match self.body {
            Body::Inline(v) => out.extend_from_slice(&v),
            Body::Pages(p) => p
                .iter()
                .for_each(|n| out.extend_from_slice(&n.to_le_bytes())),
        }
        out
    }

    fn from_bytes(bytes: Cow<[u8]>) -> Self {
        // Only this module writes these bytes, so a bad one means corrupted stable memory:
        // trapping (and so refusing the message) is the only safe answer.
        assert!(
            bytes.len() >= HEADER,
            "corrupt record: {} bytes",
            bytes.len()
        );
        let u64_at =
            |i: usize| u64::from_le_bytes(bytes[i..i + 8].try_into().expect("slice of 8 bytes"));
        let (size, updated_at) = (u64_at(1), u64_at(9));
        let rest = &bytes[HEADER..];
        let body = match bytes[0] {
            TAG_INLINE => Body::Inline(rest.to_vec()),
            TAG_PAGES => {
                assert!(rest.len().is_multiple_of(4), "corrupt record: page list");
                Body::Pages(
                    rest.chunks_exact(4)
                        .map(|c| u32::from_le_bytes(c.try_into().expect("chunk of 4 bytes")))
                        .collect(),
                )
            }
            tag => panic!("corrupt record: unknown tag {tag}"),
        };
        Record {
            size,
            updated_at,
            body,
        }
    }

    const BOUND: Bound = Bound::Unbounded;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn roundtrip(r: Record) {
        let bytes = r.to_bytes().into_owned();
        assert_eq!(bytes, r.clone().into_bytes());
        assert_eq!(Record::from_bytes(Cow::Owned(bytes)), r);
    }

    #[test]
    fn records_roundtrip() {
        roundtrip(Record {
            size: 0,
            updated_at: 0,
            body: Body::Inline(vec![]),
        });
        roundtrip(Record {
            size: 3,
            updated_at: u64::MAX,
            body: Body::Inline(vec![1, 2, 3]),
        });
        roundtrip(Record {
            size: 1 << 20,
            updated_at: 1_700_000_000_000_000_000,
            body: Body::Pages((0..256).collect()),
        });
    }

    #[test]
    fn the_encoding_is_fixed() {
        let r = Record {
            size: 5000,
            updated_at: 7,
            body: Body::Pages(vec![1, 258]),
        };
        let mut expected = vec![1];
        expected.extend_from_slice(&5000u64.to_le_bytes());
        expected.extend_from_slice(&7u64.to_le_bytes());
        expected.extend_from_slice(&[1, 0, 0, 0, 2, 1, 0, 0]);
        assert_eq!(r.into_bytes(), expected);
    }

    #[test]
    fn pages_of_an_inline_record_are_none() {
        let r = Record {
            size: 1,
            updated_at: 0,
            body: Body::Inline(vec![9]),
        };
        assert!(r.pages().is_empty());
    }

    #[test]
    #[should_panic(expected = "corrupt record")]
    fn corrupt_bytes_are_refused() {
        Record::from_bytes(Cow::Borrowed(&[2; HEADER]));
    }
}
