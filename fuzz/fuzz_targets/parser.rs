//! Fuzzes the dialect parser: any input must give statements or a `ParseError`, never a panic, a hang or a stack
//! overflow. Statements that parse are also checked for what `parse` promises about them: their text is a slice
//! of the input and their position is inside it, and every error points inside the input.
//!
//! Run with `cargo fuzz run parser` (needs a nightly toolchain).

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(sql) = std::str::from_utf8(data) else {
        return;
    };
    let lines = sql.split('\n').count() as u64;
    match weir::sql::parse(sql) {
        Ok(statements) => {
            for statement in statements {
                assert!(sql.contains(&statement.text), "statement text is not a slice of the input");
                assert!(!statement.text.is_empty());
                assert!((1..=lines).contains(&statement.line));
                assert!(statement.column >= 1);
            }
        }
        Err(e) => {
            assert!((1..=lines).contains(&e.line), "error line {} outside the input: {e}", e.line);
            assert!(e.column >= 1);
        }
    }
    let _ = weir::sql::parse_type(sql);
});
