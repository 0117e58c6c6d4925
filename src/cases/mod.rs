//! The case runner: executes files in ksqlDB's query-validation-test (QTT) format against a fresh engine per case.
//!
//! Each case runs its statements, feeds its inputs one at a time (processing everything each input causes before
//! the next, so every state update is visible), then compares each expected topic's records in order and count.
//! See `DESIGN.md` §6 for the format.

mod compare;
mod file;
mod records;
mod runner;

pub use file::{CaseFile, TestCase, load_cases};
pub use runner::{CaseOutcome, CaseTopics, TOPICS_ENV, run_case, run_case_on, run_paths};
