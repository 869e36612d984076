//! Shared helpers of the end-to-end scenario tests.
