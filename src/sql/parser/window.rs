//! Durations, `WINDOW TUMBLING|HOPPING|SESSION (...)` and join windows (`WITHIN ... [GRACE PERIOD ...]`).
//!
//! Every duration is `<whole number> <unit>` and is converted to milliseconds here, with overflow checked, so later
//! layers only see `u64` milliseconds. Units are ksqlDB's: `DAY(S)`, `HOUR(S)`, `MINUTE(S)`, `SECOND(S)`,
//! `MILLISECOND(S)`.

use datafusion::sql::sqlparser::tokenizer::{Location, Token};

use super::PResult;
use super::cursor::{eat_word, eat_words, error_at, expect_token, expect_word, expected, parse_u64};
use super::statements::StatementParser;
use crate::sql::ast::{WindowSpec, Within};

/// Milliseconds per unit, by unit name.
fn unit_millis(unit: &str) -> Option<u64> {
    Some(match unit {
        "DAY" | "DAYS" => 86_400_000,
        "HOUR" | "HOURS" => 3_600_000,
        "MINUTE" | "MINUTES" => 60_000,
        "SECOND" | "SECONDS" => 1_000,
        "MILLISECOND" | "MILLISECONDS" => 1,
        _ => return None,
    })
}

/// The optional `RETENTION` and `GRACE PERIOD` that end every window, each at most once.
#[derive(Default)]
struct WindowOptions {
    retention_ms: Option<u64>,
    grace_ms: Option<u64>,
}

impl StatementParser<'_> {
    /// `<n> <unit>` in milliseconds; `what` names the duration in errors (e.g. "the window SIZE").
    pub(super) fn parse_duration(&mut self, what: &str) -> PResult<(u64, Location)> {
        let (amount, at) = parse_u64(&mut self.p, what)?;
        let unit_token = self.p.next_token();
        let unit = match &unit_token.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.as_str(),
            _ => "",
        };
        let Some(per_unit) = unit_millis(unit) else {
            return expected(
                "a time unit (MILLISECONDS, SECONDS, MINUTES, HOURS or DAYS)",
                &unit_token,
            );
        };
        match amount.checked_mul(per_unit) {
            Some(ms) => Ok((ms, at)),
            None => Err(error_at(
                format!(
                    "{what} of {amount} {unit} is too large (at most {} milliseconds)",
                    u64::MAX
                ),
                at,
            )),
        }
    }

    /// A duration that must be greater than zero.
    fn parse_positive_duration(&mut self, what: &str) -> PResult<u64> {
        let (ms, at) = self.parse_duration(what)?;
        if ms == 0 {
            return Err(error_at(format!("{what} must be greater than zero"), at));
        }
        Ok(ms)
    }

    /// The window after `WINDOW`.
    pub(super) fn parse_window(&mut self) -> PResult<WindowSpec> {
        let kind = self.p.next_token();
        let name = match &kind.token {
            Token::Word(w) if w.quote_style.is_none() => w.value.clone(),
            _ => String::new(),
        };
        let spec = match name.as_str() {
            "TUMBLING" => {
                expect_token(&mut self.p, &Token::LParen, " after TUMBLING")?;
                expect_word(&mut self.p, "SIZE", " in a TUMBLING window")?;
                let size_ms = self.parse_positive_duration("the window SIZE")?;
                let options = self.parse_window_options()?;
                WindowSpec::Tumbling {
                    size_ms,
                    retention_ms: options.retention_ms,
                    grace_ms: options.grace_ms,
                }
            }
            "HOPPING" => {
                expect_token(&mut self.p, &Token::LParen, " after HOPPING")?;
                expect_word(&mut self.p, "SIZE", " in a HOPPING window")?;
                let size_ms = self.parse_positive_duration("the window SIZE")?;
                expect_token(&mut self.p, &Token::Comma, " after the window SIZE")?;
                if !eat_words(&mut self.p, &["ADVANCE", "BY"]) {
                    return expected("ADVANCE BY in a HOPPING window", self.p.peek_token_ref());
                }
                let at = self.p.peek_token_ref().span.start;
                let advance_ms = self.parse_positive_duration("ADVANCE BY")?;
                if advance_ms > size_ms {
                    return Err(error_at("ADVANCE BY must not be larger than the window SIZE", at));
                }
                let options = self.parse_window_options()?;
                WindowSpec::Hopping {
                    size_ms,
                    advance_ms,
                    retention_ms: options.retention_ms,
                    grace_ms: options.grace_ms,
                }
            }
            "SESSION" => {
                expect_token(&mut self.p, &Token::LParen, " after SESSION")?;
                let gap_ms = self.parse_positive_duration("the session gap")?;
                let options = self.parse_window_options()?;
                WindowSpec::Session {
                    gap_ms,
                    retention_ms: options.retention_ms,
                    grace_ms: options.grace_ms,
                }
            }
            _ => return expected("TUMBLING, HOPPING or SESSION after WINDOW", &kind),
        };
        Ok(spec)
    }

    /// `[, RETENTION d] [, GRACE PERIOD d] )`, in either order.
    fn parse_window_options(&mut self) -> PResult<WindowOptions> {
        let mut options = WindowOptions::default();
        while self.p.consume_token(&Token::Comma) {
            let at = self.p.peek_token_ref().span.start;
            if eat_word(&mut self.p, "RETENTION") {
                if options.retention_ms.is_some() {
                    return Err(error_at("RETENTION is given twice", at));
                }
                options.retention_ms = Some(self.parse_duration("RETENTION")?.0);
            } else if eat_words(&mut self.p, &["GRACE", "PERIOD"]) {
                if options.grace_ms.is_some() {
                    return Err(error_at("GRACE PERIOD is given twice", at));
                }
                options.grace_ms = Some(self.parse_duration("GRACE PERIOD")?.0);
            } else {
                return expected("RETENTION or GRACE PERIOD", self.p.peek_token_ref());
            }
        }
        expect_token(&mut self.p, &Token::RParen, " or , in the window")?;
        Ok(options)
    }

    /// The join window after `WITHIN`: `d` or `(before, after)`, then an optional `GRACE PERIOD d`.
    pub(super) fn parse_within(&mut self) -> PResult<Within> {
        let (before_ms, after_ms) = if self.p.consume_token(&Token::LParen) {
            let before = self.parse_duration("the WITHIN before duration")?.0;
            expect_token(&mut self.p, &Token::Comma, " between the WITHIN durations")?;
            let after = self.parse_duration("the WITHIN after duration")?.0;
            expect_token(&mut self.p, &Token::RParen, " after the WITHIN durations")?;
            (before, after)
        } else {
            let both = self.parse_duration("the WITHIN duration")?.0;
            (both, both)
        };
        let grace_ms = if eat_words(&mut self.p, &["GRACE", "PERIOD"]) {
            Some(self.parse_duration("GRACE PERIOD")?.0)
        } else {
            None
        };
        Ok(Within {
            before_ms,
            after_ms,
            grace_ms,
        })
    }
}
