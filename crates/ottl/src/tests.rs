//! Crate tests live in tests/ (parser, contexts, functions).
