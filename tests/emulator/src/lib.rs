//! In-process IC emulator (see its issue).
