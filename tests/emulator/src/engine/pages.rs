//! Copy-on-write page maps for heap and stable memory.
//!
//! A canister's memory is a vector of 4 KiB pages shared through `Arc`: a
//! freshly installed canister shares every page with its module's initial
//! image, and a message only allocates the pages it changed. This is what lets
//! thousands of canisters of one module fit in memory, and makes rollback free:
//! a message works on a clone of the vector and a trap simply drops it.

use std::sync::Arc;

pub const PAGE_SIZE: usize = 4096;
pub type Page = [u8; PAGE_SIZE];

/// Sparse, copy-on-write bytes; a missing page reads as zeros.
#[derive(Clone, Default, Debug)]
pub struct PageMap {
    pages: Vec<Option<Arc<Page>>>,
}

fn is_zero(bytes: &[u8]) -> bool {
    let (head, words, tail) = unsafe { bytes.align_to::<u128>() };
    head.iter().all(|&b| b == 0) && words.iter().all(|&w| w == 0) && tail.iter().all(|&b| b == 0)
}

impl PageMap {
    /// Pages of `bytes`; all-zero pages are not stored.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut map = PageMap::default();
        map.sync_from(bytes);
        map
    }

    fn page(&self, index: usize) -> Option<&Arc<Page>> {
        self.pages.get(index).and_then(|p| p.as_ref())
    }

    /// Bytes held in non-zero pages (what the map costs in memory at most).
    pub fn stored_bytes(&self) -> usize {
        self.pages.iter().filter(|p| p.is_some()).count() * PAGE_SIZE
    }

    /// Reads `dst.len()` bytes at `offset`; bytes past the stored pages are zero.
    pub fn read(&self, offset: u64, dst: &mut [u8]) {
        let mut done = 0;
        while done < dst.len() {
            let pos = offset as usize + done;
            let (index, within) = (pos / PAGE_SIZE, pos % PAGE_SIZE);
            let n = (PAGE_SIZE - within).min(dst.len() - done);
            match self.page(index) {
                Some(page) => dst[done..done + n].copy_from_slice(&page[within..within + n]),
                None => dst[done..done + n].fill(0),
            }
            done += n;
        }
    }

    /// Writes `src` at `offset`, copying only the pages it touches.
    pub fn write(&mut self, offset: u64, src: &[u8]) {
        let mut done = 0;
        while done < src.len() {
            let pos = offset as usize + done;
            let (index, within) = (pos / PAGE_SIZE, pos % PAGE_SIZE);
            let n = (PAGE_SIZE - within).min(src.len() - done);
            if index >= self.pages.len() {
                self.pages.resize(index + 1, None);
            }
            let slot = &mut self.pages[index];
            if slot.is_none() {
                if is_zero(&src[done..done + n]) {
                    done += n;
                    continue;
                }
                *slot = Some(Arc::new([0; PAGE_SIZE]));
            }
            let page = Arc::make_mut(slot.as_mut().expect("set above"));
            page[within..within + n].copy_from_slice(&src[done..done + n]);
            done += n;
        }
    }

    /// Writes into `mem` every page where `self` differs from `base`, so that a
    /// memory holding `base` ends up holding `self`. Shared pages cost nothing.
    pub fn restore_into(&self, base: &PageMap, mem: &mut [u8]) {
        let count = self.pages.len().max(base.pages.len());
        for index in 0..count {
            let (mine, theirs) = (self.page(index), base.page(index));
            let same = match (mine, theirs) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            };
            let start = index * PAGE_SIZE;
            if same || start >= mem.len() {
                continue;
            }
            let dst = &mut mem[start..start + PAGE_SIZE];
            match mine {
                Some(page) => dst.copy_from_slice(&page[..]),
                None => dst.fill(0),
            }
        }
    }

    /// Makes `self` equal to `mem`, keeping (sharing) the pages that did not
    /// change. Returns how many pages changed.
    pub fn sync_from(&mut self, mem: &[u8]) -> usize {
        let count = mem.len().div_ceil(PAGE_SIZE);
        self.pages.resize(count.max(self.pages.len()), None);
        self.pages.truncate(count);
        let mut changed = 0;
        for (index, slot) in self.pages.iter_mut().enumerate() {
            let start = index * PAGE_SIZE;
            let live = &mem[start..(start + PAGE_SIZE).min(mem.len())];
            let unchanged = match slot {
                Some(page) => page[..live.len()] == *live,
                None => is_zero(live),
            };
            if unchanged {
                continue;
            }
            changed += 1;
            *slot = if is_zero(live) {
                None
            } else {
                let mut page = [0; PAGE_SIZE];
                page[..live.len()].copy_from_slice(live);
                Some(Arc::new(page))
            };
        }
        changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_and_share() {
        let mut a = PageMap::default();
        a.write(5000, b"hello");
        let mut out = [1u8; 10];
        a.read(4998, &mut out);
        assert_eq!(&out, b"\0\0hello\0\0\0");
        let b = a.clone();
        a.write(5000, b"HELLO");
        let mut out = [0u8; 5];
        b.read(5000, &mut out);
        assert_eq!(&out, b"hello", "a clone keeps the old page");
        assert_eq!(a.stored_bytes(), PAGE_SIZE);
    }

    #[test]
    fn sync_and_restore_round_trip() {
        let mut mem = vec![0u8; 4 * PAGE_SIZE];
        mem[10] = 1;
        let base = PageMap::from_bytes(&mem);
        let mut state = base.clone();
        mem[3 * PAGE_SIZE] = 7;
        mem[10] = 0;
        assert_eq!(state.sync_from(&mem), 2);
        let mut fresh = vec![0u8; 4 * PAGE_SIZE];
        fresh[10] = 1; // what a fresh instance holds
        state.restore_into(&base, &mut fresh);
        assert_eq!(fresh, mem);
    }
}
