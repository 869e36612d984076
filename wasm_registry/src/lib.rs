//! Registry of approved wasm releases (see issue "wasm_registry").
