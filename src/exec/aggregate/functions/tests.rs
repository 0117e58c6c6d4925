//! Tests of every function through the public API.
