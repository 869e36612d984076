//! What commands print. A command's answer is held back until its change is
//! saved (so what it acknowledges is never lost), and a closed stdout
//! (`factoryctl ... | head -1`) is not an error: the change stands, the rest
//! of the output goes nowhere, and nothing panics.

use std::cell::RefCell;
use std::io::Write;

thread_local! {
    /// Lines held back while a command has not yet saved its change.
    static HELD: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Holds lines back from here on, until [`release`] or [`discard`].
pub fn hold() {
    HELD.with(|h| {
        h.borrow_mut().get_or_insert_with(String::new);
    });
}

/// Prints what was held back (the change is saved) and prints directly again.
pub fn release() {
    if let Some(text) = HELD.with(|h| h.borrow_mut().take()) {
        write_stdout(&text);
    }
}

/// Live output from here on (a watch's progress), printing what was held.
pub fn live() {
    release();
}

/// Drops what was held back: the change it described was not saved.
pub fn discard() {
    HELD.with(|h| h.borrow_mut().take());
}

/// Text as is (no newline added).
pub fn text(text: &str) {
    let held = HELD.with(|h| match h.borrow_mut().as_mut() {
        Some(buf) => {
            buf.push_str(text);
            true
        }
        None => false,
    });
    if !held {
        write_stdout(text);
    }
}

pub fn line(line: &str) {
    text(&format!("{line}\n"));
}

/// A line on stderr, now (errors, warnings, waiting notices).
pub fn warn(line: &str) {
    let _ = writeln!(std::io::stderr(), "{line}");
}

fn write_stdout(text: &str) {
    let mut out = std::io::stdout().lock();
    // A closed pipe (EPIPE) or full disk: the reader left; nothing to do.
    let _ = out.write_all(text.as_bytes()).and_then(|()| out.flush());
}

/// `println!` for command output: held back or printed, never a panic.
#[macro_export]
macro_rules! say {
    () => { $crate::output::line("") };
    ($($arg:tt)*) => { $crate::output::line(&format!($($arg)*)) };
}
