//! Copy-on-write page maps for heap and stable memory.
//!
//! A canister's memory is a vector of 4 KiB pages shared through `Arc`: a
//! freshly installed canister shares every page with its module's initial
//! image, and a message only allocates the pages it changed. This is what lets
//! thousands of canisters of one module fit in memory, and makes rollback free:
//! a message works on a clone of the vector and a trap simply drops it.

use std::sync::{Arc, OnceLock};

pub const PAGE_SIZE: usize = 4096;
pub type Page = [u8; PAGE_SIZE];

type Pages = Vec<Option<Arc<Page>>>;

/// Sparse, copy-on-write bytes; a missing page reads as zeros.
///
/// A map loaded from a saved state starts out `Lazy`: its pages are read from
/// disk the first time something looks at them, so a command that touches a
/// few canisters of a thousand reads only theirs. Every clone shares the one
/// loaded vector, so a loaded-but-unwritten map still shares all its pages
/// with the view a save compares it with.
#[derive(Clone)]
pub struct PageMap {
    pages: PagesState,
}

#[derive(Clone)]
enum PagesState {
    Loaded(Pages),
    Lazy(Arc<LazyPages>),
}

/// Pages to be produced by `load` on first use.
pub struct LazyPages {
    page_count: usize,
    load: Box<dyn Fn() -> Result<PageMap, String> + Send + Sync>,
    loaded: OnceLock<Pages>,
}

impl Default for PageMap {
    fn default() -> Self {
        PageMap {
            pages: PagesState::Loaded(Vec::new()),
        }
    }
}

impl std::fmt::Debug for PageMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.pages {
            PagesState::Loaded(p) => write!(f, "PageMap({} pages)", p.len()),
            PagesState::Lazy(l) => write!(f, "PageMap({} pages, lazy)", l.page_count),
        }
    }
}

fn is_zero(bytes: &[u8]) -> bool {
    let (head, words, tail) = unsafe { bytes.align_to::<u128>() };
    head.iter().all(|&b| b == 0) && words.iter().all(|&w| w == 0) && tail.iter().all(|&b| b == 0)
}

impl PageMap {
    /// A map of `page_count` pages that `load` produces when first used. A
    /// load that fails (the state's file went missing or was damaged since
    /// the state was opened) is reported by [`PageMap::try_load`], which a
    /// message calls before it runs; anything else that reads it first panics,
    /// naming what failed.
    pub fn lazy(
        page_count: usize,
        load: impl Fn() -> Result<PageMap, String> + Send + Sync + 'static,
    ) -> Self {
        PageMap {
            pages: PagesState::Lazy(Arc::new(LazyPages {
                page_count,
                load: Box::new(load),
                loaded: OnceLock::new(),
            })),
        }
    }

    /// Reads the pages now if they wait for their first use: what a message
    /// does before it runs, so that a saved file damaged since the state was
    /// opened is an error for that message, naming the file, not a panic.
    pub fn try_load(&self) -> Result<(), String> {
        let PagesState::Lazy(l) = &self.pages else {
            return Ok(());
        };
        if l.loaded.get().is_none() {
            let map = (l.load)()?;
            let mut pages = map.pages().clone();
            pages.resize(l.page_count, None);
            // Another clone may have loaded it meanwhile: the same pages.
            let _ = l.loaded.set(pages);
        }
        Ok(())
    }

    /// Whether the pages are in memory (not waiting for their first use).
    pub fn is_loaded(&self) -> bool {
        match &self.pages {
            PagesState::Loaded(_) => true,
            PagesState::Lazy(l) => l.loaded.get().is_some(),
        }
    }

    fn pages(&self) -> &Pages {
        match &self.pages {
            PagesState::Loaded(p) => p,
            PagesState::Lazy(l) => l.loaded.get_or_init(|| {
                let map =
                    (l.load)().unwrap_or_else(|e| panic!("reading a canister's saved memory: {e}"));
                let mut pages = map.pages().clone();
                pages.resize(l.page_count, None);
                pages
            }),
        }
    }

    fn pages_mut(&mut self) -> &mut Pages {
        if let PagesState::Lazy(_) = &self.pages {
            let pages = self.pages().clone();
            self.pages = PagesState::Loaded(pages);
        }
        match &mut self.pages {
            PagesState::Loaded(p) => p,
            PagesState::Lazy(_) => unreachable!("loaded above"),
        }
    }

    /// Pages of `bytes`; all-zero pages are not stored.
    pub fn from_bytes(bytes: &[u8]) -> Self {
        let mut map = PageMap::default();
        map.sync_from(bytes);
        map
    }

    fn page(&self, index: usize) -> Option<&Arc<Page>> {
        self.pages().get(index).and_then(|p| p.as_ref())
    }

    /// Bytes in pages not shared with `base` (what this map costs on top of it).
    pub fn bytes_not_shared_with(&self, base: &PageMap) -> usize {
        let own = self
            .pages()
            .iter()
            .enumerate()
            .filter(|(i, p)| match (p, base.page(*i)) {
                (Some(a), Some(b)) => !Arc::ptr_eq(a, b),
                (Some(_), None) => true,
                (None, _) => false,
            });
        own.count() * PAGE_SIZE
    }

