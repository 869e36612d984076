//! Where large values live: fixed 4 KiB pages in their own memory, with a free list.
//!
//! Why not values inside the B-tree: a `StableBTreeMap` node rewrites every value it holds
//! when it is saved, so with 1 MiB values each `put` would copy ~11 MiB. Pages are written
//! once, in place, and reused after a delete; the B-tree only keeps their numbers.
//!
//! Every page of the memory is either listed in the free list or owned by exactly one
//! record. The memory grows in 64 KiB steps and the new pages go straight onto the free
//! list, so the memory size alone says how many pages exist: there is no header.

use crate::types::UserError;
use ic_stable_structures::{Memory, StableVec};

pub const PAGE_SIZE: u64 = 4096;
const WASM_PAGE_SIZE: u64 = 65536;
const PAGES_PER_WASM_PAGE: u64 = WASM_PAGE_SIZE / PAGE_SIZE;

pub struct PageStore<M: Memory> {
    memory: M,
    free: StableVec<u32, M>,
}

impl<M: Memory> PageStore<M> {
    /// Opens the store, or creates it on empty memories.
    pub fn init(memory: M, free_list_memory: M) -> Self {
        PageStore {
            memory,
            free: StableVec::init(free_list_memory),
        }
    }

    /// How many pages a value of `len` bytes takes.
    pub fn pages_for(len: usize) -> usize {
        (len as u64).div_ceil(PAGE_SIZE) as usize
    }

    /// Writes `bytes` into free pages and returns them, in order. All or nothing: when the
    /// memory cannot grow, nothing was taken.
    pub fn write(&mut self, bytes: &[u8]) -> Result<Vec<u32>, UserError> {
        let n = Self::pages_for(bytes.len());
        self.reserve(n as u64)?;
        let mut pages = Vec::with_capacity(n);
        for chunk in bytes.chunks(PAGE_SIZE as usize) {
            let page = self
                .free
                .pop()
                .expect("reserve() left enough pages on the free list");
            self.memory.write(u64::from(page) * PAGE_SIZE, chunk);
            pages.push(page);
        }
        Ok(pages)
    }

    /// Reads a value of `len` bytes back from its pages.
    pub fn read(&self, pages: &[u32], len: u64) -> Vec<u8> {
        let mut out = vec![0; len as usize];
        for (chunk, page) in out.chunks_mut(PAGE_SIZE as usize).zip(pages) {
            self.memory.read(u64::from(*page) * PAGE_SIZE, chunk);
        }
        out
    }

    /// Returns pages to the free list.
    pub fn release(&mut self, pages: &[u32]) {
        // Reversed, so that the next write pops them in their old order.
        for page in pages.iter().rev() {
            self.free.push(page);
        }
    }

    /// Pages in the memory, free or used.
    pub fn total_pages(&self) -> u64 {
        self.memory.size() * PAGES_PER_WASM_PAGE
    }

    pub fn free_pages(&self) -> u64 {
        self.free.len()
    }

    #[cfg(test)]
    pub(crate) fn free_list(&self) -> Vec<u32> {
        self.free.iter().collect()
    }

