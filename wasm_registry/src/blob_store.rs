//! Module bytes: one contiguous extent per module in a raw memory, with a free list.
//!
//! Why not a `StableBTreeMap` of 1 MiB values: its unbounded values are split into 1 KiB overflow
//! pages with an 11-byte header each, about 1 % of every module, and the chunk-index keys and
//! nodes add more. An extent costs exactly the module's bytes; the free list (`offset → length`,
//! coalesced) lets aborted, expired and revoked modules give their space to later uploads.
//! Stable memory never shrinks, so the blob memory's size is its high-water mark.

use crate::error::RegistryError;
use ic_stable_structures::{Memory, StableBTreeMap};

const WASM_PAGE: u64 = 64 * 1024;

pub(crate) struct BlobStore<M: Memory> {
    blobs: M,
    free: StableBTreeMap<u64, u64, M>,
}

impl<M: Memory> BlobStore<M> {
    pub fn init(blobs: M, free_extents: M) -> Self {
        Self {
            blobs,
            free: StableBTreeMap::init(free_extents),
        }
    }

    pub fn capacity(&self) -> u64 {
        self.blobs.size() * WASM_PAGE
    }

    pub fn free_bytes(&self) -> u64 {
        self.free.iter().map(|e| e.into_pair().1).sum()
    }

    /// Reserves `len > 0` bytes (best fit, then growing the memory) and returns their offset.
    pub fn alloc(&mut self, len: u64) -> Result<u64, RegistryError> {
        debug_assert!(len > 0);
        let best = self
            .free
            .iter()
            .map(|e| e.into_pair())
            .filter(|&(_, l)| l >= len)
            .min_by_key(|&(off, l)| (l, off));
        if let Some((off, l)) = best {
            return Ok(self.carve(off, l, len));
        }
        // Grow; a free extent that ends at the current end is extended rather than left behind.
        let cap = self.capacity();
        let tail = self
            .free
            .last_key_value()
            .filter(|&(off, l)| off + l == cap);
        let (start, have) = tail.unwrap_or((cap, 0));
        let pages = (len - have).div_ceil(WASM_PAGE);
        if self.blobs.grow(pages) < 0 {
            return Err(RegistryError::OutOfStableMemory {
                requested_bytes: len,
            });
        }
        let total = have + pages * WASM_PAGE;
        Ok(self.carve(start, total, len))
    }

    /// Takes `len` bytes from the front of free extent `[off, off + total)`.
    fn carve(&mut self, off: u64, total: u64, len: u64) -> u64 {
        self.free.remove(&off);
        if total > len {
            self.free.insert(off + len, total - len);
        }
        off
    }

    /// Returns `[off, off + len)` to the free list, merged with free neighbours.
    pub fn free(&mut self, off: u64, len: u64) {
        let (mut start, mut end) = (off, off + len);
        let prev = self.free.range(..off).next_back().map(|e| e.into_pair());
        if let Some((p_off, p_len)) = prev {
            if p_off + p_len == start {
                self.free.remove(&p_off);
                start = p_off;
            }
        }
        if let Some(n_len) = self.free.remove(&end) {
            end += n_len;
        }
        self.free.insert(start, end - start);
    }

    pub fn write(&self, off: u64, bytes: &[u8]) {
        self.blobs.write(off, bytes);
    }

    pub fn read(&self, off: u64, buf: &mut [u8]) {
        self.blobs.read(off, buf);
    }

    /// A `Read` over `[off, off + len)`.
    pub fn reader(&self, off: u64, len: u64) -> ExtentReader<'_, M> {
        ExtentReader {
            blobs: &self.blobs,
            pos: off,
            end: off + len,
        }
    }
}

pub(crate) struct ExtentReader<'a, M: Memory> {
    blobs: &'a M,
    pos: u64,
    end: u64,
}

impl<M: Memory> std::io::Read for ExtentReader<'_, M> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (self.end - self.pos).min(buf.len() as u64) as usize;
        if n > 0 {
            self.blobs.read(self.pos, &mut buf[..n]);
            self.pos += n as u64;
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    fn store() -> BlobStore<VectorMemory> {
        BlobStore::init(VectorMemory::default(), VectorMemory::default())
    }

    fn free_list(s: &BlobStore<VectorMemory>) -> Vec<(u64, u64)> {
        s.free.iter().map(|e| e.into_pair()).collect()
    }

    #[test]
    fn allocations_are_disjoint_and_growth_is_page_granular() {
        let mut s = store();
        let a = s.alloc(10).unwrap();
        let b = s.alloc(WASM_PAGE).unwrap();
        assert_eq!((a, b), (0, 10));
        assert_eq!(s.capacity(), 2 * WASM_PAGE);
        assert_eq!(free_list(&s), vec![(WASM_PAGE + 10, WASM_PAGE - 10)]);
        assert_eq!(s.free_bytes() + 10 + WASM_PAGE, s.capacity());
    }

    #[test]
    fn freed_space_is_coalesced_and_reused() {
        let mut s = store();
        let a = s.alloc(100).unwrap();
        let b = s.alloc(200).unwrap();
        let c = s.alloc(300).unwrap();
        s.free(a, 100);
        s.free(c, 300); // merges with the tail
        assert_eq!(free_list(&s), vec![(0, 100), (300, WASM_PAGE - 300)]);
        s.free(b, 200); // merges with both neighbours
        assert_eq!(free_list(&s), vec![(0, WASM_PAGE)]);
        // Reuse without growing.
        assert_eq!(s.alloc(WASM_PAGE).unwrap(), 0);
        assert_eq!(s.capacity(), WASM_PAGE);
        assert!(free_list(&s).is_empty());
    }

    #[test]
    fn best_fit_prefers_the_smallest_hole() {
        let mut s = store();
        let a = s.alloc(1000).unwrap();
        let _keep1 = s.alloc(1).unwrap();
        let b = s.alloc(100).unwrap();
        let _keep2 = s.alloc(1).unwrap();
        s.free(a, 1000);
        s.free(b, 100);
        assert_eq!(s.alloc(90).unwrap(), b);
    }

    #[test]
    fn growth_extends_a_free_tail() {
        let mut s = store();
        let a = s.alloc(WASM_PAGE - 10).unwrap();
        let b = s.alloc(20).unwrap(); // 10 bytes of tail + one new page
        assert_eq!(b, a + WASM_PAGE - 10);
        assert_eq!(s.capacity(), 2 * WASM_PAGE);
    }

    #[test]
    fn reader_reads_exactly_the_extent() {
        use std::io::Read;
        let mut s = store();
        let off = s.alloc(5).unwrap();
        s.write(off, b"hello");
        let mut out = Vec::new();
        s.reader(off + 1, 3).read_to_end(&mut out).unwrap();
        assert_eq!(out, b"ell");
    }
}