    /// Whether every page is the very same allocation as `other`'s: then the
    /// bytes are equal without reading them (a shared page is never written,
    /// `write` copies it first). What tells a save that a memory is unchanged.
    pub fn shares_all_pages_with(&self, other: &PageMap) -> bool {
        if let (PagesState::Lazy(a), PagesState::Lazy(b)) = (&self.pages, &other.pages) {
            if Arc::ptr_eq(a, b) {
                return true;
            }
        }
        let (mine, theirs) = (self.pages(), other.pages());
        mine.len() == theirs.len()
            && mine.iter().zip(theirs).all(|(a, b)| match (a, b) {
                (None, None) => true,
                (Some(a), Some(b)) => Arc::ptr_eq(a, b),
                _ => false,
            })
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
            let pages = self.pages_mut();
            if index >= pages.len() {
                pages.resize(index + 1, None);
            }
            let slot = &mut pages[index];
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

    /// Length of the page vector (pages past it read as zeros).
    pub fn page_count(&self) -> usize {
        match &self.pages {
            PagesState::Loaded(p) => p.len(),
            PagesState::Lazy(l) => l.page_count,
        }
    }

    /// Indices of the pages whose bytes differ from `base`'s (shared pages are
    /// skipped without comparing): what a saved state must store.
    pub fn pages_differing_from(&self, base: &PageMap) -> Vec<usize> {
        let count = self.page_count().max(base.page_count());
        (0..count)
            .filter(|&index| match (self.page(index), base.page(index)) {
                (None, None) => false,
                (Some(a), Some(b)) => !Arc::ptr_eq(a, b) && a[..] != b[..],
                (Some(p), None) | (None, Some(p)) => !is_zero(&p[..]),
            })
            .collect()
    }

    /// The bytes of page `index` (zeros if it is not stored).
    pub fn page_bytes(&self, index: usize) -> Page {
        self.page(index).map_or([0; PAGE_SIZE], |p| **p)
    }

    /// Replaces page `index` with `bytes`, growing the vector if needed.
    pub fn set_page(&mut self, index: usize, bytes: &[u8; PAGE_SIZE]) {
        let pages = self.pages_mut();
        if index >= pages.len() {
            pages.resize(index + 1, None);
        }
        pages[index] = (!is_zero(bytes)).then(|| Arc::new(*bytes));
    }

    /// Sets the length of the page vector (dropping or adding zero pages).
    pub fn set_page_count(&mut self, count: usize) {
        self.pages_mut().resize(count, None);
    }

    /// Writes into `mem` every page where `self` differs from `base`, so that a
    /// memory holding `base` ends up holding `self`. Shared pages cost nothing.
    pub fn restore_into(&self, base: &PageMap, mem: &mut [u8]) {
        let count = self.page_count().max(base.page_count());
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
        let pages = self.pages_mut();
        pages.resize(count.max(pages.len()), None);
        pages.truncate(count);
        let mut changed = 0;
        for (index, slot) in pages.iter_mut().enumerate() {
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
        assert_eq!(a.bytes_not_shared_with(&b), PAGE_SIZE);
        assert_eq!(b.bytes_not_shared_with(&b), 0);
    }

    #[test]
    fn a_clone_shares_all_pages_until_one_is_written() {
        let mut a = PageMap::default();
        a.write(10, b"data");
        let mut b = a.clone();
        assert!(b.shares_all_pages_with(&a));
        b.write(10, b"data");
        assert!(!b.shares_all_pages_with(&a), "a write copies the page");
        assert!(!PageMap::from_bytes(b"data").shares_all_pages_with(&a));
    }

    #[test]
    fn differing_pages_rebuild_a_map_from_its_base() {
        let mut base = PageMap::default();
        base.write(0, b"base");
        base.write(2 * PAGE_SIZE as u64, b"kept");
        let mut map = base.clone();
        map.write(1, b"X");
        map.write(5 * PAGE_SIZE as u64, b"new");
        map.write(2 * PAGE_SIZE as u64, &[0; 4]);
        let changed = map.pages_differing_from(&base);
        assert_eq!(changed, vec![0, 2, 5]);
        let mut rebuilt = base.clone();
        for &i in &changed {
            rebuilt.set_page(i, &map.page_bytes(i));
        }
        rebuilt.set_page_count(map.page_count());
        assert!(rebuilt.pages_differing_from(&map).is_empty());
        assert_eq!(rebuilt.page_count(), map.page_count());
    }

    #[test]
    fn a_lazy_map_loads_once_on_first_use_and_clones_share_it() {
        let loads = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = loads.clone();
        let lazy = PageMap::lazy(3, move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(PageMap::from_bytes(b"saved"))
        });
        let view = lazy.clone();
        assert_eq!(lazy.page_count(), 3);
        assert!(
            lazy.shares_all_pages_with(&view),
            "no load to compare clones"
        );
        assert!(!lazy.is_loaded());
        let mut out = [0u8; 5];
        lazy.read(0, &mut out);
        assert_eq!(&out, b"saved");
        assert!(view.is_loaded(), "clones share the loaded pages");
        let mut written = lazy.clone();
        assert!(written.shares_all_pages_with(&view), "read, not written");
        written.write(0, b"S");
        assert!(!written.shares_all_pages_with(&view));
        assert_eq!(written.page_count(), 3);
        assert_eq!(loads.load(std::sync::atomic::Ordering::SeqCst), 1);
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