    /// Makes sure at least `n` pages are free, growing the memory if needed.
    fn reserve(&mut self, n: u64) -> Result<(), UserError> {
        let missing = n.saturating_sub(self.free.len());
        if missing == 0 {
            return Ok(());
        }
        let grow_by = missing.div_ceil(PAGES_PER_WASM_PAGE);
        // Page numbers are u32: 16 TiB, far beyond what stable memory allows.
        let end = (self.memory.size() + grow_by) * PAGES_PER_WASM_PAGE;
        if end > u64::from(u32::MAX) + 1 {
            return Err(UserError::OutOfStableMemory);
        }
        let old = self.memory.grow(grow_by);
        if old < 0 {
            return Err(UserError::OutOfStableMemory);
        }
        let first = old as u64 * PAGES_PER_WASM_PAGE;
        // Highest first, so that pops hand out ascending (contiguous) pages.
        for page in (first..end).rev() {
            self.free.push(&(page as u32));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ic_stable_structures::VectorMemory;

    fn store() -> PageStore<VectorMemory> {
        PageStore::init(VectorMemory::default(), VectorMemory::default())
    }

    fn bytes(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| (i as u8).wrapping_mul(31) ^ seed)
            .collect()
    }

    #[test]
    fn pages_for_rounds_up() {
        assert_eq!(PageStore::<VectorMemory>::pages_for(0), 0);
        assert_eq!(PageStore::<VectorMemory>::pages_for(1), 1);
        assert_eq!(PageStore::<VectorMemory>::pages_for(4096), 1);
        assert_eq!(PageStore::<VectorMemory>::pages_for(4097), 2);
        assert_eq!(PageStore::<VectorMemory>::pages_for(1 << 20), 256);
    }

    #[test]
    fn written_bytes_read_back_and_pages_are_contiguous_when_fresh() {
        let mut s = store();
        let v = bytes(10_000, 7);
        let pages = s.write(&v).unwrap();
        assert_eq!(pages, vec![0, 1, 2]);
        assert_eq!(s.read(&pages, v.len() as u64), v);
        // One 64 KiB step: 16 pages, 3 used.
        assert_eq!((s.total_pages(), s.free_pages()), (16, 13));
    }

    #[test]
    fn released_pages_are_reused_before_the_memory_grows() {
        let mut s = store();
        let a = s.write(&bytes(8192, 1)).unwrap();
        let b = s.write(&bytes(4096, 2)).unwrap();
        s.release(&a);
        let c = s.write(&bytes(8192, 3)).unwrap();
        assert_eq!(c, a);
        assert_eq!(s.read(&b, 4096), bytes(4096, 2));
        assert_eq!(s.read(&c, 8192), bytes(8192, 3));
        assert_eq!(s.total_pages(), 16);
    }

    #[test]
    fn a_large_value_grows_the_memory_just_enough() {
        let mut s = store();
        let v = bytes(1 << 20, 9);
        let pages = s.write(&v).unwrap();
        assert_eq!(pages.len(), 256);
        assert_eq!((s.total_pages(), s.free_pages()), (256, 0));
        assert_eq!(s.read(&pages, v.len() as u64), v);
    }

    #[test]
    fn data_survives_reopening_the_memories() {
        let (mem, free) = (VectorMemory::default(), VectorMemory::default());
        let v = bytes(5000, 4);
        let pages = PageStore::init(mem.clone(), free.clone())
            .write(&v)
            .unwrap();
        let reopened = PageStore::init(mem, free);
        assert_eq!(reopened.read(&pages, 5000), v);
        assert_eq!(reopened.free_pages(), 14);
    }

    #[test]
    fn an_empty_value_takes_no_page() {
        let mut s = store();
        assert_eq!(s.write(&[]).unwrap(), Vec::<u32>::new());
        assert_eq!(s.total_pages(), 0);
        assert_eq!(s.read(&[], 0), Vec::<u8>::new());
    }

    /// A memory that refuses to grow past a size, like a full subnet.
    #[derive(Clone, Default)]
    struct Capped(VectorMemory);
    impl Memory for Capped {
        fn size(&self) -> u64 {
            self.0.size()
        }
        fn grow(&self, pages: u64) -> i64 {
            if self.0.size() + pages > 2 {
                -1
            } else {
                self.0.grow(pages)
            }
        }
        fn read(&self, offset: u64, dst: &mut [u8]) {
            self.0.read(offset, dst)
        }
        fn write(&self, offset: u64, src: &[u8]) {
            self.0.write(offset, src)
        }
    }

    #[test]
    fn a_failed_grow_is_a_typed_error_and_takes_nothing() {
        let mut s = PageStore::init(Capped::default(), Capped(VectorMemory::default()));
        let kept = s.write(&bytes(4096 * 20, 5)).unwrap(); // 2 wasm pages: the cap
        assert_eq!(
            s.write(&bytes(4096 * 20, 6)),
            Err(UserError::OutOfStableMemory)
        );
        assert_eq!((s.total_pages(), s.free_pages()), (32, 12));
        assert_eq!(s.read(&kept, 4096 * 20), bytes(4096 * 20, 5));
    }
}
